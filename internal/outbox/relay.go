package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/verkosto/verkosto/internal/db"
)

// StreamName is the JetStream stream that stores every change.
const StreamName = "VERKOSTO_CHANGES"

// StreamConfig is the changes stream: file storage, and a deduplication
// window long enough to cover a relay that crashed after publishing and was
// restarted.
func StreamConfig(replicas int, maxAge time.Duration) jetstream.StreamConfig {
	if replicas < 1 {
		replicas = 1
	}
	return jetstream.StreamConfig{
		Name:       StreamName,
		Subjects:   []string{SubjectPrefix + ".>"},
		Storage:    jetstream.FileStorage,
		Retention:  jetstream.LimitsPolicy,
		MaxAge:     maxAge,
		Duplicates: 10 * time.Minute,
		Replicas:   replicas,
	}
}

// EnsureStream creates the changes stream, or updates it when the settings
// Verkosto controls differ. It does not update an unchanged stream: every
// relay and consumer calls it at start, and needless updates race with
// consumer creation in the server.
func EnsureStream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) error {
	stream, err := js.Stream(ctx, cfg.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	cur := stream.CachedInfo().Config
	if slices.Equal(cur.Subjects, cfg.Subjects) && cur.MaxAge == cfg.MaxAge && cur.Duplicates == cfg.Duplicates && cur.Replicas == cfg.Replicas {
		return nil
	}
	_, err = js.UpdateStream(ctx, cfg)
	return err
}

// Relay publishes one schema's outbox to JetStream in commit order and marks
// rows sent once JetStream acknowledged them. Several replicas may run a
// relay for the same schema: a session advisory lock lets one publish while
// the others stand by, which keeps per-aggregate order.
type Relay struct {
	Pool   *pgxpool.Pool
	Schema string
	JS     jetstream.JetStream
	Logger *slog.Logger
	// Stream is created if missing before the first publish.
	Stream jetstream.StreamConfig
	// Batch is the most rows published per round (default 256).
	Batch int
	// Poll is the longest wait between rounds without a wake-up (default 250ms).
	Poll time.Duration
	// Retention is how long sent rows are kept (default 7 days); a reconciler
	// can republish from them.
	Retention time.Duration
	// Reconcile is how often the relay checks that JetStream still holds
	// what it acknowledged (default 1 minute); see reconcile.
	Reconcile time.Duration
	// AfterPublish, when set, runs after JetStream acknowledged a batch and
	// before it is marked sent. Tests use it to crash the relay there.
	AfterPublish func(ctx context.Context, changeIDs []string) error
	// Wake, when set, wakes the relay: writers of this process signal it
	// after commit (Waker.C). Relays of other processes are woken by NOTIFY.
	Wake <-chan struct{}

	leading atomic.Bool
}

// Leading reports whether this relay holds the schema's lock and publishes.
func (r *Relay) Leading() bool { return r.leading.Load() }

// Run publishes until ctx ends.
func (r *Relay) Run(ctx context.Context) error {
	r.defaults()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := r.runLeader(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			r.Logger.Warn("outbox relay stopped; restarting", "schema", r.Schema, "err", err)
		}
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(backoff*2, 5*time.Second)
	}
	return nil
}

func (r *Relay) defaults() {
	if r.Batch <= 0 {
		r.Batch = 256
	}
	if r.Poll <= 0 {
		r.Poll = 250 * time.Millisecond
	}
	if r.Retention <= 0 {
		r.Retention = 7 * 24 * time.Hour
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	if r.Reconcile <= 0 {
		r.Reconcile = time.Minute
	}
}

// runLeader holds one connection with the schema's relay lock and LISTENs on
// it; it returns on any error so Run can start over with a fresh connection.
func (r *Relay) runLeader(ctx context.Context) error {
	pooled, err := r.Pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("acquire: %w", err)
	}
	// The lock and the LISTEN belong to this session: never return it to the pool.
	conn := pooled.Hijack()
	defer conn.Close(context.WithoutCancel(ctx))
	lock := db.LockKey("relay:" + r.Schema)
	for {
		var ok bool
		if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, lock).Scan(&ok); err != nil {
			return fmt.Errorf("try lock: %w", err)
		}
		if ok {
			r.leading.Store(true)
			defer r.leading.Store(false)
			break
		}
		if !sleep(ctx, r.Poll) {
			return nil
		}
	}
	if _, err := conn.Exec(ctx, `LISTEN `+NotifyChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	streamReady := false
	lastCleanup, lastReconcile := time.Time{}, time.Time{}
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		if !streamReady {
			if err := EnsureStream(ctx, r.JS, r.Stream); err != nil {
				r.Logger.Warn("changes stream not ready; will retry", "err", err)
				if !sleep(ctx, backoff) {
					return nil
				}
				backoff = min(backoff*2, 5*time.Second)
				continue
			}
			streamReady = true
		}
		n, err := r.publishBatch(ctx, conn)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, errConn) {
				return err
			}
			r.Logger.Warn("outbox publish failed; will retry", "schema", r.Schema, "err", err)
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		if time.Since(lastReconcile) > r.Reconcile {
			if err := r.reconcile(ctx, conn); err != nil {
				r.Logger.Warn("outbox reconcile failed; will retry", "schema", r.Schema, "err", err)
			}
			lastReconcile = time.Now()
		}
		if time.Since(lastCleanup) > time.Hour {
			r.cleanup(ctx, conn)
			lastCleanup = time.Now()
		}
		if n == r.Batch {
			continue
		}
		if err := r.wait(ctx, conn); err != nil {
			return err
		}
	}
	return nil
}

