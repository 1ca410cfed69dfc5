package workinggroups

import (
	"context"
	"fmt"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	workinggroupsv1 "github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1"
	"github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1/workinggroupsv1connect"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/check"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/etag"
	"github.com/verkosto/verkosto/internal/fieldmask"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/page"
	"github.com/verkosto/verkosto/internal/reqid"
)

const groupColumns = `g.id::text, g.region, g.programme, g.municipality, coalesce(g.parent_id::text, ''),
	g.name_fi, g.name_sv, g.name_en, g.mandate_fi, g.mandate_sv, g.mandate_en, g.start_date, g.end_date,
	g.coordinator_person_id::text, g.coordinator_display_name, g.state, g.close_time, g.create_time, g.update_time, g.version,
	(SELECT count(*) FROM workinggroups.members m WHERE m.working_group_id = g.id AND m.state = 'ACTIVE')`

func scanGroup(r pgx.Row, extra ...any) (*workinggroupsv1.WorkingGroup, error) {
	x := &workinggroupsv1.WorkingGroup{Name: &commonv1.LocalizedText{}, Mandate: &commonv1.LocalizedText{}}
	var state string
	var start time.Time
	var end, closed *time.Time
	var created, updated time.Time
	var version int64
	dest := []any{&x.Id, &x.Region, &x.Programme, &x.Municipality, &x.ParentId,
		&x.Name.Fi, &x.Name.Sv, &x.Name.En, &x.Mandate.Fi, &x.Mandate.Sv, &x.Mandate.En, &start, &end,
		&x.CoordinatorPersonId, &x.CoordinatorDisplayName, &state, &closed, &created, &updated, &version, &x.ActiveMemberCount}
	if err := r.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	x.State = workinggroupsv1.WorkingGroup_State(workinggroupsv1.WorkingGroup_State_value["STATE_"+state])
	x.StartDate, x.EndDate = check.FormatDate(&start), check.FormatDate(end)
	x.CloseTime = db.Timestamp(closed)
	x.CreateTime, x.UpdateTime, x.Etag = timestamppb.New(created), timestamppb.New(updated), etag.Of(version)
	return x, nil
}

// Row locks of getGroup.
const (
	noLock    = ""
	forShare  = " FOR SHARE"
	forUpdate = " FOR UPDATE"
)

// getGroup reads one group with its seat allocations; lock is noLock,
// forShare (adding members or sub-groups: the group must stay ACTIVE) or
// forUpdate (changing it).
func getGroup(ctx context.Context, q db.DBTX, id, lock string) (*workinggroupsv1.WorkingGroup, error) {
	x, err := scanGroup(q.QueryRow(ctx, `SELECT `+groupColumns+` FROM workinggroups.working_groups g WHERE g.id = $1`+lock, id))
	if err != nil {
		return nil, apierr.IfNotFound(err, "working group", id)
	}
	if err := loadSeats(ctx, q, x); err != nil {
		return nil, err
	}
	return x, nil
}

// loadSeats fills in the groups' seat allocations with their filled and open
// seats: active nominated members of the allocation's network.
func loadSeats(ctx context.Context, q db.DBTX, groups ...*workinggroupsv1.WorkingGroup) error {
	if len(groups) == 0 {
		return nil
	}
	byID := make(map[string]*workinggroupsv1.WorkingGroup, len(groups))
	list := make([]string, 0, len(groups))
	for _, g := range groups {
		byID[g.GetId()] = g
		list = append(list, g.GetId())
	}
	rows, err := q.Query(ctx, `SELECT a.working_group_id::text, a.network_id::text, a.seats, a.with_deputies,
		count(m.id) FILTER (WHERE NOT m.deputy), count(m.id) FILTER (WHERE m.deputy)
		FROM workinggroups.seat_allocations a
		LEFT JOIN workinggroups.members m ON m.working_group_id = a.working_group_id AND m.seat_network_id = a.network_id
			AND m.state = 'ACTIVE' AND m.source = 'NOMINATION'
		WHERE a.working_group_id = ANY($1::uuid[])
		GROUP BY a.working_group_id, a.network_id
		ORDER BY a.working_group_id, min(a.create_time), a.network_id`, list)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var groupID string
		a := &workinggroupsv1.SeatAllocation{}
		if err := rows.Scan(&groupID, &a.NetworkId, &a.Seats, &a.WithDeputies, &a.FilledSeats, &a.FilledDeputySeats); err != nil {
			return err
		}
		a.OpenSeats = max(a.GetSeats()-a.GetFilledSeats(), 0)
		if a.GetWithDeputies() {
			a.OpenDeputySeats = max(a.GetSeats()-a.GetFilledDeputySeats(), 0)
		}
		byID[groupID].SeatAllocations = append(byID[groupID].SeatAllocations, a)
	}
	return rows.Err()
}

