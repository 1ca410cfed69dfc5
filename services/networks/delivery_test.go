package networks_test

import (
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/testenv"
	"github.com/verkosto/verkosto/services/networks"
)

// outboxIDs lists every change id the outbox holds.
func (s *setup) outboxIDs() map[string]bool {
	s.t.Helper()
	rows, err := s.Pool.Query(ctx, `SELECT id::text FROM networks.outbox`)
	if err != nil {
		s.t.Fatal(err)
	}
	list, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		s.t.Fatal(err)
	}
	out := map[string]bool{}
	for _, id := range list {
		out[id] = true
	}
	return out
}

// exactlyOnce checks the consumer received every committed change once.
func exactlyOnce(t *testing.T, committed map[string]bool, got []testenv.Received) {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range got {
		if seen[r.MsgID] {
			t.Fatalf("change %s delivered twice", r.MsgID)
		}
		seen[r.MsgID] = true
		if !committed[r.MsgID] {
			t.Fatalf("change %s delivered but never committed", r.MsgID)
		}
	}
	if len(seen) != len(committed) {
		t.Fatalf("%d changes committed, %d delivered", len(committed), len(seen))
	}
}

// NATS dies in the middle of a burst of writes: every committed change still
// reaches a durable consumer once NATS is back, exactly once by id.
func TestNATSKilledDuringBurst(t *testing.T) {
	s := newSetup(t)
	changes := s.WatchChanges()
	n := s.network("lape")
	const writers, each = 8, 25
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				a := s.association(fmt.Sprintf("Yhdistys %d-%d", w, i))
				if i%5 == 0 {
					s.member(n.GetId(), a.GetId())
				}
			}
		})
	}
	time.Sleep(100 * time.Millisecond)
	s.StopNATS()
	time.Sleep(300 * time.Millisecond)
	s.StartNATS()
	wg.Wait()
	committed := s.outboxIDs()
	changes.Wait(func(list []testenv.Received) bool { return len(list) >= len(committed) })
	exactlyOnce(t, committed, changes.All())
}

// A transaction that took an earlier outbox position but commits after a
// later one is published all the same: the relay reads unsent rows, not a
// high-water mark.
func TestLateCommitIsNotSkipped(t *testing.T) {
	s := newSetup(t)
	changes := s.WatchChanges()
	s.network("lape")
	box := outbox.New("networks", networks.Schema, nil)
	early, err := s.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer early.Rollback(ctx) //nolint:errcheck
	payload := &networksv1.Association{Id: "early"}
	earlyChange, err := box.Append(ctx, early, &changesv1.Actor{Id: "test"}, outbox.Event{Kind: "association", Name: "updated", AggregateID: "early", Version: 1, Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	a := s.association("Myöhemmin aloittanut") // takes a later position, commits first
	changes.Wait(func(list []testenv.Received) bool {
		for _, r := range list {
			if r.Change.GetAggregateId() == a.GetId() {
				return true
			}
		}
		return false
	})
	if err := early.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	got := changes.WaitFor("verkosto.changes._._.association.updated")
	if got.MsgID != earlyChange.GetId() {
		t.Fatalf("got %s, want the late commit %s", got.MsgID, earlyChange.GetId())
	}
}

// Several replicas run the relay of one schema at once: nothing is lost,
// nothing doubled, and each aggregate's changes keep their order.
func TestRelayReplicas(t *testing.T) {
	s := newSetup(t)
	changes := s.WatchChanges()
	ctx2, cancel := contextWithCancel()
	defer cancel()
	var wg sync.WaitGroup
	for range 3 {
		r := &outbox.Relay{Pool: s.Pool, Schema: networks.Schema, JS: s.JS, Stream: outbox.StreamConfig(1, 0), Poll: 50 * time.Millisecond}
		wg.Go(func() { r.Run(ctx2) }) //nolint:errcheck
	}
	n := s.network("mielenterveys")
	var writers sync.WaitGroup
	for w := range 6 {
		writers.Go(func() {
			for i := range 10 {
				a := s.association(fmt.Sprintf("Mielenvireys %d-%d", w, i))
				m := s.member(n.GetId(), a.GetId())
				if _, err := s.admin.LeaveMembership(ctx, &networksv1.LeaveMembershipRequest{Id: m.GetId()}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	writers.Wait()
	committed := s.outboxIDs()
	changes.Wait(func(list []testenv.Received) bool { return len(list) >= len(committed) })
	cancel()
	wg.Wait()
	exactlyOnce(t, committed, changes.All())
	last := map[string]int64{}
	for _, r := range changes.All() {
		agg, v := r.Change.GetAggregateId(), r.Change.GetAggregateVersion()
		if v <= last[agg] {
			t.Fatalf("aggregate %s: version %d arrived after %d", agg, v, last[agg])
		}
		last[agg] = v
	}
}

// JetStream loses its tail (its store restored from an earlier copy): the
// relay's reconciler publishes again what the stream lacks, from the outbox.
func TestReconcilerRepublishesLostTail(t *testing.T) {
	s := newSetup(t, testenv.Options{ReconcileInterval: 200 * time.Millisecond})
	n := s.network("hoitotakuu")
	s.member(n.GetId(), s.association("Psoriasisliitto").GetId())
	waitStream(t, s, len(s.outboxIDs()))

	s.StopNATS()
	backup := t.TempDir()
	copyDir(t, s.NATSDir, backup)
	s.StartNATS()
	for i := range 5 {
		s.association(fmt.Sprint("Myöhempi ", i))
	}
	waitStream(t, s, len(s.outboxIDs()))

	s.StopNATS()
	if err := os.RemoveAll(s.NATSDir); err != nil {
		t.Fatal(err)
	}
	copyDir(t, backup, s.NATSDir)
	s.StartNATS()
	committed := s.outboxIDs()
	waitStream(t, s, len(committed))
	ids := streamIDs(t, s)
	for id := range committed {
		if !ids[id] {
			t.Fatalf("change %s missing from the stream after reconciliation", id)
		}
	}
}

func waitStream(t *testing.T, s *setup, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if st, err := s.JS.Stream(ctx, outbox.StreamName); err == nil {
			if info, err := st.Info(ctx); err == nil && info.State.Msgs >= uint64(n) {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("stream did not reach %d messages", n)
}

func streamIDs(t *testing.T, s *setup) map[string]bool {
	t.Helper()
	st, err := s.JS.Stream(ctx, outbox.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq; seq++ {
		msg, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		var c changesv1.Change
		if err := proto.Unmarshal(msg.Data, &c); err != nil {
			t.Fatal(err)
		}
		if out[c.GetId()] {
			t.Fatalf("change %s stored twice", c.GetId())
		}
		out[c.GetId()] = true
	}
	return out
}

func copyDir(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(to, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", from+"/.", to).CombinedOutput(); err != nil {
		t.Fatalf("copy %s: %v %s", from, err, out)
	}
}
