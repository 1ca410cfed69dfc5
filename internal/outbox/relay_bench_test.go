package outbox_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/testenv"
)

// TestMain starts a database server only when benchmarks run: the package
// has no tests that need one.
func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.bench"); f == nil || f.Value.String() == "" {
		os.Exit(m.Run())
	}
	testenv.Main(m)
}

// benchModule is a schema with only the platform tables: an outbox.
var benchModule = app.Module{Name: "relaybench", Schema: "relaybench"}

const benchSubject = "verkosto.changes.kainuu.lape.network.member_approved"

type relayBench struct {
	pool *pgxpool.Pool
	js   jetstream.JetStream
}

func newRelayBench(b *testing.B) *relayBench {
	ctx := context.Background()
	pool, err := db.Open(ctx, testenv.NewDatabase(b, []app.Module{benchModule}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	ns := testenv.NewNATS(b)
	nc, err := nats.Connect(ns.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := js.CreateOrUpdateStream(ctx, outbox.StreamConfig(1, 0)); err != nil {
		b.Fatal(err)
	}
	return &relayBench{pool: pool, js: js}
}

// seed puts n unsent changes of ~300 bytes in the outbox, as n committed
// writes would have.
func (r *relayBench) seed(b *testing.B, n int) {
	if _, err := r.pool.Exec(context.Background(), `INSERT INTO relaybench.outbox (id, subject, aggregate_id, payload)
		SELECT gen_random_uuid(), $1, 'aggregate-' || g, decode(repeat('ab', 300), 'hex') FROM generate_series(1, $2) g`,
		benchSubject, n); err != nil {
		b.Fatal(err)
	}
}

func (r *relayBench) unsent(b *testing.B) int {
	var n int
	if err := r.pool.QueryRow(context.Background(), `SELECT count(*) FROM relaybench.outbox WHERE sent_at IS NULL`).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return n
}

// BenchmarkRelayPublish: the relay's publish loop drains b.N pending
// changes (read a batch, publish to JetStream with file storage and
// sync_interval always, wait for the acks, mark the batch sent). Run with
// -benchtime=20000x; compare with BenchmarkJetStreamPublishAsync, its ceiling.
func BenchmarkRelayPublish(b *testing.B) {
	for _, batch := range []int{64, 256, 1024} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			r := newRelayBench(b)
			r.seed(b, b.N)
			relay := &outbox.Relay{Pool: r.pool, Schema: benchModule.Schema, JS: r.js, Stream: outbox.StreamConfig(1, 0),
				Batch: batch, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.ResetTimer()
			start := time.Now()
			done := make(chan struct{})
			go func() { defer close(done); relay.Run(ctx) }() //nolint:errcheck
			for r.unsent(b) > 0 {
				time.Sleep(2 * time.Millisecond)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			cancel()
			<-done
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "changes/s")
		})
	}
}

// BenchmarkJetStreamPublishAsync: b.N messages of ~300 bytes published
// asynchronously with message ids to the changes stream, waiting for every
// ack: the stream's ceiling on this machine.
func BenchmarkJetStreamPublishAsync(b *testing.B) {
	r := newRelayBench(b)
	payload := make([]byte, 300)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if _, err := r.js.PublishAsync(benchSubject, payload, jetstream.WithMsgID(ids.New())); err != nil {
			b.Fatal(err)
		}
		if i%4000 == 3999 { // the client's default limit of pending acks
			<-r.js.PublishAsyncComplete()
		}
	}
	select {
	case <-r.js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		b.Fatal("acks did not arrive")
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