func groupEvent(name string, g *workinggroupsv1.WorkingGroup) outbox.Event {
	return outbox.Event{Kind: kind, Name: name, AggregateID: g.GetId(), Version: etag.Version(g.GetEtag()),
		Region: g.GetRegion(), Programme: g.GetProgramme(), Payload: g}
}

func groupStateName(s workinggroupsv1.WorkingGroup_State) string {
	return strings.TrimPrefix(s.String(), "STATE_")
}

var groupPaths = []string{"name", "mandate", "municipality", "parent_id", "start_date", "end_date",
	"coordinator_person_id", "coordinator_display_name"}

// checkGroupFields validates the fields named by paths.
func checkGroupFields(v *apierr.Violations, g *workinggroupsv1.WorkingGroup, paths map[string]bool) {
	const p = "working_group."
	if paths["name"] {
		check.Localized(v, p+"name", g.GetName(), true, 300)
	}
	if paths["mandate"] {
		check.Localized(v, p+"mandate", g.GetMandate(), true, 5000)
	}
	if paths["municipality"] {
		check.Text(v, p+"municipality", g.GetMunicipality(), 100)
	}
	if paths["parent_id"] {
		check.OptionalID(v, p+"parent_id", g.GetParentId())
	}
	if paths["start_date"] {
		if g.GetStartDate() == "" {
			v.Add(p+"start_date", "is required")
		}
		check.Date(v, p+"start_date", g.GetStartDate())
	}
	if paths["end_date"] {
		check.Date(v, p+"end_date", g.GetEndDate())
	}
	if paths["coordinator_person_id"] {
		check.ID(v, p+"coordinator_person_id", g.GetCoordinatorPersonId())
	}
	if paths["coordinator_display_name"] {
		check.Text(v, p+"coordinator_display_name", g.GetCoordinatorDisplayName(), 200)
	}
}

// checkDates: a group ends on or after the day it starts.
func checkDates(v *apierr.Violations, start, end string) {
	var scratch apierr.Violations
	s, e := check.Date(&scratch, "", start), check.Date(&scratch, "", end)
	if s != nil && e != nil && e.Before(*s) {
		v.Add("working_group.end_date", "must not be before start_date")
	}
}

// checkParent: a sub-group's parent exists, is in the same region ×
// programme, and is ACTIVE. The parent row is locked FOR SHARE, so a
// concurrent close waits for this transaction (and then sees the new
// sub-group) or finishes first (and this one sees CLOSED).
func checkParent(ctx context.Context, tx pgx.Tx, parentID, region, programme, action string) error {
	parent, err := getGroup(ctx, tx, parentID, forShare)
	if connect.CodeOf(err) == connect.CodeNotFound {
		return apierr.InvalidArgument("working_group.parent_id", fmt.Sprintf("there is no working group %s", parentID))
	}
	if err != nil {
		return err
	}
	if parent.GetRegion() != region || parent.GetProgramme() != programme {
		return apierr.InvalidArgument("working_group.parent_id", fmt.Sprintf(
			"parent working group %s is in %s × %s; a sub-group must be in the same region × programme (%s × %s)",
			parentID, parent.GetRegion(), parent.GetProgramme(), region, programme))
	}
	if parent.GetState() != workinggroupsv1.WorkingGroup_STATE_ACTIVE {
		return apierr.InvalidState("working group", parentID, groupStateName(parent.GetState()), action)
	}
	return nil
}

