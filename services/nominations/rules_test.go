package nominations_test

import (
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	nominationsv1 "github.com/verkosto/verkosto/gen/verkosto/nominations/v1"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/ids"
)

// Every transition a state does not allow is FAILED_PRECONDITION
// INVALID_STATE naming the current state, whoever may otherwise act.
func TestForbiddenTransitions(t *testing.T) {
	s := newSetup(t)
	n := s.network(programme)
	people := s.persons(7, n.member.GetId())
	r := s.request(n, 5, false)
	a := n.member.GetId()

	byState := map[string]*nominationsv1.Nomination{}
	byState["PROPOSED"] = s.nominate(n, r, people[0].GetId(), a, 0, false)
	byState["ACCEPTED"] = s.accepted(n, r, people[1].GetId(), a, 0, false)
	declined := s.nominate(n, r, people[2].GetId(), a, 0, false)
	if _, err := s.personal(people[2].GetId()).DeclineNomination(ctx, &nominationsv1.DeclineNominationRequest{Id: declined.GetId(), Note: "ei aikaa"}); err != nil {
		t.Fatal(err)
	}
	byState["DECLINED"] = declined
	byState["CONFIRMED"] = s.confirmed(n, r, people[3].GetId(), a, 1, false)
	rejected := s.accepted(n, r, people[4].GetId(), a, 0, false)
	if _, err := s.coordinator.RejectNomination(ctx, &nominationsv1.RejectNominationRequest{Id: rejected.GetId()}); err != nil {
		t.Fatal(err)
	}
	byState["REJECTED"] = rejected
	withdrawn := s.nominate(n, r, people[5].GetId(), a, 0, false)
	if _, err := n.leader.WithdrawNomination(ctx, &nominationsv1.WithdrawNominationRequest{Id: withdrawn.GetId()}); err != nil {
		t.Fatal(err)
	}
	byState["WITHDRAWN"] = withdrawn
	ended := s.confirmed(n, r, people[6].GetId(), a, 2, false)
	if _, err := s.contact(a).ResignNomination(ctx, &nominationsv1.ResignNominationRequest{Id: ended.GetId()}); err != nil {
		t.Fatal(err)
	}
	byState["ENDED"] = ended
	for st, x := range byState {
		if got := s.nomination(x.GetId()).GetState().String(); got != "STATE_"+st {
			t.Fatalf("nomination meant to be %s is %s", st, got)
		}
	}

	contact := s.contact(a)
	actions := []struct {
		name    string
		allowed []string
		do      func(id string) error
	}{
		{"accept", []string{"PROPOSED"}, func(id string) error {
			_, err := contact.AcceptNomination(ctx, &nominationsv1.AcceptNominationRequest{Id: id})
			return err
		}},
		{"decline", []string{"PROPOSED", "ACCEPTED"}, func(id string) error {
			_, err := contact.DeclineNomination(ctx, &nominationsv1.DeclineNominationRequest{Id: id})
			return err
		}},
		{"withdraw", []string{"PROPOSED", "ACCEPTED"}, func(id string) error {
			_, err := n.leader.WithdrawNomination(ctx, &nominationsv1.WithdrawNominationRequest{Id: id})
			return err
		}},
		{"confirm", []string{"ACCEPTED"}, func(id string) error {
			_, err := s.coordinator.ConfirmNomination(ctx, &nominationsv1.ConfirmNominationRequest{Id: id})
			return err
		}},
		{"reject", []string{"PROPOSED", "ACCEPTED"}, func(id string) error {
			_, err := s.coordinator.RejectNomination(ctx, &nominationsv1.RejectNominationRequest{Id: id})
			return err
		}},
		{"resign", []string{"CONFIRMED"}, func(id string) error {
			_, err := contact.ResignNomination(ctx, &nominationsv1.ResignNominationRequest{Id: id})
			return err
		}},
	}
	checked := 0
	for _, act := range actions {
		for st, x := range byState {
			if strings.Contains(strings.Join(act.allowed, ","), st) {
				continue
			}
			t.Run(act.name+"_"+st, func(t *testing.T) {
				wantReason(t, act.do(x.GetId()), "INVALID_STATE", "cannot "+act.name, "it is "+st)
			})
			checked++
		}
	}
	if checked != 6*7-9 {
		t.Fatalf("%d forbidden transitions checked", checked)
	}
	// Nothing changed.
	for st, x := range byState {
		if got := s.nomination(x.GetId()); got.GetState().String() != "STATE_"+st {
			t.Fatalf("a refused transition changed %s to %s", st, got.GetState())
		}
	}
	// A stale etag is ABORTED.
	_, err := contact.AcceptNomination(ctx, &nominationsv1.AcceptNominationRequest{Id: byState["PROPOSED"].GetId(), Etag: "7"})
	wantCode(t, err, connect.CodeAborted, "stale")
	_, err = s.admin.GetNomination(ctx, &nominationsv1.GetNominationRequest{Id: ids.New()})
	wantCode(t, err, connect.CodeNotFound)
	_, err = contact.AcceptNomination(ctx, &nominationsv1.AcceptNominationRequest{Id: ids.New()})
	wantCode(t, err, connect.CodeNotFound)
}

