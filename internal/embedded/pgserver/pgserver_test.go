package pgserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestStartStopRestart(t *testing.T) {
	// Not t.TempDir: under root its parents are 0700, and the nested
	// directory below checks that Start makes such parents reachable.
	base, err := os.MkdirTemp("", "pgserver-test-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	dir := filepath.Join(base, "cluster")
	ctx := context.Background()
	opts := Options{Dir: dir, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))}

	s := start(t, ctx, opts)
	if s.Port() == 5432 {
		t.Fatalf("picked the port of the system server")
	}
	if want := fmt.Sprintf("postgres://verkosto@127.0.0.1:%d/postgres?sslmode=disable", s.Port()); s.URL("postgres") != want {
		t.Fatalf("URL = %q, want %q", s.URL("postgres"), want)
	}
	psql(t, s, "CREATE TABLE survivor (v text); INSERT INTO survivor VALUES ('kept')")

	// A second Start while the first is running reuses it.
	again := start(t, ctx, opts)
	if again.Port() != s.Port() {
		t.Fatalf("reused cluster on port %d, want %d", again.Port(), s.Port())
	}

	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	// A crash leaves postmaster.pid behind; simulate it with the PID of a
	// process that has certainly exited.
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(dir, "data", "postmaster.pid")
	if err := os.WriteFile(pidFile, fmt.Appendf(nil, "%d\n%s\n", dead.Process.Pid, filepath.Join(dir, "data")), 0o600); err != nil {
		t.Fatal(err)
	}
	if s.acct != nil {
		if err := s.acct.chown(pidFile); err != nil {
			t.Fatal(err)
		}
	}

	began := time.Now()
	s2 := start(t, ctx, opts)
	t.Logf("restart of existing cluster took %v", time.Since(began))
	if s2.Port() != s.Port() {
		t.Errorf("restart on port %d, want the recorded %d", s2.Port(), s.Port())
	}
	if out := psql(t, s2, "SELECT v FROM survivor"); out != "" && out != "kept" {
		t.Errorf("survivor = %q, want kept", out)
	}
	if err := s2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

func start(t *testing.T, ctx context.Context, opts Options) *Server {
	t.Helper()
	s, err := Start(ctx, opts)
	if errors.Is(err, ErrBinariesMissing) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(context.Background()) })
	return s
}

// psql runs sql and returns its unaligned output, or "" when psql is not
// installed.
func psql(t *testing.T, s *Server, sql string) string {
	t.Helper()
	if _, err := exec.LookPath("psql"); err != nil {
		t.Log("psql not on PATH; skipping query")
		return ""
	}
	out, err := exec.Command("psql", s.URL("postgres"), "-X", "-v", "ON_ERROR_STOP=1", "-qAtc", sql).CombinedOutput()
	if err != nil {
		t.Fatalf("psql %q: %v\n%s", sql, err, out)
	}
	return strings.TrimSpace(string(out))
}

func TestFindBinDirMissing(t *testing.T) {
	for _, dirs := range [][]string{nil, {t.TempDir()}} {
		_, err := findBinDir(dirs)
		if !errors.Is(err, ErrBinariesMissing) {
			t.Fatalf("findBinDir(%q) = %v, want ErrBinariesMissing", dirs, err)
		}
		if !strings.Contains(err.Error(), "DATABASE_URL") {
			t.Errorf("error does not say what to do: %v", err)
		}
	}
}

func TestStartWithEmptyBinDir(t *testing.T) {
	t.Setenv("PG_BINDIR", t.TempDir())
	began := time.Now()
	_, err := Start(context.Background(), Options{Dir: t.TempDir()})
	if !errors.Is(err, ErrBinariesMissing) {
		t.Fatalf("Start = %v, want ErrBinariesMissing", err)
	}
	if d := time.Since(began); d > time.Second {
		t.Errorf("failing took %v", d)
	}
}

func TestSocketDirFallsBackWhenPathTooLong(t *testing.T) {
	s := &Server{dir: filepath.Join(t.TempDir(), strings.Repeat("x", 100))}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	var err error
	if s.acct, err = serviceAccount(); err != nil {
		t.Skip(err)
	}
	dir, err := s.socketDir()
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(dir)
	if len(dir)+len("/.s.PGSQL.65535") > maxSocketPath || strings.HasPrefix(dir, s.dir) {
		t.Fatalf("socket dir %q not short", dir)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