// CreateWorkingGroup: the coordinator of the region × programme, or an admin.
func (s *Service) CreateWorkingGroup(ctx context.Context, req *workinggroupsv1.CreateWorkingGroupRequest) (*workinggroupsv1.CreateWorkingGroupResponse, error) {
	g := req.GetWorkingGroup()
	var v apierr.Violations
	if g == nil {
		v.Add("working_group", "is required")
	}
	check.Slug(&v, "working_group.region", g.GetRegion(), "pohjois-pohjanmaa")
	check.Slug(&v, "working_group.programme", g.GetProgramme(), "ikaihmiset")
	checkGroupFields(&v, g, fieldmask.All(groupPaths))
	checkDates(&v, g.GetStartDate(), g.GetEndDate())
	check.ServerOwned(&v, "working_group", check.Set("id", g.GetId() != ""),
		check.Set("state", g.GetState() != workinggroupsv1.WorkingGroup_STATE_UNSPECIFIED),
		check.Set("close_time", g.GetCloseTime() != nil), check.Set("seat_allocations", len(g.GetSeatAllocations()) > 0),
		check.Set("active_member_count", g.GetActiveMemberCount() != 0),
		check.Set("create_time", g.GetCreateTime() != nil), check.Set("update_time", g.GetUpdateTime() != nil),
		check.Set("etag", g.GetEtag() != ""))
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !canManage(auth.Caller(ctx), g.GetRegion(), g.GetProgramme()) {
		return nil, denyManage(g.GetRegion(), g.GetProgramme())
	}
	hashReq := proto.CloneOf(req)
	hashReq.RequestId = ""
	now := s.now()
	id, err := s.w.Create(ctx, workinggroupsv1connect.WorkingGroupsServiceCreateWorkingGroupProcedure, req.GetRequestId(),
		reqid.Hash(hashReq), ids.New(), func(tx pgx.Tx, id string) ([]outbox.Event, error) {
			if g.GetParentId() != "" {
				if err := checkParent(ctx, tx, g.GetParentId(), g.GetRegion(), g.GetProgramme(), "add a sub-group to"); err != nil {
					return nil, err
				}
			}
			_, err := tx.Exec(ctx, `INSERT INTO workinggroups.working_groups (id, region, programme, municipality, parent_id,
				name_fi, name_sv, name_en, mandate_fi, mandate_sv, mandate_en, start_date, end_date,
				coordinator_person_id, coordinator_display_name, state, create_time, update_time)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'ACTIVE', $16, $16)`,
				id, g.GetRegion(), g.GetProgramme(), strings.TrimSpace(g.GetMunicipality()), db.Null(g.GetParentId()),
				g.GetName().GetFi(), g.GetName().GetSv(), g.GetName().GetEn(),
				g.GetMandate().GetFi(), g.GetMandate().GetSv(), g.GetMandate().GetEn(),
				g.GetStartDate(), db.Null(g.GetEndDate()), g.GetCoordinatorPersonId(), g.GetCoordinatorDisplayName(), now)
			if err != nil {
				return nil, err
			}
			created, err := getGroup(ctx, tx, id, noLock)
			if err != nil {
				return nil, err
			}
			return []outbox.Event{groupEvent("created", created)}, nil
		})
	if err != nil {
		return nil, err
	}
	out, err := getGroup(ctx, s.pool, id, noLock)
	if err != nil {
		return nil, err
	}
	return &workinggroupsv1.CreateWorkingGroupResponse{WorkingGroup: out}, nil
}

// GetWorkingGroup: see canRead.
func (s *Service) GetWorkingGroup(ctx context.Context, req *workinggroupsv1.GetWorkingGroupRequest) (*workinggroupsv1.GetWorkingGroupResponse, error) {
	var v apierr.Violations
	check.ID(&v, "id", req.GetId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	g, err := getGroup(ctx, s.pool, req.GetId(), noLock)
	if err != nil {
		return nil, err
	}
	if !canRead(auth.Caller(ctx), g.GetRegion(), g.GetProgramme()) {
		return nil, denyRead(g.GetRegion(), g.GetProgramme())
	}
	rows, err := s.pool.Query(ctx, `SELECT `+memberColumns+memberFrom+`
		WHERE m.working_group_id = $1 AND m.state = 'ACTIVE'
		ORDER BY array_position(ARRAY['CHAIR', 'SECRETARY', 'MEMBER', 'EXPERT', 'EXPERIENCE_EXPERT'], m.role), m.deputy, m.id`, g.GetId())
	if err != nil {
		return nil, err
	}
	members, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*workinggroupsv1.Member, error) { return scanMember(r) })
	if err != nil {
		return nil, err
	}
	return &workinggroupsv1.GetWorkingGroupResponse{WorkingGroup: g, Members: members}, nil
}

