package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/verkosto/verkosto/client"
	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	verkostocursor "github.com/verkosto/verkosto/internal/cursor"
)

// watch prints changes as JSON lines, one per change, resuming from a cursor
// file it keeps up to date: a partner's script can pipe it anywhere.
func watch(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("watch", flag.ExitOnError)
	addr := fs.String("addr", env("VERKOSTO_URL", "http://127.0.0.1:8080"), "base URL of Verkosto (env VERKOSTO_URL)")
	token := fs.String("token", os.Getenv("VERKOSTO_TOKEN"), "bearer secret (env VERKOSTO_TOKEN)")
	filterSpec := fs.String("filter", "", "e.g. region=pohjois-pohjanmaa,programme=lape,kind=network (repeat a key for alternatives)")
	cursorFile := fs.String("cursor-file", "", "file holding the cursor to resume from; updated after every change")
	cursorFlag := fs.String("cursor", "", "start after this cursor (overrides --cursor-file's content)")
	fromStart := fs.Bool("from-start", false, "without a cursor, start with the oldest change kept instead of new changes")
	fs.Parse(args) //nolint:errcheck
	if *token == "" {
		return errors.New("watch needs --token or VERKOSTO_TOKEN")
	}
	filter, err := parseFilter(*filterSpec)
	if err != nil {
		return err
	}
	cursor := *cursorFlag
	if cursor == "" && *cursorFile != "" {
		b, err := os.ReadFile(*cursorFile)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("read cursor file: %w", err)
		}
		cursor = strings.TrimSpace(string(b))
	}
	if cursor == "" && *fromStart {
		cursor = verkostocursor.Encode(0)
	}
	save := func(c string) {
		if *cursorFile == "" || c == "" {
			return
		}
		if err := writeFileAtomic(*cursorFile, []byte(c+"\n")); err != nil {
			fmt.Fprintln(os.Stderr, "verkosto watch: save cursor:", err)
		}
	}
	c := client.New(nil, strings.TrimRight(*addr, "/"), *token)
	out := protojson.MarshalOptions{}
	err = c.Follow(ctx, cursor, filter, func(ctx context.Context, rec *changesv1.ChangeRecord) error {
		b, err := out.Marshal(rec)
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(os.Stdout, "%s\n", b); err != nil {
			return err
		}
		save(rec.GetCursor())
		return nil
	}, save)
	if client.IsCursorExpired(err) {
		return fmt.Errorf("%w\n(remove the cursor file to start from the changes kept now, after re-listing your copy)", err)
	}
	return err
}

func parseFilter(spec string) (*changesv1.ChangeFilter, error) {
	f := &changesv1.ChangeFilter{}
	for _, kv := range splitList(spec) {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || v == "" {
			return nil, fmt.Errorf("--filter %q: want key=value", kv)
		}
		switch k {
		case "region":
			f.Regions = append(f.Regions, v)
		case "programme":
			f.Programmes = append(f.Programmes, v)
		case "kind":
			f.Kinds = append(f.Kinds, v)
		default:
			return nil, fmt.Errorf("--filter key %q: want region, programme or kind", k)
		}
	}
	return f, nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".cursor-*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}