var errConn = errors.New("database connection failed")

// wait blocks until a writer wakes the relay (Wake, or a NOTIFY from
// another process) or Poll passes.
func (r *Relay) wait(ctx context.Context, conn *pgx.Conn) error {
	select {
	case <-r.Wake: // a writer of this process committed meanwhile
		return nil
	default:
	}
	wctx, cancel := context.WithTimeout(ctx, r.Poll)
	defer cancel()
	if r.Wake != nil {
		// A wake-up taken here is taken before wait returns, hence before
		// the next batch is read: the commit it announces is visible then.
		stop, done := make(chan struct{}), make(chan struct{})
		defer func() { close(stop); <-done }()
		go func() {
			defer close(done)
			select {
			case <-r.Wake:
				cancel()
			case <-stop:
			}
		}()
	}
	_, err := conn.WaitForNotification(wctx)
	if err != nil && wctx.Err() == nil {
		return fmt.Errorf("wait for notification: %w", err)
	}
	return nil
}

type outboxRow struct {
	seq     int64
	id      string
	subject string
	payload []byte
}

// publishBatch publishes the oldest unsent rows and marks the acknowledged
// prefix sent. It stops at the first failure so a later change of the same
// aggregate never overtakes an earlier one.
func (r *Relay) publishBatch(ctx context.Context, conn *pgx.Conn) (int, error) {
	table := pgx.Identifier{r.Schema, "outbox"}.Sanitize()
	rows, err := conn.Query(ctx, `SELECT seq, id::text, subject, payload FROM `+table+`
		WHERE sent_at IS NULL ORDER BY seq LIMIT $1`, r.Batch)
	if err != nil {
		return 0, fmt.Errorf("%w: select unsent: %w", errConn, err)
	}
	batch, err := pgx.CollectRows(rows, func(cr pgx.CollectableRow) (outboxRow, error) {
		var x outboxRow
		err := cr.Scan(&x.seq, &x.id, &x.subject, &x.payload)
		return x, err
	})
	if err != nil {
		return 0, fmt.Errorf("%w: read unsent: %w", errConn, err)
	}
	if len(batch) == 0 {
		return 0, nil
	}
	futures := make([]jetstream.PubAckFuture, 0, len(batch))
	for _, x := range batch {
		f, err := r.JS.PublishAsync(x.subject, x.payload, jetstream.WithMsgID(x.id), jetstream.WithExpectStream(StreamName))
		if err != nil {
			break
		}
		futures = append(futures, f)
	}
	var acked, streamSeqs []int64
	var ackedIDs []string
	var pubErr error
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for i, f := range futures {
		select {
		case ack := <-f.Ok():
			acked = append(acked, batch[i].seq)
			streamSeqs = append(streamSeqs, int64(ack.Sequence))
			ackedIDs = append(ackedIDs, batch[i].id)
			continue
		case err := <-f.Err():
			pubErr = err
		case <-timeout.C:
			pubErr = errors.New("timed out waiting for JetStream acknowledgements")
		case <-ctx.Done():
			pubErr = ctx.Err()
		}
		break
	}
	if pubErr == nil && len(futures) < len(batch) {
		pubErr = errors.New("publish refused by the NATS client")
	}
	if len(acked) > 0 {
		if r.AfterPublish != nil {
			if err := r.AfterPublish(ctx, ackedIDs); err != nil {
				return 0, fmt.Errorf("%w: after publish: %w", errConn, err)
			}
		}
		// A duplicate's ack carries the sequence of the copy already stored.
		if _, err := conn.Exec(ctx, `UPDATE `+table+` o SET sent_at = now(), stream_seq = a.stream_seq
			FROM unnest($1::bigint[], $2::bigint[]) AS a(seq, stream_seq) WHERE o.seq = a.seq`, acked, streamSeqs); err != nil {
			return 0, fmt.Errorf("%w: mark sent: %w", errConn, err)
		}
	}
	if pubErr != nil {
		return len(acked), fmt.Errorf("publish: %w", pubErr)
	}
	return len(batch), nil
}