// ListWorkingGroups lists the groups the caller may read.
func (s *Service) ListWorkingGroups(ctx context.Context, req *workinggroupsv1.ListWorkingGroupsRequest) (*workinggroupsv1.ListWorkingGroupsResponse, error) {
	var v apierr.Violations
	check.OptionalSlug(&v, "region", req.GetRegion())
	check.OptionalSlug(&v, "programme", req.GetProgramme())
	check.Text(&v, "municipality", req.GetMunicipality(), 100)
	check.OptionalID(&v, "parent_id", req.GetParentId())
	check.OptionalID(&v, "person_id", req.GetPersonId())
	check.OptionalID(&v, "association_id", req.GetAssociationId())
	if _, ok := workinggroupsv1.WorkingGroup_State_name[int32(req.GetState())]; !ok {
		v.Add("state", "is not a working group state")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	size, err := page.Size(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	state := ""
	if req.GetState() != workinggroupsv1.WorkingGroup_STATE_UNSPECIFIED {
		state = groupStateName(req.GetState())
	}
	filter := page.Fingerprint(req.GetRegion(), req.GetProgramme(), req.GetMunicipality(), req.GetParentId(), state,
		req.GetPersonId(), req.GetAssociationId())
	after, err := page.Decode(req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}
	regions, programmes := auth.PartnerScope(auth.Caller(ctx))
	var list []*workinggroupsv1.WorkingGroup
	changeCursor, err := outbox.ListCursor(ctx, s.pool, Schema, req.GetPageToken() == "", func(q db.DBTX) error {
		rows, err := q.Query(ctx, `SELECT `+groupColumns+` FROM workinggroups.working_groups g
		WHERE ($1::uuid IS NULL OR g.id > $1) AND ($2 = '' OR g.region = $2) AND ($3 = '' OR g.programme = $3)
		AND ($4 = '' OR lower(g.municipality) = lower($4)) AND ($5::uuid IS NULL OR g.parent_id = $5)
		AND ($6 = '' OR g.state = $6)
		AND ($7::uuid IS NULL OR EXISTS (SELECT 1 FROM workinggroups.members m
			WHERE m.working_group_id = g.id AND m.person_id = $7 AND m.state = 'ACTIVE'))
		AND ($8::uuid IS NULL OR EXISTS (SELECT 1 FROM workinggroups.members m
			WHERE m.working_group_id = g.id AND m.association_id = $8 AND m.state = 'ACTIVE'))
		AND `+auth.ScopeSQL("g", 9, 10)+`
		ORDER BY g.id LIMIT $11`,
			db.Null(after), req.GetRegion(), req.GetProgramme(), strings.TrimSpace(req.GetMunicipality()), db.Null(req.GetParentId()),
			state, db.Null(req.GetPersonId()), db.Null(req.GetAssociationId()), regions, programmes, size+1)
		if err != nil {
			return err
		}
		list, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*workinggroupsv1.WorkingGroup, error) { return scanGroup(r) })
		return err
	})
	if err != nil {
		return nil, err
	}
	list, next := page.Trim(list, size, filter)
	if err := loadSeats(ctx, s.pool, list...); err != nil {
		return nil, err
	}
	return &workinggroupsv1.ListWorkingGroupsResponse{WorkingGroups: list, NextPageToken: next, ChangeCursor: changeCursor}, nil
}

