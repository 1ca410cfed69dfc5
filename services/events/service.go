package events

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	"github.com/verkosto/verkosto/gen/verkosto/events/v1/eventsv1connect"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/reqid"
)

// Service implements verkosto.events.v1.EventsService.
type Service struct {
	eventsv1connect.UnimplementedEventsServiceHandler
	pool   *pgxpool.Pool
	now    func() time.Time
	outbox *outbox.Outbox
}

// caller returns the principal of the call; an anonymous caller (only on the
// public procedures) is an empty principal without any binding.
func caller(ctx context.Context) *auth.Principal {
	if p := auth.FromContext(ctx); p != nil {
		return p
	}
	return &auth.Principal{}
}

// anonymous reports a call without a credential (public procedures only).
func anonymous(ctx context.Context) bool { return auth.FromContext(ctx) == nil }

// anonymousActor records public registrations in changes.
var anonymousActor = &changesv1.Actor{Id: "anonymous", DisplayName: "public registration"}

func actor(ctx context.Context) *changesv1.Actor {
	if anonymous(ctx) {
		return anonymousActor
	}
	return caller(ctx).Actor()
}

func deny(format string, args ...any) error {
	return apierr.PermissionDenied(fmt.Sprintf(format, args...))
}

// write runs fn in one transaction and appends the changes it returns to the
// outbox in the same transaction: state and its changes commit together.
func (s *Service) write(ctx context.Context, fn func(tx pgx.Tx) ([]outbox.Event, error)) error {
	a := actor(ctx)
	return db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		events, err := fn(tx)
		if err != nil {
			return err
		}
		for _, ev := range events {
			if _, err := s.outbox.Append(ctx, tx, a, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// create is write for a create carrying a request_id: a retry returns the
// first call's resource id with created=false, and writes nothing. principal
// keys the request ids (the credential, or for anonymous callers something
// that tells them apart).
func (s *Service) create(ctx context.Context, principal, procedure, requestID string, hash []byte, newID string,
	fn func(tx pgx.Tx, id string) ([]outbox.Event, error)) (id string, created bool, err error) {
	id = newID
	err = s.write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		existing, claimed, err := reqid.Claim(ctx, tx, reqid.Key{
			Schema: Schema, Principal: principal, Procedure: procedure, RequestID: requestID,
		}, hash, newID)
		if err != nil {
			return nil, err
		}
		if !claimed {
			id = existing
			return nil, nil
		}
		created = true
		return fn(tx, newID)
	})
	return id, created, err
}

func etag(version int64) string { return strconv.FormatInt(version, 10) }

func versionOf(etag string) int64 {
	v, _ := strconv.ParseInt(etag, 10, 64)
	return v
}

// checkEtag fails ABORTED when the caller sent an etag that is not current.
func checkEtag(kind, id, got, current string) error {
	if got != "" && got != current {
		return apierr.StaleEtag(kind, id, got, current)
	}
	return nil
}

// notFound maps a missing row to NOT_FOUND.
func notFound(err error, kind, id string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return apierr.NotFound(kind, id)
	}
	return err
}

// maskPaths validates an update mask against the paths a caller may set;
// anything else (ids, organiser, states, server-owned fields) is refused,
// never ignored.
func maskPaths(paths []string, allowed []string) (map[string]bool, error) {
	if len(paths) == 0 {
		return nil, apierr.InvalidArgument("update_mask", "is required: list the fields to change ("+strings.Join(allowed, ", ")+")")
	}
	set := make(map[string]bool, len(paths))
	for _, p := range paths {
		if !slices.Contains(allowed, p) {
			return nil, apierr.InvalidArgument("update_mask", fmt.Sprintf("path %q cannot be changed (changeable: %s)", p, strings.Join(allowed, ", ")))
		}
		set[p] = true
	}
	return set, nil
}

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
