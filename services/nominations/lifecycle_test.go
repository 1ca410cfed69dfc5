package nominations_test

import (
	"bytes"
	"slices"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	nominationsv1 "github.com/verkosto/verkosto/gen/verkosto/nominations/v1"
	"github.com/verkosto/verkosto/internal/testenv"
)

// The whole life of a request with deputies: two seats, each with a member
// and a personal deputy, nominated by the network's leader, accepted by the
// nominee or their association, confirmed by the coordinator until FILLED;
// then a replacement and a resignation, the register, and the changes.
func TestLifecycleWithDeputies(t *testing.T) {
	s := newSetup(t)
	changes := s.WatchChanges()
	n := s.network(programme)
	people := s.persons(4, n.member.GetId())
	other := s.persons(1, n.member2.GetId())[0]
	r := s.request(n, 2, true)
	if r.GetState() != nominationsv1.RepresentationRequest_STATE_OPEN || r.GetNetworkRegion() != region ||
		r.GetNetworkProgramme() != programme || r.GetSeatsNeedingNomination() != 4 || r.GetBodyName().GetFi() != perhekeskusverkosto {
		t.Fatalf("new request: %v", r)
	}

	// Seat 1: the member accepts themself, the deputy's association accepts
	// on the deputy's behalf.
	m1 := s.nominate(n, r, people[0].GetId(), n.member.GetId(), 1, false)
	if m1.GetState() != nominationsv1.Nomination_STATE_PROPOSED || m1.GetPersonDisplayName() != people[0].GetDisplayName() ||
		m1.GetNetworkId() != n.net.GetId() || m1.GetNominatedBy() != n.leaderPerson.GetId() || m1.GetRegion() != region ||
		m1.GetBodyName().GetFi() != perhekeskusverkosto || !m1.GetTermEndTime().AsTime().Equal(r.GetTermEndTime().AsTime()) {
		t.Fatalf("proposed nomination: %v", m1)
	}
	acc, err := s.personal(people[0].GetId()).AcceptNomination(ctx, &nominationsv1.AcceptNominationRequest{Id: m1.GetId(), Etag: m1.GetEtag()})
	if err != nil {
		t.Fatal(err)
	}
	if acc.GetNomination().GetState() != nominationsv1.Nomination_STATE_ACCEPTED || acc.GetNomination().GetConsentTime() == nil {
		t.Fatalf("accepted: %v", acc.GetNomination())
	}
	d1 := s.accepted(n, r, people[1].GetId(), n.member.GetId(), 1, true)
	// Seat 2: a member for whichever seat is free, and a deputy for seat 2.
	m2 := s.accepted(n, r, other.GetId(), n.member2.GetId(), 0, false)
	d2 := s.accepted(n, r, people[2].GetId(), n.member.GetId(), 2, true)

	for i, x := range []*nominationsv1.Nomination{m1, d1, m2} {
		res, err := s.coordinator.ConfirmNomination(ctx, &nominationsv1.ConfirmNominationRequest{Id: x.GetId()})
		if err != nil {
			t.Fatalf("confirm %d: %v", i, err)
		}
		if res.GetRepresentationRequest().GetState() != nominationsv1.RepresentationRequest_STATE_OPEN {
			t.Fatalf("request after %d confirmations: %v", i+1, res.GetRepresentationRequest())
		}
	}
	if got := s.nomination(m2.GetId()); got.GetSeat() != 2 || got.GetState() != nominationsv1.Nomination_STATE_CONFIRMED {
		t.Fatalf("a nomination for any seat takes the lowest free one: %v", got)
	}
	last, err := s.coordinator.ConfirmNomination(ctx, &nominationsv1.ConfirmNominationRequest{Id: d2.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if last.GetRepresentationRequest().GetState() != nominationsv1.RepresentationRequest_STATE_FILLED ||
		last.GetNomination().GetDecisionTime() == nil || last.GetNomination().GetSeat() != 2 || !last.GetNomination().GetDeputy() {
		t.Fatalf("last confirmation: %v", last)
	}
	view := s.get(r.GetId())
	seats := view.GetSeats()
	if len(seats) != 2 || seats[0].GetHolder().GetId() != m1.GetId() || seats[0].GetDeputy().GetId() != d1.GetId() ||
		seats[1].GetHolder().GetId() != m2.GetId() || seats[1].GetDeputy().GetId() != d2.GetId() ||
		seats[0].GetNeedsNomination() || seats[1].GetNeedsDeputyNomination() {
		t.Fatalf("seats of the filled request: %v", seats)
	}
	if rr := view.GetRepresentationRequest(); rr.GetFilledSeats() != 2 || rr.GetFilledDeputySeats() != 2 || rr.GetSeatsNeedingNomination() != 0 {
		t.Fatalf("filled request: %v", rr)
	}
	held := s.nomination(m1.GetId())
	if !held.GetTermStartTime().AsTime().Equal(r.GetTermStartTime().AsTime()) || !held.GetTermEndTime().AsTime().Equal(r.GetTermEndTime().AsTime()) {
		t.Fatalf("term of a seat confirmed before the term: %v", held)
	}

	// Replacing seat 1's member: a nomination on a filled request is
	// confirmed only with replace; the old holder ends in the same
	// transaction.
	rep := s.accepted(n, r, people[3].GetId(), n.member.GetId(), 1, false)
	_, err = s.coordinator.ConfirmNomination(ctx, &nominationsv1.ConfirmNominationRequest{Id: rep.GetId()})
	wantReason(t, err, "REQUEST_FILLED")
	replaced, err := s.coordinator.ConfirmNomination(ctx, &nominationsv1.ConfirmNominationRequest{Id: rep.GetId(), Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	if replaced.GetNomination().GetState() != nominationsv1.Nomination_STATE_CONFIRMED || replaced.GetNomination().GetSeat() != 1 ||
		replaced.GetReplaced().GetId() != m1.GetId() || replaced.GetReplaced().GetState() != nominationsv1.Nomination_STATE_ENDED ||
		replaced.GetReplaced().GetEndReason() != nominationsv1.Nomination_END_REASON_REPLACED {
		t.Fatalf("replacement: %v", replaced)
	}

	// The deputy of seat 2 resigns (themself); the seat needs a new deputy.
	resigned, err := s.personal(people[2].GetId()).ResignNomination(ctx, &nominationsv1.ResignNominationRequest{Id: d2.GetId(), Note: "muutto"})
	if err != nil {
		t.Fatal(err)
	}
	if resigned.GetNomination().GetState() != nominationsv1.Nomination_STATE_ENDED ||
		resigned.GetNomination().GetEndReason() != nominationsv1.Nomination_END_REASON_RESIGNED || resigned.GetNomination().GetEndTime() == nil {
		t.Fatalf("resigned: %v", resigned.GetNomination())
	}
	view = s.get(r.GetId())
	if st := view.GetSeats()[1]; !st.GetNeedsDeputyNomination() || st.GetNeedsNomination() || st.GetDeputy() != nil {
		t.Fatalf("seat 2 after the deputy resigned: %v", st)
	}
	if rr := view.GetRepresentationRequest(); rr.GetState() != nominationsv1.RepresentationRequest_STATE_FILLED || rr.GetSeatsNeedingNomination() != 1 {
		t.Fatalf("request after a resignation: %v", rr)
	}
	// History: every change with its actor.
	var seen []string
	for _, h := range view.GetHistory() {
		seen = append(seen, h.GetKind()+"."+h.GetChange())
		if h.GetActor().GetId() == "" || h.GetTime() == nil {
			t.Fatalf("history entry without actor or time: %v", h)
		}
	}
	for _, want := range []string{"representation_request.created", "nomination.proposed", "nomination.accepted",
		"nomination.confirmed", "representation_request.filled", "nomination.ended"} {
		if !slices.Contains(seen, want) {
			t.Errorf("history lacks %s: %v", want, seen)
		}
	}
	if h := view.GetHistory()[0]; h.GetChange() != "created" || h.GetActor().GetDisplayName() == "" {
		t.Fatalf("first history entry: %v", h)
	}
	gn, err := s.admin.GetNomination(ctx, &nominationsv1.GetNominationRequest{Id: m1.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	var path []string
	for _, h := range gn.GetHistory() {
		path = append(path, h.GetToState())
	}
	if !slices.Equal(path, []string{"PROPOSED", "ACCEPTED", "CONFIRMED", "ENDED"}) {
		t.Fatalf("history of the replaced nomination: %v", path)
	}
	if gn.GetHistory()[1].GetActor().GetPersonId() != people[0].GetId() {
		t.Fatalf("the nominee accepted themself: %v", gn.GetHistory()[1])
	}

	// The public register.
	reg, err := s.admin.ListRepresentations(ctx, &nominationsv1.ListRepresentationsRequest{PersonId: people[0].GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if len(reg.GetRepresentations()) != 1 || reg.GetRepresentations()[0].GetEndReason() != nominationsv1.Nomination_END_REASON_REPLACED ||
		reg.GetRepresentations()[0].GetBodyName().GetFi() != perhekeskusverkosto || reg.GetRepresentations()[0].GetSeat() != 1 ||
		reg.GetChangeCursor() == "" {
		t.Fatalf("register of a replaced person: %v", reg)
	}
	cur, err := s.as(partnerOf(region)).ListRepresentations(ctx, &nominationsv1.ListRepresentationsRequest{
		AssociationId: n.member.GetId(), CurrentOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var current []string
	for _, x := range cur.GetRepresentations() {
		current = append(current, x.GetId())
	}
	if !slices.Equal(current, []string{d1.GetId(), rep.GetId()}) {
		t.Fatalf("current representations of the association: %v, want %v", current, []string{d1.GetId(), rep.GetId()})
	}
	all, err := s.admin.ListRepresentations(ctx, &nominationsv1.ListRepresentationsRequest{AssociationId: n.member.GetId()})
	if err != nil || len(all.GetRepresentations()) != 4 {
		t.Fatalf("all representations of the association: %v %v", all, err)
	}
	list, err := s.admin.ListNominations(ctx, &nominationsv1.ListNominationsRequest{RepresentationRequestId: r.GetId()})
	if err != nil || len(list.GetNominations()) != 5 || list.GetChangeCursor() == "" {
		t.Fatalf("nominations of the request: %v %v", list, err)
	}

	// The changes: confirmed carries what the working groups service needs;
	// the replaced holder's end comes before its successor's confirmation.
	confirmed := payloadOf(t, nominationChange(t, changes, subjects+"nomination.confirmed", m1.GetId()))
	if confirmed.GetSeat() != 1 || confirmed.GetDeputy() || confirmed.GetPersonId() != people[0].GetId() ||
		confirmed.GetPersonDisplayName() != people[0].GetDisplayName() || confirmed.GetAssociationId() != n.member.GetId() ||
		confirmed.GetWorkingGroupId() != "" || confirmed.GetTermStartTime() == nil || confirmed.GetTermEndTime() == nil ||
		confirmed.GetState() != nominationsv1.Nomination_STATE_CONFIRMED || confirmed.GetRepresentationRequestId() != r.GetId() {
		t.Fatalf("nomination.confirmed payload: %v", confirmed)
	}
	nominationChange(t, changes, subjects+"nomination.ended", d2.GetId())
	changes.Wait(func(list []testenv.Received) bool {
		return countSubject(list, subjects+"representation_request.filled") == 1
	})
	all2 := changes.All()
	endedAt := slices.IndexFunc(all2, func(x testenv.Received) bool {
		return x.Subject == subjects+"nomination.ended" && x.Change.GetAggregateId() == m1.GetId()
	})
	confirmedAt := slices.IndexFunc(all2, func(x testenv.Received) bool {
		return x.Subject == subjects+"nomination.confirmed" && x.Change.GetAggregateId() == rep.GetId()
	})
	if endedAt < 0 || confirmedAt < 0 || endedAt > confirmedAt {
		t.Fatalf("replaced holder's end at %d, successor's confirmation at %d", endedAt, confirmedAt)
	}
	if e := payloadOf(t, all2[endedAt]); e.GetEndReason() != nominationsv1.Nomination_END_REASON_REPLACED || e.GetSeat() != 1 {
		t.Fatalf("nomination.ended payload: %v", e)
	}
	// Versions grow by one per change of an aggregate; no change carries
	// contact details.
	versions := map[string]int64{}
	for _, x := range all2 {
		if x.Change.GetService() != "nominations" {
			continue
		}
		if want := versions[x.Change.GetAggregateId()] + 1; x.Change.GetAggregateVersion() != want {
			t.Errorf("%s of %s has version %d, want %d", x.Subject, x.Change.GetAggregateId(), x.Change.GetAggregateVersion(), want)
		}
		versions[x.Change.GetAggregateId()] = x.Change.GetAggregateVersion()
		b, _ := proto.Marshal(x.Change)
		if bytes.Contains(b, []byte("@example.org")) || bytes.Contains(b, []byte("+358")) {
			t.Errorf("%s carries contact details", x.Subject)
		}
	}
}

// Cancelling a request rejects its pending nominations and ends its
// confirmed ones; nothing further happens on it.
func TestCancelRequest(t *testing.T) {
	s := newSetup(t)
	changes := s.WatchChanges()
	n := s.network(programme)
	people := s.persons(2, n.member.GetId())
	r := s.request(n, 2, false)
	held := s.confirmed(n, r, people[0].GetId(), n.member.GetId(), 1, false)
	waiting := s.nominate(n, r, people[1].GetId(), n.member.GetId(), 2, false)

	_, err := s.coordinator.CancelRepresentationRequest(ctx, &nominationsv1.CancelRepresentationRequestRequest{Id: r.GetId(), Etag: "99"})
	wantCode(t, err, connect.CodeAborted, "stale")
	res, err := s.coordinator.CancelRepresentationRequest(ctx, &nominationsv1.CancelRepresentationRequestRequest{
		Id: r.GetId(), Reason: "Verkosto lakkautettiin"})
	if err != nil {
		t.Fatal(err)
	}
	if c := res.GetRepresentationRequest(); c.GetState() != nominationsv1.RepresentationRequest_STATE_CANCELLED ||
		c.GetCancelReason() != "Verkosto lakkautettiin" || c.GetStateTime() == nil || c.GetSeatsNeedingNomination() != 0 {
		t.Fatalf("cancelled: %v", c)
	}
	if x := s.nomination(held.GetId()); x.GetState() != nominationsv1.Nomination_STATE_ENDED ||
		x.GetEndReason() != nominationsv1.Nomination_END_REASON_REQUEST_CANCELLED {
		t.Fatalf("confirmed nomination of a cancelled request: %v", x)
	}
	if x := s.nomination(waiting.GetId()); x.GetState() != nominationsv1.Nomination_STATE_REJECTED || x.GetDecisionNote() == "" {
		t.Fatalf("pending nomination of a cancelled request: %v", x)
	}
	nominationChange(t, changes, subjects+"nomination.ended", held.GetId())
	nominationChange(t, changes, subjects+"nomination.rejected", waiting.GetId())
	changes.WaitFor(subjects + "representation_request.cancelled")

	_, err = s.coordinator.CancelRepresentationRequest(ctx, &nominationsv1.CancelRepresentationRequestRequest{Id: r.GetId()})
	wantReason(t, err, "INVALID_STATE", "it is CANCELLED")
	_, err = n.leader.CreateNomination(ctx, &nominationsv1.CreateNominationRequest{Nomination: &nominationsv1.Nomination{
		RepresentationRequestId: r.GetId(), PersonId: people[1].GetId(), AssociationId: n.member.GetId()}})
	wantReason(t, err, "INVALID_STATE", "it is CANCELLED")
}
