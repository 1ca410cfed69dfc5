package networks_test

import (
	"sync"
	"testing"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"

	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/internal/auth"
)

func TestNetworkOnePerRegionAndProgramme(t *testing.T) {
	s := newSetup(t)
	coordinator := s.as(auth.Binding{Role: auth.RoleCoordinator, Region: region, Programme: "lape"})
	req := &networksv1.CreateNetworkRequest{Network: &networksv1.Network{Region: region, Programme: "lape"}}
	n, err := coordinator.CreateNetwork(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if n.GetNetwork().GetMaxLeaders() != 2 {
		t.Fatalf("max_leaders default: %d", n.GetNetwork().GetMaxLeaders())
	}
	_, err = coordinator.CreateNetwork(ctx, req)
	wantCode(t, err, connect.CodeAlreadyExists, region, "lape")
	_, err = coordinator.CreateNetwork(ctx, &networksv1.CreateNetworkRequest{Network: &networksv1.Network{Region: region, Programme: "ikaihmiset"}})
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = s.admin.CreateNetwork(ctx, &networksv1.CreateNetworkRequest{Network: &networksv1.Network{Region: "atlantis", Programme: "lape"}})
	wantCode(t, err, connect.CodeInvalidArgument, "network.region")
}

func TestMembershipLifecycle(t *testing.T) {
	s := newSetup(t)
	changes := s.WatchChanges()
	n := s.network("lape")
	other := s.network("ikaihmiset")
	a := s.association("Mannerheimin Lastensuojeluliiton Pohjois-Pohjanmaan piiri")
	contact := s.as(auth.Binding{Role: auth.RoleAssociation, Association: a.GetId()})
	leader := s.as(auth.Binding{Role: auth.RoleLeader, Network: n.GetId()})

	applied, err := contact.ApplyMembership(ctx, &networksv1.ApplyMembershipRequest{NetworkId: n.GetId(), AssociationId: a.GetId(), ApplicationNote: "Haemme"})
	if err != nil {
		t.Fatal(err)
	}
	m := applied.GetMembership()
	if m.GetState() != networksv1.Membership_STATE_PENDING {
		t.Fatalf("state %v", m.GetState())
	}
	_, err = contact.ApplyMembership(ctx, &networksv1.ApplyMembershipRequest{NetworkId: n.GetId(), AssociationId: a.GetId()})
	wantCode(t, err, connect.CodeAlreadyExists)

	// Who may not decide: the applicant, a leader of another network, a
	// coordinator of another programme, a partner.
	for name, c := range map[string]interface {
		ApproveMembership(ctx2 ctxT, r *networksv1.ApproveMembershipRequest) (*networksv1.ApproveMembershipResponse, error)
	}{
		"applicant":         contact,
		"other leader":      s.as(auth.Binding{Role: auth.RoleLeader, Network: other.GetId()}),
		"other coordinator": s.as(auth.Binding{Role: auth.RoleCoordinator, Region: region, Programme: "ikaihmiset"}),
		"other region":      s.as(auth.Binding{Role: auth.RoleCoordinator, Region: "lappi", Programme: "lape"}),
		"partner":           s.as(auth.Binding{Role: auth.RolePartner, Region: region}),
	} {
		_, err := c.ApproveMembership(ctx, &networksv1.ApproveMembershipRequest{Id: m.GetId()})
		t.Run(name, func(t *testing.T) { wantCode(t, err, connect.CodePermissionDenied) })
	}
	_, err = leader.ApproveMembership(ctx, &networksv1.ApproveMembershipRequest{Id: m.GetId(), Etag: "999"})
	wantCode(t, err, connect.CodeAborted)

	approved, err := leader.ApproveMembership(ctx, &networksv1.ApproveMembershipRequest{Id: m.GetId(), Etag: m.GetEtag()})
	if err != nil {
		t.Fatal(err)
	}
	if approved.GetMembership().GetState() != networksv1.Membership_STATE_ACTIVE || approved.GetMembership().GetDecideTime() == nil {
		t.Fatalf("approved: %v", approved.GetMembership())
	}

	// Forbidden transitions name the current state.
	_, err = leader.ApproveMembership(ctx, &networksv1.ApproveMembershipRequest{Id: m.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "ACTIVE")
	_, err = leader.RejectMembership(ctx, &networksv1.RejectMembershipRequest{Id: m.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "ACTIVE")

	// The change reaches NATS once, on the documented subject, with the membership.
	got := changes.WaitFor("verkosto.changes.pohjois-pohjanmaa.lape.network.member_approved")
	var payload networksv1.Membership
	if err := got.Change.GetPayload().UnmarshalTo(&payload); err != nil {
		t.Fatal(err)
	}
	if payload.GetId() != m.GetId() || payload.GetState() != networksv1.Membership_STATE_ACTIVE || got.MsgID != got.Change.GetId() {
		t.Fatalf("change: %v payload %v", got.Change, &payload)
	}
	if got.Change.GetRegion() != region || got.Change.GetProgramme() != "lape" || got.Change.GetAggregateVersion() != 2 {
		t.Fatalf("envelope: %v", got.Change)
	}

	left, err := contact.LeaveMembership(ctx, &networksv1.LeaveMembershipRequest{Id: m.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if left.GetMembership().GetState() != networksv1.Membership_STATE_LEFT {
		t.Fatalf("left: %v", left.GetMembership())
	}
	_, err = leader.RemoveMembership(ctx, &networksv1.RemoveMembershipRequest{Id: m.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "LEFT")
	_, err = contact.LeaveMembership(ctx, &networksv1.LeaveMembershipRequest{Id: m.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "LEFT")

	// After leaving, the association may apply again; the leader rejects.
	again, err := contact.ApplyMembership(ctx, &networksv1.ApplyMembershipRequest{NetworkId: n.GetId(), AssociationId: a.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	rejected, err := leader.RejectMembership(ctx, &networksv1.RejectMembershipRequest{Id: again.GetMembership().GetId(), DecisionNote: "Ei toimintaa alueella"})
	if err != nil || rejected.GetMembership().GetState() != networksv1.Membership_STATE_REJECTED {
		t.Fatalf("reject: %v %v", rejected, err)
	}

	changes.Wait(func(list []testenvReceived) bool { return len(list) >= 8 })
	seen := map[string]int{}
	for _, r := range changes.All() {
		seen[r.Change.GetId()]++
		if seen[r.Change.GetId()] > 1 {
			t.Fatalf("change %s delivered twice", r.Change.GetId())
		}
	}
	var subjects []string
	for _, r := range changes.All() {
		if r.Change.GetAggregateId() == m.GetId() {
			subjects = append(subjects, r.Change.GetChange())
		}
	}
	want := []string{"member_applied", "member_approved", "member_left"}
	if !equal(subjects, want) {
		t.Fatalf("membership changes %v, want %v", subjects, want)
	}
}

func TestMembershipReads(t *testing.T) {
	s := newSetup(t)
	n := s.network("lape")
	far := s.network("mielenterveys")
	for i := range 7 {
		s.member(n.GetId(), s.association("Yhdistys "+string(rune('A'+i))).GetId())
	}
	s.member(far.GetId(), s.association("Muu").GetId())

	// Paging through active members, three at a time.
	partner := s.as(auth.Binding{Role: auth.RolePartner, Region: region, Programme: "lape"})
	var ids []string
	token := ""
	for {
		res, err := partner.ListMemberships(ctx, &networksv1.ListMembershipsRequest{NetworkId: n.GetId(), PageSize: 3, PageToken: token,
			State: networksv1.Membership_STATE_ACTIVE})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range res.GetMemberships() {
			ids = append(ids, m.GetId())
		}
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(ids) != 7 {
		t.Fatalf("paged %d memberships, want 7", len(ids))
	}
	// The partner's scope hides the mielenterveys network.
	all, err := partner.ListMemberships(ctx, &networksv1.ListMembershipsRequest{})
	if err != nil || len(all.GetMemberships()) != 7 {
		t.Fatalf("partner sees %d memberships (want 7): %v", len(all.GetMemberships()), err)
	}
	_, err = partner.GetNetwork(ctx, &networksv1.GetNetworkRequest{Id: far.GetId()})
	wantCode(t, err, connect.CodePermissionDenied)
	got, err := partner.GetNetwork(ctx, &networksv1.GetNetworkRequest{Id: n.GetId()})
	if err != nil || got.GetNetwork().GetActiveMemberCount() != 7 {
		t.Fatalf("network: %v %v", got, err)
	}
	// Bad paging input names the field.
	_, err = partner.ListMemberships(ctx, &networksv1.ListMembershipsRequest{PageSize: -1})
	wantCode(t, err, connect.CodeInvalidArgument, "page_size")
	_, err = partner.ListMemberships(ctx, &networksv1.ListMembershipsRequest{PageToken: "garbage!"})
	wantCode(t, err, connect.CodeInvalidArgument, "page_token")
	first, _ := partner.ListMemberships(ctx, &networksv1.ListMembershipsRequest{NetworkId: n.GetId(), PageSize: 2})
	_, err = partner.ListMemberships(ctx, &networksv1.ListMembershipsRequest{NetworkId: far.GetId(), PageSize: 2, PageToken: first.GetNextPageToken()})
	wantCode(t, err, connect.CodeInvalidArgument, "page_token")
	_, err = partner.GetMembership(ctx, &networksv1.GetMembershipRequest{Id: "not-a-uuid"})
	wantCode(t, err, connect.CodeInvalidArgument, "id")
	_, err = partner.GetMembership(ctx, &networksv1.GetMembershipRequest{Id: "01900000-0000-7000-8000-000000000000"})
	wantCode(t, err, connect.CodeNotFound)
}

func TestLeadersNeverExceedMax(t *testing.T) {
	s := newSetup(t)
	changes := s.WatchChanges()
	n := s.network("ikaihmiset")
	a := s.association("Oulun seudun muistiyhdistys")
	outsider := s.association("Ei jäsen")
	s.member(n.GetId(), a.GetId())
	coordinator := s.as(auth.Binding{Role: auth.RoleCoordinator, Region: region, Programme: "ikaihmiset"})

	// Preconditions: the person must act for an active member association.
	p0 := s.person("Outi", outsider.GetId())
	_, err := coordinator.AppointLeader(ctx, &networksv1.AppointLeaderRequest{NetworkId: n.GetId(), PersonId: p0.GetId(), AssociationId: outsider.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "not an active member")
	_, err = coordinator.AppointLeader(ctx, &networksv1.AppointLeaderRequest{NetworkId: n.GetId(), PersonId: p0.GetId(), AssociationId: a.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "does not act for")
	_, err = s.as(auth.Binding{Role: auth.RoleLeader, Network: n.GetId()}).AppointLeader(ctx,
		&networksv1.AppointLeaderRequest{NetworkId: n.GetId(), PersonId: p0.GetId(), AssociationId: a.GetId()})
	wantCode(t, err, connect.CodePermissionDenied)

	const candidates = 8
	var people []string
	for i := range candidates {
		people = append(people, s.person("Henkilö"+string(rune('A'+i)), a.GetId()).GetId())
	}
	var wg sync.WaitGroup
	errs := make([]error, candidates)
	for i, id := range people {
		wg.Go(func() {
			_, errs[i] = coordinator.AppointLeader(ctx, &networksv1.AppointLeaderRequest{NetworkId: n.GetId(), PersonId: id, AssociationId: a.GetId()})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
			continue
		}
		wantCode(t, err, connect.CodeFailedPrecondition, "at most 2 leaders")
	}
	if ok != 2 {
		t.Fatalf("%d concurrent appointments succeeded, want exactly 2", ok)
	}
	active, err := coordinator.ListLeaders(ctx, &networksv1.ListLeadersRequest{NetworkId: n.GetId(), State: networksv1.Leader_STATE_ACTIVE})
	if err != nil || len(active.GetLeaders()) != 2 {
		t.Fatalf("active leaders %v %v", active, err)
	}
	// Ending a term frees a place; ending it twice is refused.
	l := active.GetLeaders()[0]
	ended, err := coordinator.EndLeaderTerm(ctx, &networksv1.EndLeaderTermRequest{Id: l.GetId(), Etag: l.GetEtag()})
	if err != nil || ended.GetLeader().GetState() != networksv1.Leader_STATE_ENDED {
		t.Fatalf("end term: %v %v", ended, err)
	}
	_, err = coordinator.EndLeaderTerm(ctx, &networksv1.EndLeaderTermRequest{Id: l.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "ENDED")
	changes.WaitFor("verkosto.changes.pohjois-pohjanmaa.ikaihmiset.network.leader_term_ended")
	if n := countSubject(changes.All(), "verkosto.changes.pohjois-pohjanmaa.ikaihmiset.network.leader_appointed"); n != 2 {
		t.Fatalf("%d leader_appointed changes, want 2", n)
	}
}

func TestLeaderEndsWhenAssociationLeaves(t *testing.T) {
	s := newSetup(t)
	n := s.network("lape")
	a := s.association("ADHD-liitto")
	m := s.member(n.GetId(), a.GetId())
	p := s.person("Aino", a.GetId())
	l, err := s.admin.AppointLeader(ctx, &networksv1.AppointLeaderRequest{NetworkId: n.GetId(), PersonId: p.GetId(), AssociationId: a.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.admin.RemoveMembership(ctx, &networksv1.RemoveMembershipRequest{Id: m.GetId(), DecisionNote: "Toiminta päättyi"}); err != nil {
		t.Fatal(err)
	}
	res, err := s.admin.ListLeaders(ctx, &networksv1.ListLeadersRequest{PersonId: p.GetId()})
	if err != nil || len(res.GetLeaders()) != 1 || res.GetLeaders()[0].GetState() != networksv1.Leader_STATE_ENDED {
		t.Fatalf("leader %s after removal: %v %v", l.GetLeader().GetId(), res, err)
	}
}

func TestPersonsArePersonalData(t *testing.T) {
	s := newSetup(t)
	changes := s.WatchChanges()
	a := s.association("Psoriasisliitto")
	b := s.association("Invalidiliitto")
	p := s.person("Eero", a.GetId())
	got := changes.WaitFor("verkosto.changes._._.person.created")
	var payload networksv1.Person
	if err := got.Change.GetPayload().UnmarshalTo(&payload); err != nil {
		t.Fatal(err)
	}
	if payload.GetEmail() != "" || payload.GetPhone() != "" || payload.GetDisplayName() != "Eero Virtanen" {
		t.Fatalf("person change carries contact details: %v", &payload)
	}
	// Readers: the person's association contact yes; another association's
	// contact and partners no.
	if _, err := s.as(auth.Binding{Role: auth.RoleAssociation, Association: a.GetId()}).GetPerson(ctx, &networksv1.GetPersonRequest{Id: p.GetId()}); err != nil {
		t.Fatal(err)
	}
	_, err := s.as(auth.Binding{Role: auth.RoleAssociation, Association: b.GetId()}).GetPerson(ctx, &networksv1.GetPersonRequest{Id: p.GetId()})
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = s.as(auth.Binding{Role: auth.RolePartner}).GetPerson(ctx, &networksv1.GetPersonRequest{Id: p.GetId()})
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = s.as(auth.Binding{Role: auth.RolePartner}).ListPersons(ctx, &networksv1.ListPersonsRequest{})
	wantCode(t, err, connect.CodePermissionDenied)
	// A coordinator reaches only persons of associations taking part in
	// their networks: Eero's association is in none.
	coord := s.as(auth.Binding{Role: auth.RoleCoordinator, Region: region, Programme: "lape"})
	if res, err := coord.ListPersons(ctx, &networksv1.ListPersonsRequest{}); err != nil || len(res.GetPersons()) != 0 {
		t.Fatalf("coordinator lists persons beyond their networks: %v %v", res, err)
	}
	_, err = coord.GetPerson(ctx, &networksv1.GetPersonRequest{Id: p.GetId()})
	wantCode(t, err, connect.CodePermissionDenied)
	n := s.network("lape")
	s.member(n.GetId(), a.GetId())
	if res, err := coord.ListPersons(ctx, &networksv1.ListPersonsRequest{}); err != nil || len(res.GetPersons()) != 1 {
		t.Fatalf("coordinator does not see the person of a member association: %v %v", res, err)
	}
	// A contact may not register persons into another association.
	_, err = s.as(auth.Binding{Role: auth.RoleAssociation, Association: b.GetId()}).CreatePerson(ctx, &networksv1.CreatePersonRequest{
		Person: &networksv1.Person{GivenName: "X", FamilyName: "Y", AssociationIds: []string{a.GetId()}}})
	wantCode(t, err, connect.CodePermissionDenied)
	_, err = s.admin.CreatePerson(ctx, &networksv1.CreatePersonRequest{Person: &networksv1.Person{GivenName: "X", Email: "bad", Phone: "abc"}})
	wantCode(t, err, connect.CodeInvalidArgument, "person.family_name", "person.email", "person.phone")
	// The person themself updates their own contact details.
	self := s.client(s.TokenFor(p.GetId(), auth.Binding{Role: auth.RoleAssociation, Association: b.GetId()}))
	upd := proto.Clone(p).(*networksv1.Person)
	upd.Phone = "+358 40 123 4567"
	res, err := self.UpdatePerson(ctx, &networksv1.UpdatePersonRequest{Person: upd, UpdateMask: fieldMask("phone")})
	if err != nil || res.GetPerson().GetPhone() != "+358 40 123 4567" {
		t.Fatalf("self update: %v %v", res, err)
	}
}