// Validation errors name every invalid field at once.
func TestValidation(t *testing.T) {
	s := newSetup(t)
	n := s.network(programme)
	p := s.persons(1, n.member.GetId())[0]
	stranger := s.persons(1, n.outsider.GetId())[0]

	_, err := s.coordinator.CreateRepresentationRequest(ctx, &nominationsv1.CreateRepresentationRequestRequest{
		RepresentationRequest: &nominationsv1.RepresentationRequest{}})
	wantFields(t, err, "representation_request.body_name.fi", "representation_request.region", "representation_request.programme",
		"representation_request.network_id", "representation_request.seats", "representation_request.description.fi",
		"representation_request.nomination_deadline_time", "representation_request.term_start_time", "representation_request.term_end_time")

	now := s.Clock.Now()
	bad := s.newRequest(n, 101, false)
	bad.Region = "Pohjois Pohjanmaa"
	bad.WorkingGroupId = "ryhmä"
	bad.NominationDeadlineTime = timestamppb.New(now.Add(-time.Hour))
	bad.TermEndTime = timestamppb.New(bad.GetTermStartTime().AsTime().Add(-time.Hour))
	bad.State = nominationsv1.RepresentationRequest_STATE_FILLED
	bad.Etag = "3"
	_, err = s.coordinator.CreateRepresentationRequest(ctx, &nominationsv1.CreateRepresentationRequestRequest{RepresentationRequest: bad})
	wantFields(t, err, "representation_request.seats", "representation_request.region", "representation_request.working_group_id",
		"representation_request.nomination_deadline_time", "representation_request.term_end_time",
		"representation_request.state", "representation_request.etag")

	unknown := s.newRequest(n, 1, false)
	unknown.NetworkId = ids.New()
	_, err = s.coordinator.CreateRepresentationRequest(ctx, &nominationsv1.CreateRepresentationRequestRequest{RepresentationRequest: unknown})
	wantReason(t, err, "NETWORK_NOT_FOUND", unknown.GetNetworkId())

	// Idempotent creation: a retry returns the first request; the same id
	// with another request is refused.
	pkv := s.newRequest(n, 1, false)
	first, err := s.coordinator.CreateRepresentationRequest(ctx, &nominationsv1.CreateRepresentationRequestRequest{
		RepresentationRequest: pkv, RequestId: "pkv-2026"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.coordinator.CreateRepresentationRequest(ctx, &nominationsv1.CreateRepresentationRequestRequest{
		RepresentationRequest: pkv, RequestId: "pkv-2026"})
	if err != nil || again.GetRepresentationRequest().GetId() != first.GetRepresentationRequest().GetId() {
		t.Fatalf("retry: %v %v", again, err)
	}
	pkv.Seats = 2
	_, err = s.coordinator.CreateRepresentationRequest(ctx, &nominationsv1.CreateRepresentationRequestRequest{
		RepresentationRequest: pkv, RequestId: "pkv-2026"})
	wantFields(t, err, "request_id")
	r := first.GetRepresentationRequest()

	_, err = n.leader.CreateNomination(ctx, &nominationsv1.CreateNominationRequest{Nomination: &nominationsv1.Nomination{Seat: -1,
		PersonDisplayName: "Itse Keksitty", State: nominationsv1.Nomination_STATE_CONFIRMED, Note: strings.Repeat("x", 2001)}})
	wantFields(t, err, "nomination.representation_request_id", "nomination.person_id", "nomination.association_id",
		"nomination.seat", "nomination.person_display_name", "nomination.state", "nomination.note")
	nominate := func(personID, associationID string, seat int32, deputy bool) error {
		_, err := n.leader.CreateNomination(ctx, &nominationsv1.CreateNominationRequest{Nomination: &nominationsv1.Nomination{
			RepresentationRequestId: r.GetId(), PersonId: personID, AssociationId: associationID, Seat: seat, Deputy: deputy}})
		return err
	}
	wantFields(t, nominate(p.GetId(), n.member.GetId(), 2, false), "nomination.seat")
	wantFields(t, nominate(p.GetId(), n.member.GetId(), 1, true), "nomination.deputy")
	wantReason(t, nominate(stranger.GetId(), n.outsider.GetId(), 1, false), "NOT_ACTIVE_MEMBER")
	wantReason(t, nominate(stranger.GetId(), n.member.GetId(), 1, false), "NOT_AFFILIATED")
	wantReason(t, nominate(ids.New(), n.member.GetId(), 1, false), "PERSON_NOT_FOUND")
	_, err = n.leader.CreateNomination(ctx, &nominationsv1.CreateNominationRequest{Nomination: &nominationsv1.Nomination{
		RepresentationRequestId: ids.New(), PersonId: p.GetId(), AssociationId: n.member.GetId()}})
	wantCode(t, err, connect.CodeNotFound)

	// Reads.
	_, err = s.admin.GetRepresentationRequest(ctx, &nominationsv1.GetRepresentationRequestRequest{Id: "17"})
	wantFields(t, err, "id")
	_, err = s.admin.GetRepresentationRequest(ctx, &nominationsv1.GetRepresentationRequestRequest{Id: ids.New()})
	wantCode(t, err, connect.CodeNotFound)
	_, err = s.admin.ListRepresentationRequests(ctx, &nominationsv1.ListRepresentationRequestsRequest{PageSize: -1})
	wantCode(t, err, connect.CodeInvalidArgument)
	_, err = s.admin.ListRepresentationRequests(ctx, &nominationsv1.ListRepresentationRequestsRequest{State: 42, NetworkId: "x"})
	wantFields(t, err, "state", "network_id")
	_, err = s.admin.ListRepresentations(ctx, &nominationsv1.ListRepresentationsRequest{})
	wantFields(t, err, "person_id")
	_, err = s.admin.ListNominations(ctx, &nominationsv1.ListNominationsRequest{State: 99})
	wantFields(t, err, "state")
	_, err = s.coordinator.ConfirmNomination(ctx, &nominationsv1.ConfirmNominationRequest{})
	wantFields(t, err, "id")
	_, err = s.coordinator.CancelRepresentationRequest(ctx, &nominationsv1.CancelRepresentationRequestRequest{Id: r.GetId(),
		Reason: strings.Repeat("y", 2001)})
	wantFields(t, err, "reason")

	// Paging, with filters bound to the token.
	for range 2 {
		s.request(n, 1, false)
	}
	page1, err := s.admin.ListRepresentationRequests(ctx, &nominationsv1.ListRepresentationRequestsRequest{
		NetworkId: n.net.GetId(), PageSize: 2})
	if err != nil || len(page1.GetRepresentationRequests()) != 2 || page1.GetNextPageToken() == "" || page1.GetChangeCursor() == "" {
		t.Fatalf("first page: %v %v", page1, err)
	}
	page2, err := s.admin.ListRepresentationRequests(ctx, &nominationsv1.ListRepresentationRequestsRequest{
		NetworkId: n.net.GetId(), PageSize: 2, PageToken: page1.GetNextPageToken()})
	if err != nil || len(page2.GetRepresentationRequests()) != 1 || page2.GetNextPageToken() != "" || page2.GetChangeCursor() != "" {
		t.Fatalf("second page: %v %v", page2, err)
	}
	_, err = s.admin.ListRepresentationRequests(ctx, &nominationsv1.ListRepresentationRequestsRequest{
		Region: region, PageSize: 2, PageToken: page1.GetNextPageToken()})
	wantFields(t, err, "page_token")
	open, err := s.admin.ListRepresentationRequests(ctx, &nominationsv1.ListRepresentationRequestsRequest{
		NetworkId: n.net.GetId(), State: nominationsv1.RepresentationRequest_STATE_OPEN, Region: region, Programme: programme})
	if err != nil || len(open.GetRepresentationRequests()) != 3 {
		t.Fatalf("a network's open requests: %v %v", open, err)
	}
	none, err := s.admin.ListRepresentationRequests(ctx, &nominationsv1.ListRepresentationRequestsRequest{
		NetworkId: n.net.GetId(), State: nominationsv1.RepresentationRequest_STATE_FILLED})
	if err != nil || len(none.GetRepresentationRequests()) != 0 {
		t.Fatalf("filled requests: %v %v", none, err)
	}
}

// Who may do what, against the resource: leaders of another network,
// coordinators of another programme or region, partners, contacts of
// another association, persons other than the nominee.
func TestPermissions(t *testing.T) {
	s := newSetup(t)
	n := s.network(programme)
	other := s.network("ikaihmiset")
	people := s.persons(3, n.member.GetId())
	r := s.request(n, 3, false)
	proposed := s.nominate(n, r, people[0].GetId(), n.member.GetId(), 0, false)
	accepted := s.accepted(n, r, people[1].GetId(), n.member.GetId(), 0, false)
	confirmed := s.confirmed(n, r, people[2].GetId(), n.member.GetId(), 0, false)
	nominate := func(c client, personID string) error {
		_, err := c.CreateNomination(ctx, &nominationsv1.CreateNominationRequest{Nomination: &nominationsv1.Nomination{
			RepresentationRequestId: r.GetId(), PersonId: personID, AssociationId: n.member.GetId()}})
		return err
	}
	fresh := s.persons(1, n.member.GetId())[0]

	// Nominating: the leader of another network, a leader credential of
	// this network without a person, of a person who is not its leader, and
	// admins and coordinators (not leaders at all) are refused.
	wantCode(t, nominate(other.leader, fresh.GetId()), connect.CodePermissionDenied, "current leader of network "+n.net.GetId())
	wantCode(t, nominate(s.as(auth.Binding{Role: auth.RoleLeader, Network: n.net.GetId()}), fresh.GetId()),
		connect.CodePermissionDenied, "person")
	impostor := s.client(s.TokenFor(people[0].GetId(), auth.Binding{Role: auth.RoleLeader, Network: n.net.GetId()}))
	wantCode(t, nominate(impostor, fresh.GetId()), connect.CodePermissionDenied, "current leader")
	wantCode(t, nominate(s.admin, fresh.GetId()), connect.CodePermissionDenied)
	wantCode(t, nominate(s.coordinator, fresh.GetId()), connect.CodePermissionDenied)
	_, err := other.leader.WithdrawNomination(ctx, &nominationsv1.WithdrawNominationRequest{Id: proposed.GetId()})
	wantCode(t, err, connect.CodePermissionDenied, "current leader of the nominating network")

	// Requester's decisions: coordinators of another programme or region are refused.
	otherProgramme := s.as(auth.Binding{Role: auth.RoleCoordinator, Region: region, Programme: "ikaihmiset"})
	otherRegion := s.as(auth.Binding{Role: auth.RoleCoordinator, Region: "lappi", Programme: programme})
	for name, c := range map[string]client{"other programme": otherProgramme, "other region": otherRegion, "leader": n.leader,
		"partner": s.as(partnerOf(region)), "association": s.contact(n.member.GetId())} {
		_, err := c.CreateRepresentationRequest(ctx, &nominationsv1.CreateRepresentationRequestRequest{RepresentationRequest: s.newRequest(n, 1, false)})
		wantCode(t, err, connect.CodePermissionDenied)
		_, err = c.ConfirmNomination(ctx, &nominationsv1.ConfirmNominationRequest{Id: accepted.GetId()})
		wantCode(t, err, connect.CodePermissionDenied)
		_, err = c.RejectNomination(ctx, &nominationsv1.RejectNominationRequest{Id: accepted.GetId()})
		wantCode(t, err, connect.CodePermissionDenied)
		_, err = c.CancelRepresentationRequest(ctx, &nominationsv1.CancelRepresentationRequestRequest{Id: r.GetId()})
		wantCode(t, err, connect.CodePermissionDenied)
		t.Logf("%s: refused create, confirm, reject, cancel", name)
	}

	// Consent and resignation: the contact of another association, another
	// person, the network's leader and the coordinator are refused.
	for name, c := range map[string]client{"contact of another association": s.contact(n.member2.GetId()),
		"another person": s.personal(people[1].GetId()), "leader": n.leader, "coordinator": s.coordinator, "admin": s.admin} {
		_, err := c.AcceptNomination(ctx, &nominationsv1.AcceptNominationRequest{Id: proposed.GetId()})
		wantCode(t, err, connect.CodePermissionDenied, "nominee")
		_, err = c.DeclineNomination(ctx, &nominationsv1.DeclineNominationRequest{Id: proposed.GetId()})
		wantCode(t, err, connect.CodePermissionDenied)
		_, err = c.ResignNomination(ctx, &nominationsv1.ResignNominationRequest{Id: confirmed.GetId()})
		wantCode(t, err, connect.CodePermissionDenied)
		t.Logf("%s: refused accept, decline, resign", name)
	}
	_, err = s.as(partnerOf(region)).AcceptNomination(ctx, &nominationsv1.AcceptNominationRequest{Id: proposed.GetId()})
	wantCode(t, err, connect.CodePermissionDenied)
	if x := s.nomination(proposed.GetId()); x.GetState() != nominationsv1.Nomination_STATE_PROPOSED {
		t.Fatalf("refused calls changed the nomination: %v", x)
	}

	// Reads: partners only within their region × programme.
	inScope := s.as(auth.Binding{Role: auth.RolePartner, Region: region, Programme: programme})
	outOfScope := s.as(auth.Binding{Role: auth.RolePartner, Region: "lappi"})
	otherProg := s.as(auth.Binding{Role: auth.RolePartner, Region: region, Programme: "ikaihmiset"})
	if _, err := inScope.GetRepresentationRequest(ctx, &nominationsv1.GetRepresentationRequestRequest{Id: r.GetId()}); err != nil {
		t.Fatalf("partner in scope: %v", err)
	}
	for _, c := range []client{outOfScope, otherProg} {
		_, err := c.GetRepresentationRequest(ctx, &nominationsv1.GetRepresentationRequestRequest{Id: r.GetId()})
		wantCode(t, err, connect.CodePermissionDenied, "does not cover")
		_, err = c.GetNomination(ctx, &nominationsv1.GetNominationRequest{Id: confirmed.GetId()})
		wantCode(t, err, connect.CodePermissionDenied)
		list, err := c.ListRepresentationRequests(ctx, &nominationsv1.ListRepresentationRequestsRequest{})
		if err != nil || len(list.GetRepresentationRequests()) != 0 {
			t.Fatalf("partner out of scope lists: %v %v", list, err)
		}
		reg, err := c.ListRepresentations(ctx, &nominationsv1.ListRepresentationsRequest{PersonId: people[2].GetId()})
		if err != nil || len(reg.GetRepresentations()) != 0 {
			t.Fatalf("partner out of scope reads the register: %v %v", reg, err)
		}
		noms, err := c.ListNominations(ctx, &nominationsv1.ListNominationsRequest{RepresentationRequestId: r.GetId()})
		if err != nil || len(noms.GetNominations()) != 0 {
			t.Fatalf("partner out of scope lists nominations: %v %v", noms, err)
		}
	}
	reg, err := inScope.ListRepresentations(ctx, &nominationsv1.ListRepresentationsRequest{PersonId: people[2].GetId()})
	if err != nil || len(reg.GetRepresentations()) != 1 {
		t.Fatalf("partner in scope reads the register: %v %v", reg, err)
	}
	// Everyone taking part reads everything: a contact of an unrelated association.
	if _, err := s.contact(other.member.GetId()).GetRepresentationRequest(ctx,
		&nominationsv1.GetRepresentationRequestRequest{Id: r.GetId()}); err != nil {
		t.Fatal(err)
	}
	// The leader of another network cannot nominate into a request of its
	// own programme addressed to this network either: requests name one network.
	wantCode(t, nominate(other.leader, fresh.GetId()), connect.CodePermissionDenied)
}
