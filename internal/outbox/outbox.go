// Package outbox is Verkosto's transactional outbox: a write appends its
// changes to its service's outbox table in the same transaction that changes
// state, and the Relay publishes them to JetStream afterwards. A write thus
// succeeds while NATS is down, and nothing committed is lost.
package outbox

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/ids"
)

// SubjectPrefix starts every change subject.
const SubjectPrefix = "verkosto.changes"

// None is the subject token for "no region" or "no programme".
const None = "_"

// Migration creates the outbox of one service schema. The statement trigger
// woke relays through LISTEN/NOTIFY; WakeMigration drops it (writers wake
// relays after commit, see Waker).
const Migration = `
CREATE TABLE outbox (
	seq          bigserial PRIMARY KEY,
	id           uuid NOT NULL UNIQUE,
	subject      text NOT NULL,
	aggregate_id text NOT NULL,
	payload      bytea NOT NULL,
	created_at   timestamptz NOT NULL DEFAULT now(),
	sent_at      timestamptz
);
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent_at ON outbox (sent_at) WHERE sent_at IS NOT NULL;

CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('verkosto_outbox', TG_TABLE_SCHEMA);
	RETURN NULL;
END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
	FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
`

// PositionsMigration records, for every outbox row, the transaction that
// wrote it and the stream sequence JetStream gave it: list calls turn a
// database snapshot into a change-feed cursor with them, and the reconciler
// finds what a stream lost.
const PositionsMigration = `
ALTER TABLE outbox ADD COLUMN xid xid8 NOT NULL DEFAULT pg_current_xact_id();
ALTER TABLE outbox ADD COLUMN stream_seq bigint;
CREATE INDEX outbox_stream_seq ON outbox (stream_seq) WHERE stream_seq IS NOT NULL;
`

// XidIndexMigration lets a list's change cursor find the rows of the
// transactions its snapshot did not see without reading the whole outbox.
const XidIndexMigration = `CREATE INDEX outbox_xid ON outbox (xid);`

// NotifyChannel is the LISTEN channel of relay wake-ups (Waker); the payload
// is the schema.
const NotifyChannel = "verkosto_outbox"

// Event is one change a write makes.
type Event struct {
	// Kind of resource, e.g. "network".
	Kind string
	// Name of what happened, e.g. "member_approved".
	Name string
	// AggregateID and Version identify the aggregate and its version after the change.
	AggregateID string
	Version     int64
	// Region and Programme route the subject; empty means None.
	Region    string
	Programme string
	// Payload is the resource after the change (without contact details).
	Payload proto.Message
}

// Outbox appends changes to one service's outbox table.
type Outbox struct {
	service string
	table   string
	now     func() time.Time
}

// New returns the outbox of a service whose tables live in schema.
func New(service, schema string, now func() time.Time) *Outbox {
	if now == nil {
		now = time.Now
	}
	return &Outbox{service: service, table: pgx.Identifier{schema, "outbox"}.Sanitize(), now: now}
}

// Subject is the NATS subject of a change.
func Subject(region, programme, kind, name string) string {
	return strings.Join([]string{SubjectPrefix, orNone(region), orNone(programme), kind, name}, ".")
}

func orNone(s string) string {
	if s == "" {
		return None
	}
	return s
}

// Append records ev in tx, to be published after commit.
func (o *Outbox) Append(ctx context.Context, tx db.DBTX, actor *changesv1.Actor, ev Event) (*changesv1.Change, error) {
	payload, err := anypb.New(ev.Payload)
	if err != nil {
		return nil, fmt.Errorf("outbox: pack payload: %w", err)
	}
	ch := &changesv1.Change{
		Id:               ids.New(),
		Time:             timestamppb.New(o.now()),
		Actor:            actor,
		Kind:             ev.Kind,
		Change:           ev.Name,
		AggregateId:      ev.AggregateID,
		AggregateVersion: ev.Version,
		Region:           orNone(ev.Region),
		Programme:        orNone(ev.Programme),
		Payload:          payload,
		Service:          o.service,
	}
	b, err := proto.Marshal(ch)
	if err != nil {
		return nil, fmt.Errorf("outbox: marshal change: %w", err)
	}
	_, err = tx.Exec(ctx, `INSERT INTO `+o.table+` (id, subject, aggregate_id, payload) VALUES ($1, $2, $3, $4)`,
		ch.Id, Subject(ch.Region, ch.Programme, ch.Kind, ch.Change), ch.AggregateId, b)
	if err != nil {
		return nil, fmt.Errorf("outbox: append %s.%s: %w", ev.Kind, ev.Name, err)
	}
	return ch, nil
}
