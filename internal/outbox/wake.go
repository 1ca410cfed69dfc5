package outbox

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
)

// WakeMigration drops the statement trigger that sent a NOTIFY from every
// writing transaction. PostgreSQL serializes the commits of transactions that
// notified, WAL flush included, under one database-wide lock: with the
// trigger the database committed about 2,700 writes/s at 16 clients where it
// commits 5,700-6,800 without (pgbench, same machine). Writers wake relays
// after commit instead (Waker).
const WakeMigration = `
DROP TRIGGER IF EXISTS outbox_notify ON outbox;
DROP FUNCTION IF EXISTS outbox_notify();
`

// NotifyEvery is the shortest time between two NOTIFYs of one Waker: under
// load one wake-up stands for many commits.
const NotifyEvery = 2 * time.Millisecond

// Waker wakes the relay of one schema once a transaction that appended to
// its outbox has committed: the relay in this process at once, through a
// channel; relays of other processes (replicas where another one leads)
// through a NOTIFY sent outside any writing transaction, coalesced to at
// most one per NotifyEvery and skipped while the local relay leads.
type Waker struct {
	pool   *pgxpool.Pool
	schema string
	local  chan struct{}
	remote chan struct{}
	// LocalLeads reports whether this process's relay publishes the schema
	// (then no NOTIFY is needed).
	LocalLeads func() bool
}

// NewWaker returns the waker of schema's relay.
func NewWaker(pool *pgxpool.Pool, schema string) *Waker {
	return &Waker{pool: pool, schema: schema, local: make(chan struct{}, 1), remote: make(chan struct{}, 1)}
}

// Wake is called after a transaction that appended changes committed. It
// never blocks.
func (w *Waker) Wake() {
	select {
	case w.local <- struct{}{}:
	default:
	}
	if w.LocalLeads != nil && w.LocalLeads() {
		return
	}
	select {
	case w.remote <- struct{}{}:
	default:
	}
}

// C receives the wake-ups of the relay in this process (see Relay.Wake).
func (w *Waker) C() <-chan struct{} { return w.local }

// Run sends the NOTIFYs for relays of other processes until ctx ends.
func (w *Waker) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.remote:
		}
		if _, err := w.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, NotifyChannel, w.schema); err != nil && ctx.Err() == nil {
			// The relays poll as well; a lost wake-up only delays.
			if !sleep(ctx, time.Second) {
				return nil
			}
		}
		if !sleep(ctx, NotifyEvery) {
			return nil
		}
	}
}
