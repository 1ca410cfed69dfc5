package outbox

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/verkosto/verkosto/internal/cursor"
	"github.com/verkosto/verkosto/internal/db"
)

// ErrPositionUnknown means the changes a snapshot saw were not all published
// in time (NATS down, say): no cursor can be given for it yet.
var ErrPositionUnknown = errors.New("changes of the snapshot are not yet published")

// ReadSnapshot runs read in a repeatable-read, read-only transaction and
// returns the snapshot it saw, for SnapshotPosition.
func ReadSnapshot(ctx context.Context, pool *pgxpool.Pool, read func(q db.DBTX) error) (snapshot string, err error) {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return "", fmt.Errorf("begin snapshot: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	if err := tx.QueryRow(ctx, `SELECT pg_current_snapshot()::text`).Scan(&snapshot); err != nil {
		return "", fmt.Errorf("capture snapshot: %w", err)
	}
	if err := read(tx); err != nil {
		return "", err
	}
	return snapshot, tx.Commit(ctx)
}

// SnapshotPosition turns a snapshot into the stream position consistent with
// it for schema's changes: every change whose effect the snapshot saw is at
// or before the position, and none it did not see is. It waits (up to wait)
// until the relay has published what the snapshot saw.
//
// Should a change the snapshot did not see have been published before one
// it saw (its transaction began earlier and committed later), the position
// is put just before it: the watcher then gets again a change whose effect
// it has, which the aggregate version tells it to skip, rather than miss one.
func SnapshotPosition(ctx context.Context, pool *pgxpool.Pool, schema, snapshot string, wait time.Duration) (uint64, error) {
	table := pgx.Identifier{schema, "outbox"}.Sanitize()
	deadline := time.Now().Add(wait)
	for {
		var unsent bool
		if err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+table+`
			WHERE sent_at IS NULL AND pg_visible_in_snapshot(xid, $1::pg_snapshot))`, snapshot).Scan(&unsent); err != nil {
			return 0, fmt.Errorf("unsent changes of snapshot: %w", err)
		}
		if !unsent {
			break
		}
		if time.Now().After(deadline) {
			return 0, ErrPositionUnknown
		}
		if !sleep(ctx, 10*time.Millisecond) {
			return 0, ctx.Err()
		}
	}
	// Both queries read only recent rows, however many the outbox keeps: the
	// newest published rows until the first the snapshot saw (those after it
	// committed later), and the rows of transactions not finished before the
	// snapshot (xid at or after its xmin). Each query's ORDER BY ... LIMIT
	// makes the index that gives its order the plan, whatever the table's
	// statistics say (the outbox is often never analyzed: without statistics
	// a plain min() walked the whole stream_seq index, 44 ms at 50k rows).
	var position, firstUnseen *int64
	err := pool.QueryRow(ctx, `SELECT stream_seq FROM `+table+`
		WHERE stream_seq IS NOT NULL AND pg_visible_in_snapshot(xid, $1::pg_snapshot)
		ORDER BY stream_seq DESC LIMIT 1`, pgx.QueryExecModeExec, snapshot).Scan(&position)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("position of snapshot: %w", err)
	}
	var scanned int64
	if err := pool.QueryRow(ctx, `SELECT min(stream_seq) FILTER (WHERE stream_seq <= $2 AND NOT pg_visible_in_snapshot(xid, $1::pg_snapshot)), count(*)
		FROM (SELECT stream_seq, xid FROM `+table+` WHERE xid >= pg_snapshot_xmin($1::pg_snapshot) ORDER BY xid LIMIT $3) r`,
		pgx.QueryExecModeExec, snapshot, *position, unseenScan).Scan(&firstUnseen, &scanned); err != nil {
		return 0, fmt.Errorf("unseen changes before snapshot position: %w", err)
	}
	if scanned == unseenScan {
		// A long transaction holds the snapshot's xmin back: read every row after it.
		if err := pool.QueryRow(ctx, `SELECT min(stream_seq) FROM `+table+`
			WHERE xid >= pg_snapshot_xmin($1::pg_snapshot) AND stream_seq <= $2
			AND NOT pg_visible_in_snapshot(xid, $1::pg_snapshot)`, snapshot, *position).Scan(&firstUnseen); err != nil {
			return 0, fmt.Errorf("unseen changes before snapshot position: %w", err)
		}
	}
	if firstUnseen != nil {
		return uint64(*firstUnseen - 1), nil
	}
	return uint64(*position), nil
}

// unseenScan bounds the rows SnapshotPosition reads by xid before it falls
// back to a query over all of them.
const unseenScan = 10_000

// ListCursor runs a list read and, for a first page, returns the change-feed
// cursor consistent with what it read (see SnapshotPosition); "" when the
// changes it saw were not confirmed published within a second (NATS down):
// the list still answers. Later pages read without a snapshot.
func ListCursor(ctx context.Context, pool *pgxpool.Pool, schema string, firstPage bool, read func(q db.DBTX) error) (string, error) {
	if !firstPage {
		return "", read(pool)
	}
	snap, err := ReadSnapshot(ctx, pool, read)
	if err != nil {
		return "", err
	}
	pos, err := SnapshotPosition(ctx, pool, schema, snap, time.Second)
	if errors.Is(err, ErrPositionUnknown) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return cursor.Encode(pos), nil
}
