package nominations_test

import (
	"testing"
	"time"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	nominationsv1 "github.com/verkosto/verkosto/gen/verkosto/nominations/v1"
	workinggroupsv1 "github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/services/nominations"
)

// waitMembers waits until the working group's members (any state) satisfy cond.
func (s *setup) waitMembers(groupID string, cond func([]*workinggroupsv1.Member) bool) []*workinggroupsv1.Member {
	s.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := s.groups.ListMembers(ctx, &workinggroupsv1.ListMembersRequest{WorkingGroupId: groupID})
		if err != nil {
			s.t.Fatal(err)
		}
		if cond(res.GetMembers()) {
			return res.GetMembers()
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for working group members; have %v", res.GetMembers())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func memberOf(list []*workinggroupsv1.Member, nominationID string) *workinggroupsv1.Member {
	for _, m := range list {
		if m.GetNominationId() == nominationID {
			return m
		}
	}
	return nil
}

// End to end through NATS: a working group asks the ikaihmiset network for
// a representative with a deputy; the confirmed nominations become active
// members of the group in the real working groups service, and their ends
// (a resignation, the term's end) end the memberships.
func TestConfirmedNominationJoinsWorkingGroup(t *testing.T) {
	const prog = "ikaihmiset"
	s := newSetup(t)
	changes := s.WatchChanges()
	n := s.network(prog)
	people := s.persons(2, n.member.GetId())
	name := &commonv1.LocalizedText{Fi: "Asiakasohjauksen ja palveluohjauksen työryhmä"}
	g, err := s.groups.CreateWorkingGroup(ctx, &workinggroupsv1.CreateWorkingGroupRequest{WorkingGroup: &workinggroupsv1.WorkingGroup{
		Region: region, Programme: prog, Name: name, StartDate: "2026-01-15", CoordinatorPersonId: ids.New(),
		Mandate: &commonv1.LocalizedText{Fi: "Mallintaa ikäihmisten asiakasohjauksen polku"},
	}})
	if err != nil {
		t.Fatal(err)
	}
	group := g.GetWorkingGroup()
	if _, err := s.groups.SetSeatAllocation(ctx, &workinggroupsv1.SetSeatAllocationRequest{WorkingGroupId: group.GetId(),
		SeatAllocation: &workinggroupsv1.SeatAllocation{NetworkId: n.net.GetId(), Seats: 1, WithDeputies: true}}); err != nil {
		t.Fatal(err)
	}

	coordinator := s.as(auth.Binding{Role: auth.RoleCoordinator, Region: region, Programme: prog})
	req := s.newRequest(n, 1, true)
	req.WorkingGroupId, req.Programme, req.BodyName = group.GetId(), prog, name
	created, err := coordinator.CreateRepresentationRequest(ctx, &nominationsv1.CreateRepresentationRequestRequest{RepresentationRequest: req})
	if err != nil {
		t.Fatal(err)
	}
	r := created.GetRepresentationRequest()
	member := s.accepted(n, r, people[0].GetId(), n.member.GetId(), 1, false)
	deputy := s.accepted(n, r, people[1].GetId(), n.member.GetId(), 1, true)
	for _, x := range []*nominationsv1.Nomination{deputy, member} {
		if _, err := coordinator.ConfirmNomination(ctx, &nominationsv1.ConfirmNominationRequest{Id: x.GetId()}); err != nil {
			t.Fatal(err)
		}
	}
	prefix := "verkosto.changes." + region + "." + prog + "."
	confirmed := payloadOf(t, nominationChange(t, changes, prefix+"nomination.confirmed", member.GetId()))
	if confirmed.GetWorkingGroupId() != group.GetId() || confirmed.GetProgramme() != prog {
		t.Fatalf("confirmed payload: %v", confirmed)
	}

	list := s.waitMembers(group.GetId(), func(l []*workinggroupsv1.Member) bool {
		return memberOf(l, member.GetId()) != nil && memberOf(l, deputy.GetId()) != nil
	})
	m, d := memberOf(list, member.GetId()), memberOf(list, deputy.GetId())
	if m.GetState() != workinggroupsv1.Member_STATE_ACTIVE || m.GetPersonId() != people[0].GetId() ||
		m.GetPersonDisplayName() != people[0].GetDisplayName() || m.GetAssociationId() != n.member.GetId() ||
		m.GetSource() != workinggroupsv1.Member_SOURCE_NOMINATION || m.GetSeatNetworkId() != n.net.GetId() || m.GetDeputy() ||
		!m.GetTermEndTime().AsTime().Equal(r.GetTermEndTime().AsTime()) {
		t.Fatalf("member from the nomination: %v", m)
	}
	if !d.GetDeputy() || d.GetState() != workinggroupsv1.Member_STATE_ACTIVE || d.GetDeputyOf() != m.GetId() {
		t.Fatalf("deputy from the nomination: %v", d)
	}
	view, err := s.groups.GetWorkingGroup(ctx, &workinggroupsv1.GetWorkingGroupRequest{Id: group.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if a := view.GetWorkingGroup().GetSeatAllocations()[0]; a.GetFilledSeats() != 1 || a.GetFilledDeputySeats() != 1 {
		t.Fatalf("seat allocation after confirmation: %v", a)
	}

	// The member resigns: the membership ends.
	if _, err := s.personal(people[0].GetId()).ResignNomination(ctx, &nominationsv1.ResignNominationRequest{Id: member.GetId()}); err != nil {
		t.Fatal(err)
	}
	s.waitMembers(group.GetId(), func(l []*workinggroupsv1.Member) bool {
		return memberOf(l, member.GetId()).GetState() == workinggroupsv1.Member_STATE_ENDED
	})
	// The term ends: so does the deputy's membership.
	s.Clock.Advance(r.GetTermEndTime().AsTime().Sub(s.Clock.Now()) + time.Hour)
	s.runJob(s.termJob(nil), nominations.TermJobReport{Ended: 1})
	list = s.waitMembers(group.GetId(), func(l []*workinggroupsv1.Member) bool {
		return memberOf(l, deputy.GetId()).GetState() == workinggroupsv1.Member_STATE_ENDED
	})
	if e := memberOf(list, deputy.GetId()); !e.GetEndTime().AsTime().Equal(r.GetTermEndTime().AsTime()) {
		t.Fatalf("deputy's membership ends at the term's end: %v", e)
	}
}