// GetWorkingGroupTree: whoever reads the region × programme.
func (s *Service) GetWorkingGroupTree(ctx context.Context, req *workinggroupsv1.GetWorkingGroupTreeRequest) (*workinggroupsv1.GetWorkingGroupTreeResponse, error) {
	var v apierr.Violations
	check.Slug(&v, "region", req.GetRegion(), "pohjois-pohjanmaa")
	check.Slug(&v, "programme", req.GetProgramme(), "ikaihmiset")
	if _, ok := workinggroupsv1.WorkingGroup_State_name[int32(req.GetState())]; !ok {
		v.Add("state", "is not a working group state")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !canRead(auth.Caller(ctx), req.GetRegion(), req.GetProgramme()) {
		return nil, denyRead(req.GetRegion(), req.GetProgramme())
	}
	state := ""
	if req.GetState() != workinggroupsv1.WorkingGroup_STATE_UNSPECIFIED {
		state = groupStateName(req.GetState())
	}
	// Depth-first by the path of ids from the root: UUIDv7 ids sort by
	// creation, so siblings come oldest first.
	rows, err := s.pool.Query(ctx, `WITH RECURSIVE tree AS (
			SELECT g.id, 0 AS depth, ARRAY[g.id] AS path FROM workinggroups.working_groups g
			WHERE g.region = $1 AND g.programme = $2 AND g.parent_id IS NULL AND ($3 = '' OR g.state = $3)
			UNION ALL
			SELECT c.id, t.depth + 1, t.path || c.id FROM workinggroups.working_groups c JOIN tree t ON c.parent_id = t.id
			WHERE ($3 = '' OR c.state = $3) AND NOT c.id = ANY(t.path)
		)
		SELECT `+groupColumns+`, t.depth FROM tree t JOIN workinggroups.working_groups g ON g.id = t.id ORDER BY t.path`,
		req.GetRegion(), req.GetProgramme(), state)
	if err != nil {
		return nil, err
	}
	nodes, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*workinggroupsv1.WorkingGroupTreeNode, error) {
		n := &workinggroupsv1.WorkingGroupTreeNode{}
		g, err := scanGroup(r, &n.Depth)
		n.WorkingGroup = g
		return n, err
	})
	if err != nil {
		return nil, err
	}
	groups := make([]*workinggroupsv1.WorkingGroup, len(nodes))
	for i, n := range nodes {
		groups[i] = n.GetWorkingGroup()
	}
	if err := loadSeats(ctx, s.pool, groups...); err != nil {
		return nil, err
	}
	return &workinggroupsv1.GetWorkingGroupTreeResponse{Nodes: nodes}, nil
}

// treeLock serializes re-parenting within a region × programme, so two
// concurrent moves cannot together make a cycle that neither sees alone.
func treeLock(ctx context.Context, tx pgx.Tx, region, programme string) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, db.LockKey("workinggroups-tree:"+region+"/"+programme))
	return err
}

