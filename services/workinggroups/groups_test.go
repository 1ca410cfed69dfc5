package workinggroups_test

import (
	"strings"
	"sync"
	"testing"

	"connectrpc.com/connect"

	workinggroupsv1 "github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/testenv"
)

func TestWorkingGroupLifecycle(t *testing.T) {
	s := newSetup(t)
	changes := s.WatchChanges()

	req := &workinggroupsv1.CreateWorkingGroupRequest{WorkingGroup: newGroup("Asiakasohjauksen ja palveluohjauksen työryhmä"), RequestId: "create-1"}
	created, err := s.coordinator.CreateWorkingGroup(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	g := created.GetWorkingGroup()
	if !ids.Valid(g.GetId()) || g.GetState() != workinggroupsv1.WorkingGroup_STATE_ACTIVE || g.GetEtag() != "1" ||
		g.GetStartDate() != "2026-01-15" || g.GetEndDate() != "" || g.GetCloseTime() != nil || g.GetCreateTime() == nil {
		t.Fatalf("created: %v", g)
	}
	// A retry with the same request_id returns the same group; the same
	// request_id with another request is refused.
	again, err := s.coordinator.CreateWorkingGroup(ctx, req)
	if err != nil || again.GetWorkingGroup().GetId() != g.GetId() {
		t.Fatalf("retry: %v %v", again, err)
	}
	other := clone(req)
	other.WorkingGroup.Name = text("Toinen")
	_, err = s.coordinator.CreateWorkingGroup(ctx, other)
	wantField(t, err, "request_id")

	got, err := s.coordinator.GetWorkingGroup(ctx, &workinggroupsv1.GetWorkingGroupRequest{Id: g.GetId()})
	if err != nil || got.GetWorkingGroup().GetName().GetFi() != "Asiakasohjauksen ja palveluohjauksen työryhmä" ||
		got.GetWorkingGroup().GetMandate().GetFi() == "" || len(got.GetMembers()) != 0 {
		t.Fatalf("get: %v %v", got, err)
	}

	// Update: the fields of the mask change, nothing else.
	upd := clone(g)
	upd.Name = text("Asiakasohjauksen työryhmä")
	upd.Municipality = "ignored: not in the mask"
	upd.EndDate = "2027-12-31"
	updated, err := s.coordinator.UpdateWorkingGroup(ctx, &workinggroupsv1.UpdateWorkingGroupRequest{WorkingGroup: upd,
		UpdateMask: fieldMask("name", "end_date")})
	if err != nil {
		t.Fatal(err)
	}
	u := updated.GetWorkingGroup()
	if u.GetName().GetFi() != "Asiakasohjauksen työryhmä" || u.GetEndDate() != "2027-12-31" || u.GetMunicipality() != "" || u.GetEtag() != "2" {
		t.Fatalf("updated: %v", u)
	}
	// A stale etag is ABORTED.
	_, err = s.coordinator.UpdateWorkingGroup(ctx, &workinggroupsv1.UpdateWorkingGroupRequest{WorkingGroup: upd, UpdateMask: fieldMask("name")})
	wantCode(t, err, connect.CodeAborted, "stale")
	_, err = s.coordinator.CloseWorkingGroup(ctx, &workinggroupsv1.CloseWorkingGroupRequest{Id: g.GetId(), Etag: "1"})
	wantCode(t, err, connect.CodeAborted)
	// End before start is refused on the resulting group.
	bad := clone(u)
	bad.StartDate = "2028-01-01"
	_, err = s.coordinator.UpdateWorkingGroup(ctx, &workinggroupsv1.UpdateWorkingGroupRequest{WorkingGroup: bad, UpdateMask: fieldMask("start_date")})
	wantField(t, err, "working_group.end_date")

	chair := s.member(g.GetId(), workinggroupsv1.Member_ROLE_CHAIR, "Pirjo Puheenjohtaja")
	closed, err := s.coordinator.CloseWorkingGroup(ctx, &workinggroupsv1.CloseWorkingGroupRequest{Id: g.GetId(), Etag: u.GetEtag()})
	if err != nil {
		t.Fatal(err)
	}
	c := closed.GetWorkingGroup()
	if c.GetState() != workinggroupsv1.WorkingGroup_STATE_CLOSED || c.GetCloseTime() == nil || c.GetActiveMemberCount() != 0 {
		t.Fatalf("closed: %v", c)
	}
	// Closing ended the membership.
	m, err := s.coordinator.GetMember(ctx, &workinggroupsv1.GetMemberRequest{Id: chair.GetId()})
	if err != nil || m.GetMember().GetState() != workinggroupsv1.Member_STATE_ENDED || m.GetMember().GetEndTime() == nil {
		t.Fatalf("chair after close: %v %v", m, err)
	}

	// Forbidden transitions of a closed group name its state.
	_, err = s.coordinator.CloseWorkingGroup(ctx, &workinggroupsv1.CloseWorkingGroupRequest{Id: g.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "CLOSED")
	_, err = s.coordinator.UpdateWorkingGroup(ctx, &workinggroupsv1.UpdateWorkingGroupRequest{WorkingGroup: c, UpdateMask: fieldMask("name")})
	wantCode(t, err, connect.CodeFailedPrecondition, "CLOSED")
	_, err = s.coordinator.AddMember(ctx, &workinggroupsv1.AddMemberRequest{Member: &workinggroupsv1.Member{
		WorkingGroupId: g.GetId(), PersonId: ids.New(), Role: workinggroupsv1.Member_ROLE_MEMBER}})
	wantCode(t, err, connect.CodeFailedPrecondition, "CLOSED")
	_, err = s.coordinator.SetSeatAllocation(ctx, &workinggroupsv1.SetSeatAllocationRequest{WorkingGroupId: g.GetId(),
		SeatAllocation: &workinggroupsv1.SeatAllocation{NetworkId: ids.New(), Seats: 1}})
	wantCode(t, err, connect.CodeFailedPrecondition, "CLOSED")
	_, err = s.coordinator.RemoveSeatAllocation(ctx, &workinggroupsv1.RemoveSeatAllocationRequest{WorkingGroupId: g.GetId(), NetworkId: ids.New()})
	wantCode(t, err, connect.CodeFailedPrecondition, "CLOSED")
	_, err = s.coordinator.CreateWorkingGroup(ctx, &workinggroupsv1.CreateWorkingGroupRequest{WorkingGroup: func() *workinggroupsv1.WorkingGroup {
		sub := newGroup("Alatyöryhmä")
		sub.ParentId = g.GetId()
		return sub
	}()})
	wantCode(t, err, connect.CodeFailedPrecondition, "CLOSED")

	// Every write's change, once, on its subject, with the group as payload.
	changes.Wait(func(list []testenv.Received) bool { return countSubject(list, prefix+"closed") == 1 })
	for subject, want := range map[string]int{prefix + "created": 1, prefix + "updated": 1, prefix + "member_added": 1,
		prefix + "member_ended": 1, prefix + "closed": 1} {
		if n := countSubject(changes.All(), subject); n != want {
			t.Errorf("%d changes on %s, want %d", n, subject, want)
		}
	}
	ch := changes.WaitFor(prefix + "closed")
	var payload workinggroupsv1.WorkingGroup
	if err := ch.Change.GetPayload().UnmarshalTo(&payload); err != nil {
		t.Fatal(err)
	}
	if payload.GetId() != g.GetId() || payload.GetState() != workinggroupsv1.WorkingGroup_STATE_CLOSED ||
		ch.Change.GetAggregateVersion() != 3 || ch.Change.GetService() != "workinggroups" || ch.Change.GetKind() != "working_group" {
		t.Fatalf("closed change %v payload %v", ch.Change, &payload)
	}
}

func TestCreateValidation(t *testing.T) {
	s := newSetup(t)
	_, err := s.admin.CreateWorkingGroup(ctx, &workinggroupsv1.CreateWorkingGroupRequest{})
	for _, f := range []string{"working_group", "working_group.region", "working_group.programme", "working_group.name.fi",
		"working_group.mandate.fi", "working_group.start_date", "working_group.coordinator_person_id"} {
		wantField(t, err, f)
	}
	bad := newGroup("Ryhmä")
	bad.Region = "Pohjois Pohjanmaa"
	bad.Programme = "IKA"
	bad.StartDate = "15.1.2026"
	bad.EndDate = "2025-13-01"
	bad.ParentId = "x"
	bad.CoordinatorPersonId = "nobody"
	bad.Id = ids.New()
	bad.Etag = "1"
	bad.State = workinggroupsv1.WorkingGroup_STATE_CLOSED
	bad.SeatAllocations = []*workinggroupsv1.SeatAllocation{{NetworkId: ids.New(), Seats: 1}}
	_, err = s.admin.CreateWorkingGroup(ctx, &workinggroupsv1.CreateWorkingGroupRequest{WorkingGroup: bad})
	for _, f := range []string{"working_group.region", "working_group.programme", "working_group.start_date", "working_group.end_date",
		"working_group.parent_id", "working_group.coordinator_person_id", "working_group.id", "working_group.etag",
		"working_group.state", "working_group.seat_allocations"} {
		wantField(t, err, f)
	}
	ends := newGroup("Ryhmä")
	ends.EndDate = "2025-12-31"
	_, err = s.admin.CreateWorkingGroup(ctx, &workinggroupsv1.CreateWorkingGroupRequest{WorkingGroup: ends})
	wantField(t, err, "working_group.end_date")
	long := newGroup(strings.Repeat("ä", 301))
	_, err = s.admin.CreateWorkingGroup(ctx, &workinggroupsv1.CreateWorkingGroupRequest{WorkingGroup: long})
	wantField(t, err, "working_group.name.fi")
	orphan := newGroup("Ryhmä")
	orphan.ParentId = ids.New()
	_, err = s.admin.CreateWorkingGroup(ctx, &workinggroupsv1.CreateWorkingGroupRequest{WorkingGroup: orphan})
	wantField(t, err, "working_group.parent_id")

	g := s.group("Ryhmä", "")
	// Masks: required, and only changeable paths.
	_, err = s.admin.UpdateWorkingGroup(ctx, &workinggroupsv1.UpdateWorkingGroupRequest{WorkingGroup: g})
	wantField(t, err, "update_mask")
	for _, path := range []string{"state", "region", "programme", "id", "close_time", "seat_allocations", "etag"} {
		_, err = s.admin.UpdateWorkingGroup(ctx, &workinggroupsv1.UpdateWorkingGroupRequest{WorkingGroup: g, UpdateMask: fieldMask(path)})
		wantCode(t, err, connect.CodeInvalidArgument, "update_mask", path)
	}
	empty := clone(g)
	empty.Name = text(" ")
	_, err = s.admin.UpdateWorkingGroup(ctx, &workinggroupsv1.UpdateWorkingGroupRequest{WorkingGroup: empty, UpdateMask: fieldMask("name", "mandate")})
	wantField(t, err, "working_group.name.fi")
	_, err = s.admin.GetWorkingGroup(ctx, &workinggroupsv1.GetWorkingGroupRequest{Id: "nope"})
	wantField(t, err, "id")
	_, err = s.admin.GetWorkingGroup(ctx, &workinggroupsv1.GetWorkingGroupRequest{Id: ids.New()})
	wantCode(t, err, connect.CodeNotFound)
	_, err = s.admin.CloseWorkingGroup(ctx, &workinggroupsv1.CloseWorkingGroupRequest{Id: ids.New()})
	wantCode(t, err, connect.CodeNotFound)
	_, err = s.admin.GetWorkingGroupTree(ctx, &workinggroupsv1.GetWorkingGroupTreeRequest{Region: region})
	wantField(t, err, "programme")
	_, err = s.admin.ListWorkingGroups(ctx, &workinggroupsv1.ListWorkingGroupsRequest{PersonId: "x", State: 9})
	wantField(t, err, "person_id")
	wantField(t, err, "state")
}

// Only the coordinator of the region × programme (or an admin) writes;
// every other role is refused, whatever the RPC.
func TestWritePermissions(t *testing.T) {
	s := newSetup(t)
	g := s.group("Asiakasohjauksen työryhmä", "")
	m := s.member(g.GetId(), workinggroupsv1.Member_ROLE_MEMBER, "Maija Jäsen")
	network, association := ids.New(), ids.New()
	others := map[string]auth.Binding{
		"coordinator of another programme": {Role: auth.RoleCoordinator, Region: region, Programme: "lape"},
		"coordinator of another region":    {Role: auth.RoleCoordinator, Region: "lappi", Programme: programme},
		"leader":                           {Role: auth.RoleLeader, Network: network},
		"association contact":              {Role: auth.RoleAssociation, Association: association},
		"partner":                          {Role: auth.RolePartner, Region: region, Programme: programme},
	}
	for name, b := range others {
		t.Run(name, func(t *testing.T) {
			c := s.as(b)
			_, err := c.CreateWorkingGroup(ctx, &workinggroupsv1.CreateWorkingGroupRequest{WorkingGroup: newGroup("Uusi")})
			wantCode(t, err, connect.CodePermissionDenied)
			sub := newGroup("Ala")
			sub.ParentId = g.GetId()
			_, err = c.CreateWorkingGroup(ctx, &workinggroupsv1.CreateWorkingGroupRequest{WorkingGroup: sub})
			wantCode(t, err, connect.CodePermissionDenied)
			_, err = c.UpdateWorkingGroup(ctx, &workinggroupsv1.UpdateWorkingGroupRequest{WorkingGroup: g, UpdateMask: fieldMask("name")})
			wantCode(t, err, connect.CodePermissionDenied)
			_, err = c.CloseWorkingGroup(ctx, &workinggroupsv1.CloseWorkingGroupRequest{Id: g.GetId()})
			wantCode(t, err, connect.CodePermissionDenied)
			_, err = c.SetSeatAllocation(ctx, &workinggroupsv1.SetSeatAllocationRequest{WorkingGroupId: g.GetId(),
				SeatAllocation: &workinggroupsv1.SeatAllocation{NetworkId: network, Seats: 2}})
			wantCode(t, err, connect.CodePermissionDenied)
			_, err = c.RemoveSeatAllocation(ctx, &workinggroupsv1.RemoveSeatAllocationRequest{WorkingGroupId: g.GetId(), NetworkId: network})
			wantCode(t, err, connect.CodePermissionDenied)
			_, err = c.AddMember(ctx, &workinggroupsv1.AddMemberRequest{Member: &workinggroupsv1.Member{
				WorkingGroupId: g.GetId(), PersonId: ids.New(), Role: workinggroupsv1.Member_ROLE_MEMBER,
				Represents: &workinggroupsv1.Member_AssociationId{AssociationId: association}}})
			wantCode(t, err, connect.CodePermissionDenied)
			_, err = c.UpdateMember(ctx, &workinggroupsv1.UpdateMemberRequest{Member: m, UpdateMask: fieldMask("role")})
			wantCode(t, err, connect.CodePermissionDenied)
			_, err = c.EndMember(ctx, &workinggroupsv1.EndMemberRequest{Id: m.GetId()})
			wantCode(t, err, connect.CodePermissionDenied)
		})
	}
	// Nothing changed.
	got, err := s.admin.GetWorkingGroup(ctx, &workinggroupsv1.GetWorkingGroupRequest{Id: g.GetId()})
	if err != nil || got.GetWorkingGroup().GetEtag() != g.GetEtag() || len(got.GetMembers()) != 1 {
		t.Fatalf("after denied writes: %v %v", got, err)
	}
	// An admin writes anywhere.
	if _, err := s.admin.CreateWorkingGroup(ctx, &workinggroupsv1.CreateWorkingGroupRequest{WorkingGroup: func() *workinggroupsv1.WorkingGroup {
		x := newGroup("Lapin ryhmä")
		x.Region = "lappi"
		return x
	}()}); err != nil {
		t.Fatal(err)
	}
}

// Everyone taking part in the networks reads; a partner reads only the
// regions and programmes of its credential.
func TestReadPermissions(t *testing.T) {
	s := newSetup(t)
	g := s.group("Asiakasohjauksen työryhmä", "")
	m := s.member(g.GetId(), workinggroupsv1.Member_ROLE_SECRETARY, "Sari Sihteeri")
	readers := map[string]auth.Binding{
		"partner of the region":            {Role: auth.RolePartner, Region: region},
		"partner of region × programme":    {Role: auth.RolePartner, Region: region, Programme: programme},
		"partner of everything":            {Role: auth.RolePartner},
		"leader":                           {Role: auth.RoleLeader, Network: ids.New()},
		"association contact":              {Role: auth.RoleAssociation, Association: ids.New()},
		"coordinator of another programme": {Role: auth.RoleCoordinator, Region: region, Programme: "lape"},
	}
	for name, b := range readers {
		t.Run(name, func(t *testing.T) {
			c := s.as(b)
			got, err := c.GetWorkingGroup(ctx, &workinggroupsv1.GetWorkingGroupRequest{Id: g.GetId()})
			if err != nil || len(got.GetMembers()) != 1 {
				t.Fatalf("get: %v %v", got, err)
			}
			list, err := c.ListWorkingGroups(ctx, &workinggroupsv1.ListWorkingGroupsRequest{})
			if err != nil || len(list.GetWorkingGroups()) != 1 {
				t.Fatalf("list: %v %v", list, err)
			}
			tree, err := c.GetWorkingGroupTree(ctx, &workinggroupsv1.GetWorkingGroupTreeRequest{Region: region, Programme: programme})
			if err != nil || len(tree.GetNodes()) != 1 {
				t.Fatalf("tree: %v %v", tree, err)
			}
			if _, err := c.GetMember(ctx, &workinggroupsv1.GetMemberRequest{Id: m.GetId()}); err != nil {
				t.Fatal(err)
			}
			members, err := c.ListMembers(ctx, &workinggroupsv1.ListMembersRequest{WorkingGroupId: g.GetId()})
			if err != nil || len(members.GetMembers()) != 1 {
				t.Fatalf("members: %v %v", members, err)
			}
		})
	}
	for name, b := range map[string]auth.Binding{
		"partner of another region":    {Role: auth.RolePartner, Region: "lappi"},
		"partner of another programme": {Role: auth.RolePartner, Region: region, Programme: "lape"},
	} {
		t.Run(name, func(t *testing.T) {
			c := s.as(b)
			_, err := c.GetWorkingGroup(ctx, &workinggroupsv1.GetWorkingGroupRequest{Id: g.GetId()})
			wantCode(t, err, connect.CodePermissionDenied)
			_, err = c.GetWorkingGroupTree(ctx, &workinggroupsv1.GetWorkingGroupTreeRequest{Region: region, Programme: programme})
			wantCode(t, err, connect.CodePermissionDenied)
			_, err = c.GetMember(ctx, &workinggroupsv1.GetMemberRequest{Id: m.GetId()})
			wantCode(t, err, connect.CodePermissionDenied)
			_, err = c.ListMembers(ctx, &workinggroupsv1.ListMembersRequest{WorkingGroupId: g.GetId()})
			wantCode(t, err, connect.CodePermissionDenied)
			list, err := c.ListWorkingGroups(ctx, &workinggroupsv1.ListWorkingGroupsRequest{})
			if err != nil || len(list.GetWorkingGroups()) != 0 {
				t.Fatalf("list shows groups outside the partner's scope: %v %v", list, err)
			}
		})
	}
	// Unauthenticated calls never reach the service.
	_, err := s.client("").GetWorkingGroup(ctx, &workinggroupsv1.GetWorkingGroupRequest{Id: g.GetId()})
	wantCode(t, err, connect.CodeUnauthenticated)
}

func TestTreeRules(t *testing.T) {
	s := newSetup(t)
	changes := s.WatchChanges()
	root := s.group("Mielenterveys- ja päihdetyön työryhmä", "")
	child := s.group("Järjestöyhteistyön alatyöryhmä", root.GetId())
	grandchild := s.group("Vertaistuen alatyöryhmä", child.GetId())
	sibling := s.group("Kokemusasiantuntijuuden alatyöryhmä", root.GetId())
	other := s.group("Toinen työryhmä", "")
	if child.GetParentId() != root.GetId() {
		t.Fatalf("child: %v", child)
	}

	// The tree: depth-first, siblings oldest first.
	tree, err := s.coordinator.GetWorkingGroupTree(ctx, &workinggroupsv1.GetWorkingGroupTreeRequest{Region: region, Programme: programme})
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	var depths []int32
	for _, n := range tree.GetNodes() {
		order = append(order, n.GetWorkingGroup().GetId())
		depths = append(depths, n.GetDepth())
	}
	wantOrder := []string{root.GetId(), child.GetId(), grandchild.GetId(), sibling.GetId(), other.GetId()}
	if len(order) != len(wantOrder) {
		t.Fatalf("tree has %d nodes, want %d", len(order), len(wantOrder))
	}
	for i := range wantOrder {
		if order[i] != wantOrder[i] || depths[i] != []int32{0, 1, 2, 1, 0}[i] {
			t.Fatalf("tree order %v depths %v, want %v", order, depths, wantOrder)
		}
	}
	subs, err := s.coordinator.ListWorkingGroups(ctx, &workinggroupsv1.ListWorkingGroupsRequest{ParentId: root.GetId()})
	if err != nil || len(subs.GetWorkingGroups()) != 2 {
		t.Fatalf("sub-groups of root: %v %v", subs, err)
	}

	// A parent in another region × programme is refused (an admin, who could
	// write both, tries).
	elsewhere := newGroup("Lapsiperheiden alatyöryhmä")
	elsewhere.Programme = "lape"
	elsewhere.ParentId = root.GetId()
	_, err = s.admin.CreateWorkingGroup(ctx, &workinggroupsv1.CreateWorkingGroupRequest{WorkingGroup: elsewhere})
	wantField(t, err, "working_group.parent_id")
	elsewhere.ParentId = ""
	lape, err := s.admin.CreateWorkingGroup(ctx, &workinggroupsv1.CreateWorkingGroupRequest{WorkingGroup: elsewhere})
	if err != nil {
		t.Fatal(err)
	}
	move := func(g *workinggroupsv1.WorkingGroup, parent string) error {
		cur, err := s.admin.GetWorkingGroup(ctx, &workinggroupsv1.GetWorkingGroupRequest{Id: g.GetId()})
		if err != nil {
			t.Fatal(err)
		}
		x := clone(cur.GetWorkingGroup())
		x.ParentId = parent
		_, err = s.admin.UpdateWorkingGroup(ctx, &workinggroupsv1.UpdateWorkingGroupRequest{WorkingGroup: x, UpdateMask: fieldMask("parent_id")})
		return err
	}
	wantField(t, move(lape.GetWorkingGroup(), root.GetId()), "working_group.parent_id")

	// Re-parenting: no cycles, not under itself.
	wantCode(t, move(root, grandchild.GetId()), connect.CodeFailedPrecondition, "sub-groups")
	wantCode(t, move(root, child.GetId()), connect.CodeFailedPrecondition, "sub-groups")
	wantCode(t, move(child, child.GetId()), connect.CodeFailedPrecondition, "own parent")
	// A legal move: the grandchild under the sibling, then to the top level.
	if err := move(grandchild, sibling.GetId()); err != nil {
		t.Fatal(err)
	}
	if err := move(grandchild, ""); err != nil {
		t.Fatal(err)
	}
	if err := move(grandchild, child.GetId()); err != nil {
		t.Fatal(err)
	}

	// Closing a group with active sub-groups is refused...
	_, err = s.coordinator.CloseWorkingGroup(ctx, &workinggroupsv1.CloseWorkingGroupRequest{Id: root.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "2 active sub-groups", "close_sub_groups")
	// ...a closed sub-group no longer counts...
	if _, err := s.coordinator.CloseWorkingGroup(ctx, &workinggroupsv1.CloseWorkingGroupRequest{Id: sibling.GetId()}); err != nil {
		t.Fatal(err)
	}
	// ...a closed group refuses new sub-groups and moves under it...
	sub := newGroup("Uusi alatyöryhmä")
	sub.ParentId = sibling.GetId()
	_, err = s.coordinator.CreateWorkingGroup(ctx, &workinggroupsv1.CreateWorkingGroupRequest{WorkingGroup: sub})
	wantCode(t, err, connect.CodeFailedPrecondition, "CLOSED")
	wantCode(t, move(other, sibling.GetId()), connect.CodeFailedPrecondition, "CLOSED")
	// ...and close_sub_groups closes the whole subtree, deepest first, and
	// ends the members of each group.
	m := s.member(grandchild.GetId(), workinggroupsv1.Member_ROLE_EXPERT, "Eero Asiantuntija")
	closed, err := s.coordinator.CloseWorkingGroup(ctx, &workinggroupsv1.CloseWorkingGroupRequest{Id: root.GetId(), CloseSubGroups: true})
	if err != nil || closed.GetWorkingGroup().GetId() != root.GetId() || closed.GetWorkingGroup().GetState() != workinggroupsv1.WorkingGroup_STATE_CLOSED {
		t.Fatalf("close subtree: %v %v", closed, err)
	}
	active, err := s.coordinator.GetWorkingGroupTree(ctx, &workinggroupsv1.GetWorkingGroupTreeRequest{Region: region, Programme: programme,
		State: workinggroupsv1.WorkingGroup_STATE_ACTIVE})
	if err != nil || len(active.GetNodes()) != 1 || active.GetNodes()[0].GetWorkingGroup().GetId() != other.GetId() {
		t.Fatalf("active tree after closing the subtree: %v %v", active, err)
	}
	ended, err := s.coordinator.GetMember(ctx, &workinggroupsv1.GetMemberRequest{Id: m.GetId()})
	if err != nil || ended.GetMember().GetState() != workinggroupsv1.Member_STATE_ENDED {
		t.Fatalf("member of a closed sub-group: %v %v", ended, err)
	}
	changes.Wait(func(list []testenv.Received) bool { return countSubject(list, prefix+"closed") == 4 })
	var closedOrder []string
	for _, r := range changes.All() {
		if r.Subject == prefix+"closed" {
			closedOrder = append(closedOrder, r.Change.GetAggregateId())
		}
	}
	want := []string{sibling.GetId(), grandchild.GetId(), child.GetId(), root.GetId()}
	for i := range want {
		if closedOrder[i] != want[i] {
			t.Fatalf("closed in order %v, want %v", closedOrder, want)
		}
	}
}

func TestListFilters(t *testing.T) {
	s := newSetup(t)
	a := s.group("Oulun LAPE-ryhmä", "")
	upd := clone(a)
	upd.Municipality = "Oulu"
	if _, err := s.coordinator.UpdateWorkingGroup(ctx, &workinggroupsv1.UpdateWorkingGroupRequest{WorkingGroup: upd, UpdateMask: fieldMask("municipality")}); err != nil {
		t.Fatal(err)
	}
	b := s.group("Alueellinen ryhmä", "")
	c := s.group("Alaryhmä", b.GetId())
	lapeGroup := newGroup("LAPE-ryhmä")
	lapeGroup.Programme = "lape"
	if _, err := s.admin.CreateWorkingGroup(ctx, &workinggroupsv1.CreateWorkingGroupRequest{WorkingGroup: lapeGroup}); err != nil {
		t.Fatal(err)
	}
	person, association := ids.New(), ids.New()
	for _, g := range []string{a.GetId(), c.GetId()} {
		if _, err := s.coordinator.AddMember(ctx, &workinggroupsv1.AddMemberRequest{Member: &workinggroupsv1.Member{
			WorkingGroupId: g, PersonId: person, PersonDisplayName: "Aino Aktiivinen", Role: workinggroupsv1.Member_ROLE_MEMBER,
			Represents: &workinggroupsv1.Member_AssociationId{AssociationId: association}}}); err != nil {
			t.Fatal(err)
		}
	}
	// The person's membership in b's sub-group c ends: c no longer counts for them.
	ms, err := s.coordinator.ListMembers(ctx, &workinggroupsv1.ListMembersRequest{WorkingGroupId: c.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.coordinator.EndMember(ctx, &workinggroupsv1.EndMemberRequest{Id: ms.GetMembers()[0].GetId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.coordinator.CloseWorkingGroup(ctx, &workinggroupsv1.CloseWorkingGroupRequest{Id: c.GetId()}); err != nil {
		t.Fatal(err)
	}

	reader := s.as(auth.Binding{Role: auth.RoleAssociation, Association: association})
	for name, tc := range map[string]struct {
		req  *workinggroupsv1.ListWorkingGroupsRequest
		want []string
	}{
		"all":          {&workinggroupsv1.ListWorkingGroupsRequest{Programme: programme}, []string{a.GetId(), b.GetId(), c.GetId()}},
		"region":       {&workinggroupsv1.ListWorkingGroupsRequest{Region: region}, []string{a.GetId(), b.GetId(), c.GetId(), ""}},
		"municipality": {&workinggroupsv1.ListWorkingGroupsRequest{Municipality: "oulu"}, []string{a.GetId()}},
		"parent":       {&workinggroupsv1.ListWorkingGroupsRequest{ParentId: b.GetId()}, []string{c.GetId()}},
		"active":       {&workinggroupsv1.ListWorkingGroupsRequest{Programme: programme, State: workinggroupsv1.WorkingGroup_STATE_ACTIVE}, []string{a.GetId(), b.GetId()}},
		"closed":       {&workinggroupsv1.ListWorkingGroupsRequest{State: workinggroupsv1.WorkingGroup_STATE_CLOSED}, []string{c.GetId()}},
		"person":       {&workinggroupsv1.ListWorkingGroupsRequest{PersonId: person}, []string{a.GetId()}},
		"association":  {&workinggroupsv1.ListWorkingGroupsRequest{AssociationId: association}, []string{a.GetId()}},
		"nobody":       {&workinggroupsv1.ListWorkingGroupsRequest{AssociationId: ids.New()}, nil},
	} {
		t.Run(name, func(t *testing.T) {
			res, err := reader.ListWorkingGroups(ctx, tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.GetWorkingGroups()) != len(tc.want) {
				t.Fatalf("%d groups, want %d", len(res.GetWorkingGroups()), len(tc.want))
			}
			for i, g := range res.GetWorkingGroups() {
				if tc.want[i] != "" && g.GetId() != tc.want[i] {
					t.Fatalf("group %d is %s, want %s", i, g.GetId(), tc.want[i])
				}
			}
		})
	}

	// Paging, two at a time; a token is bound to its filters.
	var seen []string
	token := ""
	for {
		res, err := reader.ListWorkingGroups(ctx, &workinggroupsv1.ListWorkingGroupsRequest{Region: region, PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range res.GetWorkingGroups() {
			seen = append(seen, g.GetId())
		}
		if token = res.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(seen) != 4 {
		t.Fatalf("paged through %d groups, want 4", len(seen))
	}
	first, err := reader.ListWorkingGroups(ctx, &workinggroupsv1.ListWorkingGroupsRequest{Region: region, PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = reader.ListWorkingGroups(ctx, &workinggroupsv1.ListWorkingGroupsRequest{Region: "lappi", PageSize: 1, PageToken: first.GetNextPageToken()})
	wantField(t, err, "page_token")
	_, err = reader.ListWorkingGroups(ctx, &workinggroupsv1.ListWorkingGroupsRequest{PageSize: -1})
	wantField(t, err, "page_size")
}

func TestSeatAllocations(t *testing.T) {
	s := newSetup(t)
	changes := s.WatchChanges()
	g := s.group("Asiakasohjauksen ja palveluohjauksen työryhmä", "")
	network, second := ids.New(), ids.New()

	set, err := s.coordinator.SetSeatAllocation(ctx, &workinggroupsv1.SetSeatAllocationRequest{WorkingGroupId: g.GetId(), Etag: g.GetEtag(),
		SeatAllocation: &workinggroupsv1.SeatAllocation{NetworkId: network, Seats: 2, WithDeputies: true}})
	if err != nil {
		t.Fatal(err)
	}
	got := set.GetWorkingGroup()
	if len(got.GetSeatAllocations()) != 1 || got.GetEtag() != "2" {
		t.Fatalf("seats: %v", got)
	}
	a := got.GetSeatAllocations()[0]
	if a.GetNetworkId() != network || a.GetSeats() != 2 || !a.GetWithDeputies() || a.GetFilledSeats() != 0 || a.GetOpenSeats() != 2 ||
		a.GetOpenDeputySeats() != 2 {
		t.Fatalf("allocation: %v", a)
	}
	// Replacing the allocation; another network's; a stale etag.
	if _, err := s.coordinator.SetSeatAllocation(ctx, &workinggroupsv1.SetSeatAllocationRequest{WorkingGroupId: g.GetId(),
		SeatAllocation: &workinggroupsv1.SeatAllocation{NetworkId: network, Seats: 3}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.coordinator.SetSeatAllocation(ctx, &workinggroupsv1.SetSeatAllocationRequest{WorkingGroupId: g.GetId(),
		SeatAllocation: &workinggroupsv1.SeatAllocation{NetworkId: second, Seats: 1}}); err != nil {
		t.Fatal(err)
	}
	_, err = s.coordinator.SetSeatAllocation(ctx, &workinggroupsv1.SetSeatAllocationRequest{WorkingGroupId: g.GetId(), Etag: "2",
		SeatAllocation: &workinggroupsv1.SeatAllocation{NetworkId: second, Seats: 5}})
	wantCode(t, err, connect.CodeAborted)
	view, err := s.coordinator.GetWorkingGroup(ctx, &workinggroupsv1.GetWorkingGroupRequest{Id: g.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	allocs := view.GetWorkingGroup().GetSeatAllocations()
	if len(allocs) != 2 || allocs[0].GetNetworkId() != network || allocs[0].GetSeats() != 3 || allocs[0].GetWithDeputies() ||
		allocs[0].GetOpenDeputySeats() != 0 || allocs[1].GetNetworkId() != second {
		t.Fatalf("allocations: %v", allocs)
	}

	// Validation names the fields.
	_, err = s.coordinator.SetSeatAllocation(ctx, &workinggroupsv1.SetSeatAllocationRequest{WorkingGroupId: "x",
		SeatAllocation: &workinggroupsv1.SeatAllocation{NetworkId: "y", Seats: 0, FilledSeats: 1}})
	for _, f := range []string{"working_group_id", "seat_allocation.network_id", "seat_allocation.seats", "seat_allocation.filled_seats"} {
		wantField(t, err, f)
	}
	_, err = s.coordinator.SetSeatAllocation(ctx, &workinggroupsv1.SetSeatAllocationRequest{WorkingGroupId: g.GetId()})
	wantField(t, err, "seat_allocation")
	_, err = s.coordinator.SetSeatAllocation(ctx, &workinggroupsv1.SetSeatAllocationRequest{WorkingGroupId: g.GetId(),
		SeatAllocation: &workinggroupsv1.SeatAllocation{NetworkId: network, Seats: 101}})
	wantField(t, err, "seat_allocation.seats")

	removed, err := s.coordinator.RemoveSeatAllocation(ctx, &workinggroupsv1.RemoveSeatAllocationRequest{WorkingGroupId: g.GetId(), NetworkId: second})
	if err != nil || len(removed.GetWorkingGroup().GetSeatAllocations()) != 1 {
		t.Fatalf("remove: %v %v", removed, err)
	}
	_, err = s.coordinator.RemoveSeatAllocation(ctx, &workinggroupsv1.RemoveSeatAllocationRequest{WorkingGroupId: g.GetId(), NetworkId: second})
	wantCode(t, err, connect.CodeNotFound, second)
	_, err = s.coordinator.RemoveSeatAllocation(ctx, &workinggroupsv1.RemoveSeatAllocationRequest{WorkingGroupId: g.GetId(), NetworkId: "z"})
	wantField(t, err, "network_id")

	changes.Wait(func(list []testenv.Received) bool { return countSubject(list, prefix+"seats_updated") == 4 })
	last := changes.All()
	var payload workinggroupsv1.WorkingGroup
	for _, r := range last {
		if r.Subject == prefix+"seats_updated" {
			if err := r.Change.GetPayload().UnmarshalTo(&payload); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(payload.GetSeatAllocations()) != 1 || payload.GetEtag() != "5" {
		t.Fatalf("last seats_updated payload: %v", &payload)
	}
}

// Two moves that together would make a cycle (A under B, B under A) race:
// one wins, the other sees the cycle.
func TestConcurrentReparentingMakesNoCycle(t *testing.T) {
	s := newSetup(t)
	for round := range 5 {
		a := s.group("A", "")
		b := s.group("B", "")
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, pair := range [][2]*workinggroupsv1.WorkingGroup{{a, b}, {b, a}} {
			wg.Go(func() {
				x := clone(pair[0])
				x.ParentId = pair[1].GetId()
				_, errs[i] = s.coordinator.UpdateWorkingGroup(ctx, &workinggroupsv1.UpdateWorkingGroupRequest{WorkingGroup: x, UpdateMask: fieldMask("parent_id")})
			})
		}
		wg.Wait()
		failed := 0
		for _, err := range errs {
			if err != nil {
				wantCode(t, err, connect.CodeFailedPrecondition, "sub-groups")
				failed++
			}
		}
		if failed != 1 {
			t.Fatalf("round %d: %d of 2 crossing moves failed, want 1", round, failed)
		}
	}
}
