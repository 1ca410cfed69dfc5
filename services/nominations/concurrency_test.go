package nominations_test

import (
	"sync"
	"testing"

	"connectrpc.com/connect"

	nominationsv1 "github.com/verkosto/verkosto/gen/verkosto/nominations/v1"
	"github.com/verkosto/verkosto/internal/testenv"
)

// confirmAll confirms the nominations at once and returns the successes and
// the failures' reasons.
func (s *setup) confirmAll(list []*nominationsv1.Nomination) (ok []string, reasons map[string]int) {
	s.t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	reasons = map[string]int{}
	start := make(chan struct{})
	for _, x := range list {
		wg.Go(func() {
			<-start
			_, err := s.coordinator.ConfirmNomination(ctx, &nominationsv1.ConfirmNominationRequest{Id: x.GetId()})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok = append(ok, x.GetId())
				return
			}
			if connect.CodeOf(err) != connect.CodeFailedPrecondition {
				s.t.Errorf("confirmation failed with %v, want FAILED_PRECONDITION", err)
			}
			reasons[reasonOf(err)]++
		})
	}
	close(start)
	wg.Wait()
	return ok, reasons
}

// Ten accepted nominations for two seats, confirmed at once: exactly two
// succeed, the rest are refused with SEAT_TAKEN or REQUEST_FILLED, and the
// request is filled once.
func TestConcurrentConfirmationsNeverOverfill(t *testing.T) {
	s := newSetup(t)
	changes := s.WatchChanges()
	n := s.network(programme)
	people := s.persons(10, n.member.GetId())
	r := s.request(n, 2, false)
	var list []*nominationsv1.Nomination
	for _, p := range people {
		list = append(list, s.accepted(n, r, p.GetId(), n.member.GetId(), 0, false))
	}
	ok, reasons := s.confirmAll(list)
	if len(ok) != 2 || reasons["SEAT_TAKEN"]+reasons["REQUEST_FILLED"] != 8 {
		t.Fatalf("%d confirmations succeeded (%v), failures %v", len(ok), ok, reasons)
	}
	view := s.get(r.GetId())
	if view.GetRepresentationRequest().GetState() != nominationsv1.RepresentationRequest_STATE_FILLED ||
		view.GetSeats()[0].GetHolder() == nil || view.GetSeats()[1].GetHolder() == nil ||
		view.GetSeats()[0].GetHolder().GetId() == view.GetSeats()[1].GetHolder().GetId() {
		t.Fatalf("after concurrent confirmations: %v", view.GetSeats())
	}
	var confirmed int
	if err := s.Pool.QueryRow(ctx, `SELECT count(*) FROM nominations.nominations WHERE request_id = $1 AND state = 'CONFIRMED'`,
		r.GetId()).Scan(&confirmed); err != nil || confirmed != 2 {
		t.Fatalf("%d confirmed nominations (%v)", confirmed, err)
	}
	changes.Wait(func(l []testenv.Received) bool { return countSubject(l, subjects+"nomination.confirmed") == 2 })
	changes.WaitFor(subjects + "representation_request.filled")
	if got := countSubject(changes.All(), subjects+"representation_request.filled"); got != 1 {
		t.Fatalf("%d filled changes", got)
	}
}

// Nominations for one given seat (and, separately, its deputy seat),
// confirmed at once: one each succeeds, the others find the seat taken.
func TestConcurrentConfirmationsOfOneSeat(t *testing.T) {
	s := newSetup(t)
	n := s.network(programme)
	people := s.persons(10, n.member.GetId())
	r := s.request(n, 3, true)
	var members, deputies []*nominationsv1.Nomination
	for i, p := range people {
		x := s.accepted(n, r, p.GetId(), n.member.GetId(), 2, i%2 == 1)
		if x.GetDeputy() {
			deputies = append(deputies, x)
		} else {
			members = append(members, x)
		}
	}
	ok, reasons := s.confirmAll(append(members, deputies...))
	if len(ok) != 2 || reasons["SEAT_TAKEN"] != 8 {
		t.Fatalf("%d confirmations succeeded, failures %v", len(ok), reasons)
	}
	seat := s.get(r.GetId()).GetSeats()[1]
	if seat.GetHolder() == nil || seat.GetDeputy() == nil || seat.GetHolder().GetDeputy() || !seat.GetDeputy().GetDeputy() {
		t.Fatalf("seat 2: %v", seat)
	}
	if len(seat.GetPending()) != 8 {
		t.Fatalf("seat 2 has %d pending nominations, want 8", len(seat.GetPending()))
	}
}

// A person is nominated at most once per request, also when nominated
// concurrently, and holds at most one seat of it.
func TestPersonAtMostOncePerRequest(t *testing.T) {
	s := newSetup(t)
	n := s.network(programme)
	p := s.persons(1, n.member.GetId())[0]
	r := s.request(n, 4, true)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var created int
	codes := map[connect.Code]int{}
	for i := range 8 {
		wg.Go(func() {
			_, err := n.leader.CreateNomination(ctx, &nominationsv1.CreateNominationRequest{Nomination: &nominationsv1.Nomination{
				RepresentationRequestId: r.GetId(), PersonId: p.GetId(), AssociationId: n.member.GetId(),
				Seat: int32(i%4 + 1), Deputy: i%2 == 0}})
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				created++
			} else {
				codes[connect.CodeOf(err)]++
			}
		})
	}
	wg.Wait()
	if created != 1 || codes[connect.CodeAlreadyExists] != 7 {
		t.Fatalf("%d nominations of one person created, errors %v", created, codes)
	}
	// Once that nomination is over (declined), the person may be nominated again.
	list, err := s.admin.ListNominations(ctx, &nominationsv1.ListNominationsRequest{RepresentationRequestId: r.GetId()})
	if err != nil || len(list.GetNominations()) != 1 {
		t.Fatalf("nominations: %v %v", list, err)
	}
	if _, err := s.personal(p.GetId()).DeclineNomination(ctx, &nominationsv1.DeclineNominationRequest{Id: list.GetNominations()[0].GetId()}); err != nil {
		t.Fatal(err)
	}
	s.confirmed(n, r, p.GetId(), n.member.GetId(), 1, false)
	_, err = n.leader.CreateNomination(ctx, &nominationsv1.CreateNominationRequest{Nomination: &nominationsv1.Nomination{
		RepresentationRequestId: r.GetId(), PersonId: p.GetId(), AssociationId: n.member.GetId(), Seat: 1, Deputy: true}})
	wantCode(t, err, connect.CodeAlreadyExists, "holds a seat")
}