// UpdateWorkingGroup: the coordinator of the group's region × programme, or
// an admin; only while the group is ACTIVE.
func (s *Service) UpdateWorkingGroup(ctx context.Context, req *workinggroupsv1.UpdateWorkingGroupRequest) (*workinggroupsv1.UpdateWorkingGroupResponse, error) {
	g := req.GetWorkingGroup()
	var v apierr.Violations
	check.ID(&v, "working_group.id", g.GetId())
	paths, err := fieldmask.Paths(req.GetUpdateMask().GetPaths(), groupPaths)
	if err != nil {
		return nil, err
	}
	checkGroupFields(&v, g, paths)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *workinggroupsv1.WorkingGroup
	err = s.w.Write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		if paths["parent_id"] {
			// Re-parenting takes the tree's lock before any row lock, so
			// concurrent moves serialize without deadlocking.
			var region, programme string
			err := tx.QueryRow(ctx, `SELECT region, programme FROM workinggroups.working_groups WHERE id = $1`, g.GetId()).Scan(&region, &programme)
			if err != nil {
				return nil, apierr.IfNotFound(err, "working group", g.GetId())
			}
			if err := treeLock(ctx, tx, region, programme); err != nil {
				return nil, err
			}
		}
		cur, err := getGroup(ctx, tx, g.GetId(), forUpdate)
		if err != nil {
			return nil, err
		}
		if !canManage(auth.Caller(ctx), cur.GetRegion(), cur.GetProgramme()) {
			return nil, denyManage(cur.GetRegion(), cur.GetProgramme())
		}
		if err := etag.Check("working group", cur.GetId(), g.GetEtag(), cur.GetEtag()); err != nil {
			return nil, err
		}
		if cur.GetState() != workinggroupsv1.WorkingGroup_STATE_ACTIVE {
			return nil, apierr.InvalidState("working group", cur.GetId(), groupStateName(cur.GetState()), "update")
		}
		if paths["name"] {
			cur.Name = g.GetName()
		}
		if paths["mandate"] {
			cur.Mandate = g.GetMandate()
		}
		if paths["municipality"] {
			cur.Municipality = strings.TrimSpace(g.GetMunicipality())
		}
		if paths["start_date"] {
			cur.StartDate = g.GetStartDate()
		}
		if paths["end_date"] {
			cur.EndDate = g.GetEndDate()
		}
		if paths["coordinator_person_id"] {
			cur.CoordinatorPersonId = g.GetCoordinatorPersonId()
		}
		if paths["coordinator_display_name"] {
			cur.CoordinatorDisplayName = g.GetCoordinatorDisplayName()
		}
		var dates apierr.Violations
		checkDates(&dates, cur.GetStartDate(), cur.GetEndDate())
		if err := dates.Err(); err != nil {
			return nil, err
		}
		if paths["parent_id"] && g.GetParentId() != cur.GetParentId() {
			if err := s.reparent(ctx, tx, cur, g.GetParentId()); err != nil {
				return nil, err
			}
			cur.ParentId = g.GetParentId()
		}
		if _, err := tx.Exec(ctx, `UPDATE workinggroups.working_groups SET name_fi = $2, name_sv = $3, name_en = $4,
			mandate_fi = $5, mandate_sv = $6, mandate_en = $7, municipality = $8, parent_id = $9, start_date = $10, end_date = $11,
			coordinator_person_id = $12, coordinator_display_name = $13, update_time = $14, version = version + 1
			WHERE id = $1`, cur.GetId(), cur.GetName().GetFi(), cur.GetName().GetSv(), cur.GetName().GetEn(),
			cur.GetMandate().GetFi(), cur.GetMandate().GetSv(), cur.GetMandate().GetEn(), cur.GetMunicipality(),
			db.Null(cur.GetParentId()), cur.GetStartDate(), db.Null(cur.GetEndDate()),
			cur.GetCoordinatorPersonId(), cur.GetCoordinatorDisplayName(), s.now()); err != nil {
			return nil, err
		}
		if out, err = getGroup(ctx, tx, cur.GetId(), noLock); err != nil {
			return nil, err
		}
		return []outbox.Event{groupEvent("updated", out)}, nil
	})
	if err != nil {
		return nil, err
	}
	return &workinggroupsv1.UpdateWorkingGroupResponse{WorkingGroup: out}, nil
}

// reparent checks that cur may move under parentID ("" makes it top-level):
// the new parent is ACTIVE, in the same region × programme, and neither the
// group itself nor one of its descendants. The caller holds the tree lock.
func (s *Service) reparent(ctx context.Context, tx pgx.Tx, cur *workinggroupsv1.WorkingGroup, parentID string) error {
	if parentID == "" {
		return nil
	}
	if parentID == cur.GetId() {
		return apierr.FailedPrecondition("CYCLE", fmt.Sprintf("working group %s cannot be its own parent", cur.GetId()))
	}
	if err := checkParent(ctx, tx, parentID, cur.GetRegion(), cur.GetProgramme(), "move a sub-group under"); err != nil {
		return err
	}
	var cycle bool
	if err := tx.QueryRow(ctx, `WITH RECURSIVE ancestors AS (
			SELECT id, parent_id, ARRAY[id] AS path FROM workinggroups.working_groups WHERE id = $1
			UNION ALL
			SELECT g.id, g.parent_id, a.path || g.id FROM workinggroups.working_groups g JOIN ancestors a ON g.id = a.parent_id
			WHERE NOT g.id = ANY(a.path)
		) SELECT EXISTS (SELECT 1 FROM ancestors WHERE id = $2)`, parentID, cur.GetId()).Scan(&cycle); err != nil {
		return err
	}
	if cycle {
		return apierr.FailedPrecondition("CYCLE", fmt.Sprintf(
			"working group %s cannot move under %s: %s is one of its own sub-groups", cur.GetId(), parentID, parentID))
	}
	return nil
}

