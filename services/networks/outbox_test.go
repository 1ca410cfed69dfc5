package networks_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/testenv"
)

// A write while NATS is down succeeds, and its change is delivered once
// NATS is back.
func TestWriteWhileNATSDown(t *testing.T) {
	s := newSetup(t)
	s.network("lape") // the stream exists before NATS goes away
	changes := s.WatchChanges()
	changes.WaitFor("verkosto.changes.pohjois-pohjanmaa.lape.network.created")

	s.StopNATS()
	a := s.association("Kriminaalihuollon tukisäätiö")
	s.StartNATS()

	got := changes.WaitFor("verkosto.changes._._.association.created")
	if got.Change.GetAggregateId() != a.GetId() {
		t.Fatalf("change for %s, want %s", got.Change.GetAggregateId(), a.GetId())
	}
	var unsent int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM networks.outbox WHERE sent_at IS NULL`).Scan(&unsent); err != nil {
		t.Fatal(err)
	}
	if unsent != 0 {
		// The relay marks after the ack; give it the moment it needs.
		changes.Wait(func([]testenv.Received) bool {
			s.Pool.QueryRow(ctx, `SELECT count(*) FROM networks.outbox WHERE sent_at IS NULL`).Scan(&unsent) //nolint:errcheck
			return unsent == 0
		})
	}
	if n := countSubject(changes.All(), "verkosto.changes._._.association.created"); n != 1 {
		t.Fatalf("association.created delivered %d times", n)
	}
}

// A relay that crashes after JetStream acknowledged a batch but before it
// marked the rows sent publishes them again on restart; JetStream drops the
// repeats by Nats-Msg-Id, so an id-deduplicating consumer sees each once.
func TestRelayCrashAfterPublish(t *testing.T) {
	var (
		mu          sync.Mutex
		crashed     []string // ids of the batch published when the relay crashed
		republished bool
	)
	s := newSetup(t, testenv.Options{AfterPublish: func(ctx context.Context, ids []string) error {
		mu.Lock()
		defer mu.Unlock()
		if crashed == nil {
			crashed = ids
			return errors.New("simulated crash before marking sent")
		}
		if slices.Contains(ids, crashed[0]) {
			republished = true
		}
		return nil
	}})
	changes := s.WatchChanges()
	n := s.network("mielenterveys")
	for i := range 5 {
		s.member(n.GetId(), s.association("Mielenvireys "+string(rune('A'+i))).GetId())
	}
	// 1 network + 5 × (association created, applied, approved).
	changes.Wait(func(list []testenv.Received) bool {
		var unsent int
		s.Pool.QueryRow(ctx, `SELECT count(*) FROM networks.outbox WHERE sent_at IS NULL`).Scan(&unsent) //nolint:errcheck
		return len(list) >= 16 && unsent == 0
	})
	mu.Lock()
	if !republished {
		t.Fatal("the relay did not publish the crashed batch again")
	}
	mu.Unlock()
	seen := map[string]bool{}
	for _, r := range changes.All() {
		if seen[r.MsgID] {
			t.Fatalf("change %s delivered twice", r.MsgID)
		}
		seen[r.MsgID] = true
	}
	var rows int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM networks.outbox`).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	stream, err := s.JS.Stream(ctx, outbox.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rows != len(seen) || info.State.Msgs != uint64(rows) {
		t.Fatalf("outbox has %d changes, stream %d, consumer saw %d", rows, info.State.Msgs, len(seen))
	}
}