// cleanup deletes rows sent longer ago than the retention.
func (r *Relay) cleanup(ctx context.Context, conn *pgx.Conn) {
	table := pgx.Identifier{r.Schema, "outbox"}.Sanitize()
	tag, err := conn.Exec(ctx, `DELETE FROM `+table+` WHERE sent_at < now() - $1::interval`,
		fmt.Sprintf("%d seconds", int64(r.Retention.Seconds())))
	if err != nil {
		r.Logger.Warn("outbox cleanup failed", "schema", r.Schema, "err", err)
		return
	}
	if tag.RowsAffected() > 0 {
		r.Logger.Info("outbox cleanup", "schema", r.Schema, "deleted", tag.RowsAffected())
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// reconcileWindow bounds how many recently published rows one reconcile pass
// verifies message by message.
const reconcileWindow = 2000

// reconcile finds changes JetStream acknowledged but no longer holds — its
// store restored from an earlier copy, say — and marks them unsent so the
// relay publishes them again. A row is lost when its recorded stream
// sequence lies past the stream's last one, or when the message now at that
// sequence has another id. Rows older than the stream's first sequence aged
// out by the stream's limits and are left alone.
//
// A store restored from a copy holds a prefix of what was acknowledged, so
// when the newest row's message is where it was recorded, the older ones
// are too: only then is the pass one message lookup. Checking the whole
// window message by message took 200-300 ms for 2,000 rows, during which
// the relay published nothing.
func (r *Relay) reconcile(ctx context.Context, conn *pgx.Conn) error {
	stream, err := r.JS.Stream(ctx, r.Stream.Name)
	if err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	info := stream.CachedInfo() // Stream looked it up just now
	first, last := int64(info.State.FirstSeq), int64(info.State.LastSeq)
	table := pgx.Identifier{r.Schema, "outbox"}.Sanitize()
	var newestID string
	var newestSeq int64
	err = conn.QueryRow(ctx, `SELECT id::text, stream_seq FROM `+table+`
		WHERE stream_seq IS NOT NULL AND stream_seq >= $1 ORDER BY stream_seq DESC LIMIT 1`, first).Scan(&newestID, &newestSeq)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: select newest sent: %w", errConn, err)
	}
	if newestSeq <= last {
		msg, err := stream.GetMsg(ctx, uint64(newestSeq))
		if err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return fmt.Errorf("get message %d: %w", newestSeq, err)
		}
		if err == nil && msg.Header.Get(jetstream.MsgIDHeader) == newestID {
			return nil
		}
	}
	rows, err := conn.Query(ctx, `SELECT seq, id::text, stream_seq FROM `+table+`
		WHERE stream_seq IS NOT NULL AND stream_seq >= $1 ORDER BY stream_seq DESC LIMIT $2`, first, reconcileWindow)
	if err != nil {
		return fmt.Errorf("%w: select sent: %w", errConn, err)
	}
	type sent struct {
		seq, streamSeq int64
		id             string
	}
	recent, err := pgx.CollectRows(rows, func(cr pgx.CollectableRow) (sent, error) {
		var x sent
		return x, cr.Scan(&x.seq, &x.id, &x.streamSeq)
	})
	if err != nil {
		return fmt.Errorf("%w: read sent: %w", errConn, err)
	}
	var lost []int64
	for _, x := range recent {
		if x.streamSeq > last {
			lost = append(lost, x.seq)
			continue
		}
		msg, err := stream.GetMsg(ctx, uint64(x.streamSeq))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			lost = append(lost, x.seq)
			continue
		}
		if err != nil {
			return fmt.Errorf("get message %d: %w", x.streamSeq, err)
		}
		if msg.Header.Get(jetstream.MsgIDHeader) != x.id {
			lost = append(lost, x.seq)
		}
	}
	if len(lost) == 0 {
		return nil
	}
	if _, err := conn.Exec(ctx, `UPDATE `+table+` SET sent_at = NULL, stream_seq = NULL WHERE seq = ANY($1)`, lost); err != nil {
		return fmt.Errorf("%w: mark lost: %w", errConn, err)
	}
	r.Logger.Warn("changes missing from JetStream; publishing them again", "schema", r.Schema, "count", len(lost))
	return nil
}