// CloseWorkingGroup: the coordinator or an admin closes an ACTIVE group. A
// group with ACTIVE sub-groups is closed only with close_sub_groups, which
// closes them too, recursively. Closing ends the active memberships of every
// group it closes.
func (s *Service) CloseWorkingGroup(ctx context.Context, req *workinggroupsv1.CloseWorkingGroupRequest) (*workinggroupsv1.CloseWorkingGroupResponse, error) {
	var v apierr.Violations
	check.ID(&v, "id", req.GetId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *workinggroupsv1.WorkingGroup
	err := s.w.Write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		cur, err := getGroup(ctx, tx, req.GetId(), forUpdate)
		if err != nil {
			return nil, err
		}
		if !canManage(auth.Caller(ctx), cur.GetRegion(), cur.GetProgramme()) {
			return nil, denyManage(cur.GetRegion(), cur.GetProgramme())
		}
		if err := etag.Check("working group", cur.GetId(), req.GetEtag(), cur.GetEtag()); err != nil {
			return nil, err
		}
		if cur.GetState() != workinggroupsv1.WorkingGroup_STATE_ACTIVE {
			return nil, apierr.InvalidState("working group", cur.GetId(), groupStateName(cur.GetState()), "close")
		}
		// Active descendants, level by level, each level locked before the
		// next is read: a sub-group created concurrently under a locked
		// group commits first and is seen by the next level's statement.
		var closing []string
		level := []string{cur.GetId()}
		for len(level) > 0 {
			rows, err := tx.Query(ctx, `SELECT id::text FROM workinggroups.working_groups
				WHERE parent_id = ANY($1::uuid[]) AND state = 'ACTIVE' ORDER BY id FOR UPDATE`, level)
			if err != nil {
				return nil, err
			}
			children, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return nil, err
			}
			if len(children) > 0 && !req.GetCloseSubGroups() {
				return nil, apierr.FailedPrecondition("ACTIVE_SUB_GROUPS", fmt.Sprintf(
					"working group %s has %d active sub-groups; close them first, or set close_sub_groups to close them too",
					cur.GetId(), len(children)))
			}
			closing = append(closing, children...)
			level = children
		}
		// The deepest sub-groups close first, the group itself last.
		closing = append([]string{cur.GetId()}, closing...)
		now := s.now()
		var events []outbox.Event
		for i := len(closing) - 1; i >= 0; i-- {
			id := closing[i]
			ended, err := s.endMembers(ctx, tx, now, `m.working_group_id = $1`, id)
			if err != nil {
				return nil, err
			}
			events = append(events, ended...)
			if _, err := tx.Exec(ctx, `UPDATE workinggroups.working_groups SET state = 'CLOSED', close_time = $2,
				update_time = $2, version = version + 1 WHERE id = $1`, id, now); err != nil {
				return nil, err
			}
			closed, err := getGroup(ctx, tx, id, noLock)
			if err != nil {
				return nil, err
			}
			events = append(events, groupEvent("closed", closed))
			out = closed
		}
		return events, nil
	})
	if err != nil {
		return nil, err
	}
	return &workinggroupsv1.CloseWorkingGroupResponse{WorkingGroup: out}, nil
}

