// Package writer runs a service's writes: one transaction that changes state
// and appends its changes to the service's outbox, and creates made
// idempotent by request_id.
package writer

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/verkosto/verkosto/internal/audit"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/reqid"
)

// Writer writes for one service.
type Writer struct {
	pool   *pgxpool.Pool
	schema string
	outbox *outbox.Outbox
	wake   func()
}

// New returns the writer of service, whose tables live in schema. wake (may
// be nil: the relay then finds changes when it next polls) is called after
// every commit that appended changes: app.Deps.WakeRelay.
func New(pool *pgxpool.Pool, service, schema string, now func() time.Time, wake func()) *Writer {
	if wake == nil {
		wake = func() {}
	}
	return &Writer{pool: pool, schema: schema, outbox: outbox.New(service, schema, now), wake: wake}
}

// maxAttempts bounds how often a transaction PostgreSQL aborted as a
// deadlock or serialization victim is run again.
const maxAttempts = 3

// Write runs fn in one transaction and appends the changes it returns to the
// outbox in the same transaction: state and its changes commit together, or
// neither does.
func (w *Writer) Write(ctx context.Context, fn func(tx pgx.Tx) ([]outbox.Event, error)) error {
	actor := auth.Caller(ctx).Actor()
	for attempt := 1; ; attempt++ {
		appended := false
		err := db.InTx(ctx, w.pool, func(tx pgx.Tx) error {
			events, err := fn(tx)
			if err != nil {
				return err
			}
			appended = len(events) > 0
			if len(events) > 0 {
				audit.NoteResource(ctx, events[0].AggregateID, events[0].Region, events[0].Programme)
			}
			for _, ev := range events {
				if _, err := w.outbox.Append(ctx, tx, actor, ev); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil && appended {
			w.wake()
		}
		var pgErr *pgconn.PgError
		if attempt < maxAttempts && errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") {
			continue
		}
		return err
	}
}

// Create is Write for a create carrying a request_id: a retry returns the
// first call's resource id without writing again. fn creates resource newID.
func (w *Writer) Create(ctx context.Context, procedure, requestID string, hash []byte, newID string,
	fn func(tx pgx.Tx, id string) ([]outbox.Event, error)) (id string, err error) {
	id, _, err = w.CreateFor(ctx, auth.Caller(ctx).CredentialID, procedure, requestID, hash, newID, fn)
	return id, err
}

// CreateFor is Create with request ids kept per principal key (anonymous
// callers have no credential to key them by) and reports whether this call
// created the resource.
func (w *Writer) CreateFor(ctx context.Context, principal, procedure, requestID string, hash []byte, newID string,
	fn func(tx pgx.Tx, id string) ([]outbox.Event, error)) (id string, created bool, err error) {
	err = w.Write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		id, created = newID, false
		existing, claimed, err := reqid.Claim(ctx, tx, reqid.Key{
			Schema: w.schema, Principal: principal, Procedure: procedure, RequestID: requestID,
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
