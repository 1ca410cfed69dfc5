package workinggroups_test

import (
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	workinggroupsv1 "github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/testenv"
)

func TestMemberLifecycle(t *testing.T) {
	s := newSetup(t)
	changes := s.WatchChanges()
	g := s.group("Asiakasohjauksen ja palveluohjauksen työryhmä", "")
	association, network := ids.New(), ids.New()
	start := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)

	req := &workinggroupsv1.AddMemberRequest{RequestId: "add-1", Member: &workinggroupsv1.Member{
		WorkingGroupId: g.GetId(), PersonId: ids.New(), PersonDisplayName: "Maija Meikäläinen", Role: workinggroupsv1.Member_ROLE_MEMBER,
		Represents:    &workinggroupsv1.Member_AssociationId{AssociationId: association},
		TermStartTime: timestamppb.New(start), TermEndTime: timestamppb.New(start.AddDate(2, 0, 0)),
	}}
	added, err := s.coordinator.AddMember(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	m := added.GetMember()
	if m.GetState() != workinggroupsv1.Member_STATE_ACTIVE || m.GetSource() != workinggroupsv1.Member_SOURCE_DIRECT ||
		m.GetAssociationId() != association || !m.GetTermStartTime().AsTime().Equal(start) || m.GetRegion() != region ||
		m.GetProgramme() != programme || m.GetEtag() != "1" {
		t.Fatalf("added: %v", m)
	}
	retry, err := s.coordinator.AddMember(ctx, req)
	if err != nil || retry.GetMember().GetId() != m.GetId() {
		t.Fatalf("retry: %v %v", retry, err)
	}
	// The same person in the same role is refused; in another role allowed.
	again := clone(req)
	again.RequestId = ""
	_, err = s.coordinator.AddMember(ctx, again)
	wantCode(t, err, connect.CodeAlreadyExists, "MEMBER")
	again.Member.Role = workinggroupsv1.Member_ROLE_EXPERT
	if _, err := s.coordinator.AddMember(ctx, again); err != nil {
		t.Fatal(err)
	}

	// Representing a network, an organisation, or nobody.
	byNetwork, err := s.coordinator.AddMember(ctx, &workinggroupsv1.AddMemberRequest{Member: &workinggroupsv1.Member{
		WorkingGroupId: g.GetId(), PersonId: ids.New(), Role: workinggroupsv1.Member_ROLE_SECRETARY,
		Represents: &workinggroupsv1.Member_NetworkId{NetworkId: network}}})
	if err != nil || byNetwork.GetMember().GetNetworkId() != network {
		t.Fatalf("network representative: %v %v", byNetwork, err)
	}
	byOrg, err := s.coordinator.AddMember(ctx, &workinggroupsv1.AddMemberRequest{Member: &workinggroupsv1.Member{
		WorkingGroupId: g.GetId(), PersonId: ids.New(), Role: workinggroupsv1.Member_ROLE_EXPERT,
		Represents: &workinggroupsv1.Member_Organisation{Organisation: "Pohjois-Pohjanmaan hyvinvointialue, asiakasohjaus"}}})
	if err != nil || byOrg.GetMember().GetOrganisation() != "Pohjois-Pohjanmaan hyvinvointialue, asiakasohjaus" {
		t.Fatalf("organisation representative: %v %v", byOrg, err)
	}
	expert, err := s.coordinator.AddMember(ctx, &workinggroupsv1.AddMemberRequest{Member: &workinggroupsv1.Member{
		WorkingGroupId: g.GetId(), PersonId: ids.New(), PersonDisplayName: "Kalle Kokemustoimija", Role: workinggroupsv1.Member_ROLE_EXPERIENCE_EXPERT}})
	if err != nil || expert.GetMember().GetRepresents() != nil {
		t.Fatalf("experience expert: %v %v", expert, err)
	}

	// A personal deputy of the member.
	deputy, err := s.coordinator.AddMember(ctx, &workinggroupsv1.AddMemberRequest{Member: &workinggroupsv1.Member{
		WorkingGroupId: g.GetId(), PersonId: ids.New(), PersonDisplayName: "Ville Varajäsen", Role: workinggroupsv1.Member_ROLE_MEMBER,
		Deputy: true, DeputyOf: m.GetId(), Represents: &workinggroupsv1.Member_AssociationId{AssociationId: association}}})
	if err != nil || deputy.GetMember().GetDeputyOf() != m.GetId() || !deputy.GetMember().GetDeputy() {
		t.Fatalf("deputy: %v %v", deputy, err)
	}
	// A deputy's deputy, a deputy of another group's member, a stranger.
	for _, of := range []string{deputy.GetMember().GetId(), ids.New()} {
		_, err = s.coordinator.AddMember(ctx, &workinggroupsv1.AddMemberRequest{Member: &workinggroupsv1.Member{
			WorkingGroupId: g.GetId(), PersonId: ids.New(), Role: workinggroupsv1.Member_ROLE_MEMBER, Deputy: true, DeputyOf: of}})
		wantField(t, err, "member.deputy_of")
	}

	// Update: role and term; a stale etag; server-owned paths.
	upd := clone(m)
	upd.Role = workinggroupsv1.Member_ROLE_CHAIR
	upd.TermEndTime = nil
	updated, err := s.coordinator.UpdateMember(ctx, &workinggroupsv1.UpdateMemberRequest{Member: upd, UpdateMask: fieldMask("role", "term_end_time")})
	if err != nil {
		t.Fatal(err)
	}
	if updated.GetMember().GetRole() != workinggroupsv1.Member_ROLE_CHAIR || updated.GetMember().GetTermEndTime() != nil ||
		updated.GetMember().GetEtag() != "2" {
		t.Fatalf("updated: %v", updated.GetMember())
	}
	_, err = s.coordinator.UpdateMember(ctx, &workinggroupsv1.UpdateMemberRequest{Member: upd, UpdateMask: fieldMask("role")})
	wantCode(t, err, connect.CodeAborted)
	for _, path := range []string{"state", "source", "nomination_id", "working_group_id", "person_id", "end_time"} {
		_, err = s.coordinator.UpdateMember(ctx, &workinggroupsv1.UpdateMemberRequest{Member: updated.GetMember(), UpdateMask: fieldMask(path)})
		wantCode(t, err, connect.CodeInvalidArgument, "update_mask", path)
	}
	early := clone(updated.GetMember())
	early.TermEndTime = timestamppb.New(start.Add(-time.Hour))
	_, err = s.coordinator.UpdateMember(ctx, &workinggroupsv1.UpdateMemberRequest{Member: early, UpdateMask: fieldMask("term_end_time")})
	wantField(t, err, "member.term_end_time")
	chairDeputy := clone(deputy.GetMember())
	chairDeputy.Role = workinggroupsv1.Member_ROLE_CHAIR
	_, err = s.coordinator.UpdateMember(ctx, &workinggroupsv1.UpdateMemberRequest{Member: chairDeputy, UpdateMask: fieldMask("role")})
	wantField(t, err, "member.role")

	// End; ending or updating an ended member names its state.
	endedRes, err := s.coordinator.EndMember(ctx, &workinggroupsv1.EndMemberRequest{Id: m.GetId(), Etag: updated.GetMember().GetEtag()})
	if err != nil || endedRes.GetMember().GetState() != workinggroupsv1.Member_STATE_ENDED || endedRes.GetMember().GetEndTime() == nil {
		t.Fatalf("end: %v %v", endedRes, err)
	}
	_, err = s.coordinator.EndMember(ctx, &workinggroupsv1.EndMemberRequest{Id: m.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "ENDED")
	_, err = s.coordinator.UpdateMember(ctx, &workinggroupsv1.UpdateMemberRequest{Member: endedRes.GetMember(), UpdateMask: fieldMask("role")})
	wantCode(t, err, connect.CodeFailedPrecondition, "ENDED")
	_, err = s.coordinator.EndMember(ctx, &workinggroupsv1.EndMemberRequest{Id: ids.New()})
	wantCode(t, err, connect.CodeNotFound)

	// Lists and the group view.
	all, err := s.coordinator.ListMembers(ctx, &workinggroupsv1.ListMembersRequest{WorkingGroupId: g.GetId()})
	if err != nil || len(all.GetMembers()) != 6 {
		t.Fatalf("all members: %d %v", len(all.GetMembers()), err)
	}
	endedList, err := s.coordinator.ListMembers(ctx, &workinggroupsv1.ListMembersRequest{WorkingGroupId: g.GetId(), State: workinggroupsv1.Member_STATE_ENDED})
	if err != nil || len(endedList.GetMembers()) != 1 || endedList.GetMembers()[0].GetId() != m.GetId() {
		t.Fatalf("ended members: %v %v", endedList, err)
	}
	var paged int
	token := ""
	for {
		res, err := s.coordinator.ListMembers(ctx, &workinggroupsv1.ListMembersRequest{WorkingGroupId: g.GetId(), PageSize: 4, PageToken: token,
			State: workinggroupsv1.Member_STATE_ACTIVE})
		if err != nil {
			t.Fatal(err)
		}
		paged += len(res.GetMembers())
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	if paged != 5 {
		t.Fatalf("paged %d active members, want 5", paged)
	}
	view, err := s.coordinator.GetWorkingGroup(ctx, &workinggroupsv1.GetWorkingGroupRequest{Id: g.GetId()})
	if err != nil || len(view.GetMembers()) != 5 || view.GetWorkingGroup().GetActiveMemberCount() != 5 ||
		view.GetMembers()[0].GetRole() != workinggroupsv1.Member_ROLE_SECRETARY {
		t.Fatalf("group view: %v %v", view, err)
	}
	_, err = s.coordinator.ListMembers(ctx, &workinggroupsv1.ListMembersRequest{})
	wantField(t, err, "working_group_id")
	_, err = s.coordinator.ListMembers(ctx, &workinggroupsv1.ListMembersRequest{WorkingGroupId: ids.New()})
	wantCode(t, err, connect.CodeNotFound)

	changes.Wait(func(list []testenv.Received) bool { return countSubject(list, prefix+"member_ended") == 1 })
	for subject, want := range map[string]int{prefix + "member_added": 6, prefix + "member_updated": 1, prefix + "member_ended": 1} {
		if n := countSubject(changes.All(), subject); n != want {
			t.Errorf("%d changes on %s, want %d", n, subject, want)
		}
	}
	got := changes.WaitFor(prefix + "member_ended")
	var payload workinggroupsv1.Member
	if err := got.Change.GetPayload().UnmarshalTo(&payload); err != nil {
		t.Fatal(err)
	}
	if payload.GetId() != m.GetId() || payload.GetState() != workinggroupsv1.Member_STATE_ENDED || got.Change.GetAggregateId() != m.GetId() ||
		got.Change.GetAggregateVersion() != 3 {
		t.Fatalf("member_ended: %v payload %v", got.Change, &payload)
	}
}

func TestAddMemberValidation(t *testing.T) {
	s := newSetup(t)
	g := s.group("Ryhmä", "")
	_, err := s.coordinator.AddMember(ctx, &workinggroupsv1.AddMemberRequest{})
	for _, f := range []string{"member", "member.working_group_id", "member.person_id", "member.role"} {
		wantField(t, err, f)
	}
	_, err = s.coordinator.AddMember(ctx, &workinggroupsv1.AddMemberRequest{Member: &workinggroupsv1.Member{
		WorkingGroupId: g.GetId(), PersonId: "p", Role: 42, Id: ids.New(), State: workinggroupsv1.Member_STATE_ACTIVE,
		Source: workinggroupsv1.Member_SOURCE_NOMINATION, NominationId: "n", Etag: "1", DeputyOf: ids.New(),
		Represents:    &workinggroupsv1.Member_Organisation{Organisation: "  "},
		TermStartTime: timestamppb.Now(), TermEndTime: timestamppb.New(time.Now().Add(-time.Hour)),
	}})
	for _, f := range []string{"member.person_id", "member.role", "member.id", "member.state", "member.source",
		"member.nomination_id", "member.etag", "member.organisation", "member.deputy_of", "member.term_end_time"} {
		wantField(t, err, f)
	}
	_, err = s.coordinator.AddMember(ctx, &workinggroupsv1.AddMemberRequest{Member: &workinggroupsv1.Member{
		WorkingGroupId: g.GetId(), PersonId: ids.New(), Role: workinggroupsv1.Member_ROLE_CHAIR, Deputy: true,
		Represents: &workinggroupsv1.Member_AssociationId{AssociationId: "a"}}})
	wantField(t, err, "member.role")
	wantField(t, err, "member.association_id")
	_, err = s.coordinator.AddMember(ctx, &workinggroupsv1.AddMemberRequest{Member: &workinggroupsv1.Member{
		WorkingGroupId: ids.New(), PersonId: ids.New(), Role: workinggroupsv1.Member_ROLE_MEMBER}})
	wantCode(t, err, connect.CodeNotFound)
}

// At most one active chair, also when many coordinators' calls race.
func TestOneChairAtATime(t *testing.T) {
	s := newSetup(t)
	g := s.group("Asiakasohjauksen työryhmä", "")
	const racers = 8
	var wg sync.WaitGroup
	errs := make([]error, racers)
	chairs := make([]*workinggroupsv1.Member, racers)
	for i := range racers {
		wg.Go(func() {
			res, err := s.coordinator.AddMember(ctx, &workinggroupsv1.AddMemberRequest{Member: &workinggroupsv1.Member{
				WorkingGroupId: g.GetId(), PersonId: ids.New(), Role: workinggroupsv1.Member_ROLE_CHAIR}})
			errs[i], chairs[i] = err, res.GetMember()
		})
	}
	wg.Wait()
	var chair *workinggroupsv1.Member
	for i, err := range errs {
		if err == nil {
			if chair != nil {
				t.Fatal("two concurrent chairs were added")
			}
			chair = chairs[i]
			continue
		}
		wantCode(t, err, connect.CodeFailedPrecondition, "already has an active chair")
	}
	if chair == nil {
		t.Fatal("no chair was added")
	}
	// Promoting a member to chair is refused too, until the chair ends.
	m := s.member(g.GetId(), workinggroupsv1.Member_ROLE_MEMBER, "Varapuheenjohtaja")
	promote := clone(m)
	promote.Role = workinggroupsv1.Member_ROLE_CHAIR
	_, err := s.coordinator.UpdateMember(ctx, &workinggroupsv1.UpdateMemberRequest{Member: promote, UpdateMask: fieldMask("role")})
	wantCode(t, err, connect.CodeFailedPrecondition, "active chair")
	if _, err := s.coordinator.EndMember(ctx, &workinggroupsv1.EndMemberRequest{Id: chair.GetId()}); err != nil {
		t.Fatal(err)
	}
	promoted, err := s.coordinator.UpdateMember(ctx, &workinggroupsv1.UpdateMemberRequest{Member: promote, UpdateMask: fieldMask("role")})
	if err != nil || promoted.GetMember().GetRole() != workinggroupsv1.Member_ROLE_CHAIR {
		t.Fatalf("promote: %v %v", promoted, err)
	}
	view, err := s.coordinator.GetWorkingGroup(ctx, &workinggroupsv1.GetWorkingGroupRequest{Id: g.GetId()})
	if err != nil || len(view.GetMembers()) != 1 || view.GetMembers()[0].GetId() != m.GetId() {
		t.Fatalf("view: %v %v", view, err)
	}
	// Racing promotions of several members: still one chair.
	var members []*workinggroupsv1.Member
	for range 6 {
		members = append(members, s.member(g.GetId(), workinggroupsv1.Member_ROLE_MEMBER, "Jäsen"))
	}
	if _, err := s.coordinator.EndMember(ctx, &workinggroupsv1.EndMemberRequest{Id: m.GetId()}); err != nil {
		t.Fatal(err)
	}
	ok := make([]bool, len(members))
	for i, x := range members {
		wg.Go(func() {
			p := clone(x)
			p.Role = workinggroupsv1.Member_ROLE_CHAIR
			_, err := s.coordinator.UpdateMember(ctx, &workinggroupsv1.UpdateMemberRequest{Member: p, UpdateMask: fieldMask("role")})
			ok[i] = err == nil
		})
	}
	wg.Wait()
	n := 0
	for _, b := range ok {
		if b {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d concurrent promotions to chair succeeded, want 1", n)
	}
}