// seatsWrite runs fn on the locked, ACTIVE group after authorization and the
// etag check, bumps the group's version and publishes seats_updated.
func (s *Service) seatsWrite(ctx context.Context, groupID, etagSeen string, fn func(tx pgx.Tx, g *workinggroupsv1.WorkingGroup) error) (*workinggroupsv1.WorkingGroup, error) {
	var out *workinggroupsv1.WorkingGroup
	err := s.w.Write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		cur, err := getGroup(ctx, tx, groupID, forUpdate)
		if err != nil {
			return nil, err
		}
		if !canManage(auth.Caller(ctx), cur.GetRegion(), cur.GetProgramme()) {
			return nil, denyManage(cur.GetRegion(), cur.GetProgramme())
		}
		if err := etag.Check("working group", cur.GetId(), etagSeen, cur.GetEtag()); err != nil {
			return nil, err
		}
		if cur.GetState() != workinggroupsv1.WorkingGroup_STATE_ACTIVE {
			return nil, apierr.InvalidState("working group", cur.GetId(), groupStateName(cur.GetState()), "change the seats of")
		}
		if err := fn(tx, cur); err != nil {
			return nil, err
		}
		if _, err := tx.Exec(ctx, `UPDATE workinggroups.working_groups SET update_time = $2, version = version + 1 WHERE id = $1`,
			cur.GetId(), s.now()); err != nil {
			return nil, err
		}
		if out, err = getGroup(ctx, tx, cur.GetId(), noLock); err != nil {
			return nil, err
		}
		return []outbox.Event{groupEvent("seats_updated", out)}, nil
	})
	return out, err
}

// SetSeatAllocation: the coordinator or an admin reserves seats for a
// network, or changes the reservation. Seats are a declaration: nominated
// members beyond them are not refused, open_seats just stays at zero.
func (s *Service) SetSeatAllocation(ctx context.Context, req *workinggroupsv1.SetSeatAllocationRequest) (*workinggroupsv1.SetSeatAllocationResponse, error) {
	a := req.GetSeatAllocation()
	var v apierr.Violations
	check.ID(&v, "working_group_id", req.GetWorkingGroupId())
	if a == nil {
		v.Add("seat_allocation", "is required")
	}
	check.ID(&v, "seat_allocation.network_id", a.GetNetworkId())
	if a.GetSeats() < 1 || a.GetSeats() > 100 {
		v.Add("seat_allocation.seats", "must be between 1 and 100")
	}
	check.ServerOwned(&v, "seat_allocation", check.Set("filled_seats", a.GetFilledSeats() != 0), check.Set("open_seats", a.GetOpenSeats() != 0),
		check.Set("filled_deputy_seats", a.GetFilledDeputySeats() != 0), check.Set("open_deputy_seats", a.GetOpenDeputySeats() != 0))
	if err := v.Err(); err != nil {
		return nil, err
	}
	out, err := s.seatsWrite(ctx, req.GetWorkingGroupId(), req.GetEtag(), func(tx pgx.Tx, g *workinggroupsv1.WorkingGroup) error {
		now := s.now()
		_, err := tx.Exec(ctx, `INSERT INTO workinggroups.seat_allocations (working_group_id, network_id, seats, with_deputies,
			create_time, update_time) VALUES ($1, $2, $3, $4, $5, $5)
			ON CONFLICT (working_group_id, network_id) DO UPDATE SET seats = excluded.seats,
			with_deputies = excluded.with_deputies, update_time = excluded.update_time`,
			g.GetId(), a.GetNetworkId(), a.GetSeats(), a.GetWithDeputies(), now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &workinggroupsv1.SetSeatAllocationResponse{WorkingGroup: out}, nil
}

// RemoveSeatAllocation: the coordinator or an admin. Members already
// nominated stay members.
func (s *Service) RemoveSeatAllocation(ctx context.Context, req *workinggroupsv1.RemoveSeatAllocationRequest) (*workinggroupsv1.RemoveSeatAllocationResponse, error) {
	var v apierr.Violations
	check.ID(&v, "working_group_id", req.GetWorkingGroupId())
	check.ID(&v, "network_id", req.GetNetworkId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	out, err := s.seatsWrite(ctx, req.GetWorkingGroupId(), req.GetEtag(), func(tx pgx.Tx, g *workinggroupsv1.WorkingGroup) error {
		tag, err := tx.Exec(ctx, `DELETE FROM workinggroups.seat_allocations WHERE working_group_id = $1 AND network_id = $2`,
			g.GetId(), req.GetNetworkId())
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return apierr.NotFound("seat allocation of network", req.GetNetworkId())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &workinggroupsv1.RemoveSeatAllocationResponse{WorkingGroup: out}, nil
}
