package workinggroups

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

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

const memberColumns = `m.id::text, m.working_group_id::text, m.person_id::text, m.person_display_name, m.role,
	coalesce(m.association_id::text, ''), coalesce(m.network_id::text, ''), m.organisation,
	m.term_start_time, m.term_end_time, m.deputy, coalesce(m.deputy_of::text, ''), m.state, m.end_time, m.source,
	coalesce(m.nomination_id, ''), coalesce(m.seat_network_id::text, ''), g.region, g.programme,
	m.create_time, m.update_time, m.version`

const memberFrom = ` FROM workinggroups.members m JOIN workinggroups.working_groups g ON g.id = m.working_group_id`

func scanMember(r pgx.Row) (*workinggroupsv1.Member, error) {
	x := &workinggroupsv1.Member{}
	var role, state, source, associationID, networkID string
	var organisation *string
	var start, created, updated time.Time
	var termEnd, ended *time.Time
	var version int64
	if err := r.Scan(&x.Id, &x.WorkingGroupId, &x.PersonId, &x.PersonDisplayName, &role,
		&associationID, &networkID, &organisation, &start, &termEnd, &x.Deputy, &x.DeputyOf, &state, &ended, &source,
		&x.NominationId, &x.SeatNetworkId, &x.Region, &x.Programme, &created, &updated, &version); err != nil {
		return nil, err
	}
	x.Role = workinggroupsv1.Member_Role(workinggroupsv1.Member_Role_value["ROLE_"+role])
	x.State = workinggroupsv1.Member_State(workinggroupsv1.Member_State_value["STATE_"+state])
	x.Source = workinggroupsv1.Member_Source(workinggroupsv1.Member_Source_value["SOURCE_"+source])
	switch {
	case associationID != "":
		x.Represents = &workinggroupsv1.Member_AssociationId{AssociationId: associationID}
	case networkID != "":
		x.Represents = &workinggroupsv1.Member_NetworkId{NetworkId: networkID}
	case organisation != nil:
		x.Represents = &workinggroupsv1.Member_Organisation{Organisation: *organisation}
	}
	x.TermStartTime, x.TermEndTime, x.EndTime = timestamppb.New(start), db.Timestamp(termEnd), db.Timestamp(ended)
	x.CreateTime, x.UpdateTime, x.Etag = timestamppb.New(created), timestamppb.New(updated), etag.Of(version)
	return x, nil
}

func getMember(ctx context.Context, q db.DBTX, id string, lock bool) (*workinggroupsv1.Member, error) {
	sql := `SELECT ` + memberColumns + memberFrom + ` WHERE m.id = $1`
	if lock {
		sql += ` FOR UPDATE OF m`
	}
	x, err := scanMember(q.QueryRow(ctx, sql, id))
	return x, apierr.IfNotFound(err, "member", id)
}

// memberEvent: member changes are working group changes, e.g.
// verkosto.changes.pohjois-pohjanmaa.ikaihmiset.working_group.member_added,
// with the member as the aggregate.
func memberEvent(name string, m *workinggroupsv1.Member) outbox.Event {
	return outbox.Event{Kind: kind, Name: name, AggregateID: m.GetId(), Version: etag.Version(m.GetEtag()),
		Region: m.GetRegion(), Programme: m.GetProgramme(), Payload: m}
}

func roleName(r workinggroupsv1.Member_Role) string { return strings.TrimPrefix(r.String(), "ROLE_") }
func memberStateName(s workinggroupsv1.Member_State) string {
	return strings.TrimPrefix(s.String(), "STATE_")
}

// memberRow is what a new member is inserted from.
type memberRow struct {
	id, groupID, personID, displayName string
	role                               workinggroupsv1.Member_Role
	associationID, networkID           string
	organisation                       *string
	termStart                          time.Time
	termEnd                            *time.Time
	deputy                             bool
	deputyOf                           string
	source                             string // DIRECT or NOMINATION
	nominationID, requestID            string
	seat                               int32
	seatNetworkID                      string
}

// insertMember adds an ACTIVE member; the partial unique indexes refuse a
// second active chair and a person's second active membership in a role.
func insertMember(ctx context.Context, tx pgx.Tx, r memberRow, now time.Time) error {
	_, err := tx.Exec(ctx, `INSERT INTO workinggroups.members (id, working_group_id, person_id, person_display_name, role,
		association_id, network_id, organisation, term_start_time, term_end_time, deputy, deputy_of, state, source,
		nomination_id, nomination_request_id, nomination_seat, seat_network_id, create_time, update_time)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'ACTIVE', $13, $14, $15, $16, $17, $18, $18)`,
		r.id, r.groupID, r.personID, r.displayName, roleName(r.role), db.Null(r.associationID), db.Null(r.networkID),
		r.organisation, r.termStart, r.termEnd, r.deputy, db.Null(r.deputyOf), r.source, db.Null(r.nominationID),
		r.requestID, r.seat, db.Null(r.seatNetworkID), now)
	return memberConflict(err, r.groupID, r.personID, r.role)
}

// memberConflict maps the unique indexes to the errors callers see.
func memberConflict(err error, groupID, personID string, role workinggroupsv1.Member_Role) error {
	switch c, ok := db.IsUniqueViolation(err); {
	case ok && c == "members_one_active_chair":
		return apierr.FailedPrecondition("CHAIR_TAKEN", fmt.Sprintf(
			"working group %s already has an active chair; end that membership or change its role first", groupID))
	case ok && c == "members_active_person_role":
		return apierr.AlreadyExists(fmt.Sprintf("person %s is already an active %s of working group %s",
			personID, roleName(role), groupID))
	}
	return err
}

// checkDeputyOf: a deputy stands in for an active, non-deputy member of the
// same group.
func checkDeputyOf(ctx context.Context, q db.DBTX, field, groupID, memberID, deputyOf string) error {
	if deputyOf == "" {
		return nil
	}
	if deputyOf == memberID {
		return apierr.InvalidArgument(field, "a member cannot be their own deputy")
	}
	var state string
	var deputy bool
	err := q.QueryRow(ctx, `SELECT state, deputy FROM workinggroups.members WHERE id = $1 AND working_group_id = $2`,
		deputyOf, groupID).Scan(&state, &deputy)
	if errors.Is(err, pgx.ErrNoRows) {
		return apierr.InvalidArgument(field, fmt.Sprintf("member %s is not a member of working group %s", deputyOf, groupID))
	}
	if err != nil {
		return err
	}
	if state != "ACTIVE" {
		return apierr.InvalidArgument(field, fmt.Sprintf("member %s is %s", deputyOf, state))
	}
	if deputy {
		return apierr.InvalidArgument(field, fmt.Sprintf("member %s is a deputy; a deputy has no deputy", deputyOf))
	}
	return nil
}

func checkRole(v *apierr.Violations, field string, r workinggroupsv1.Member_Role) {
	if _, ok := workinggroupsv1.Member_Role_name[int32(r)]; !ok || r == workinggroupsv1.Member_ROLE_UNSPECIFIED {
		v.Add(field, "is required: CHAIR, SECRETARY, MEMBER, EXPERT or EXPERIENCE_EXPERT")
	}
}

// checkDeputyFields: deputy_of only for deputies, and a deputy is no chair.
func checkDeputyFields(v *apierr.Violations, m *workinggroupsv1.Member) {
	if m.GetDeputyOf() != "" && !m.GetDeputy() {
		v.Add("member.deputy_of", "is only for deputies (set deputy)")
	}
	if m.GetDeputy() && m.GetRole() == workinggroupsv1.Member_ROLE_CHAIR {
		v.Add("member.role", "a deputy cannot be the chair")
	}
}

func checkTerm(v *apierr.Violations, start, end *timestamppb.Timestamp) {
	if end != nil && start != nil && !end.AsTime().After(start.AsTime()) {
		v.Add("member.term_end_time", "must be after term_start_time")
	}
}

// AddMember: the coordinator of the group's region × programme, or an admin,
// adds a member to an ACTIVE group.
func (s *Service) AddMember(ctx context.Context, req *workinggroupsv1.AddMemberRequest) (*workinggroupsv1.AddMemberResponse, error) {
	m := req.GetMember()
	var v apierr.Violations
	if m == nil {
		v.Add("member", "is required")
	}
	check.ID(&v, "member.working_group_id", m.GetWorkingGroupId())
	check.ID(&v, "member.person_id", m.GetPersonId())
	check.Text(&v, "member.person_display_name", m.GetPersonDisplayName(), 200)
	checkRole(&v, "member.role", m.GetRole())
	row := memberRow{groupID: m.GetWorkingGroupId(), personID: m.GetPersonId(), displayName: m.GetPersonDisplayName(),
		role: m.GetRole(), deputy: m.GetDeputy(), deputyOf: m.GetDeputyOf(), source: "DIRECT"}
	switch r := m.GetRepresents().(type) {
	case *workinggroupsv1.Member_AssociationId:
		check.ID(&v, "member.association_id", r.AssociationId)
		row.associationID = r.AssociationId
	case *workinggroupsv1.Member_NetworkId:
		check.ID(&v, "member.network_id", r.NetworkId)
		row.networkID = r.NetworkId
	case *workinggroupsv1.Member_Organisation:
		org := strings.TrimSpace(r.Organisation)
		if org == "" {
			v.Add("member.organisation", "must not be empty when set")
		}
		check.Text(&v, "member.organisation", org, 300)
		row.organisation = &org
	}
	check.OptionalID(&v, "member.deputy_of", m.GetDeputyOf())
	checkDeputyFields(&v, m)
	now := s.now()
	row.termStart = now
	if m.GetTermStartTime() != nil {
		row.termStart = m.GetTermStartTime().AsTime()
	}
	if m.GetTermEndTime() != nil {
		t := m.GetTermEndTime().AsTime()
		row.termEnd = &t
		if !t.After(row.termStart) {
			v.Add("member.term_end_time", "must be after term_start_time")
		}
	}
	check.ServerOwned(&v, "member", check.Set("id", m.GetId() != ""),
		check.Set("state", m.GetState() != workinggroupsv1.Member_STATE_UNSPECIFIED), check.Set("end_time", m.GetEndTime() != nil),
		check.Set("source", m.GetSource() != workinggroupsv1.Member_SOURCE_UNSPECIFIED),
		check.Set("nomination_id", m.GetNominationId() != ""), check.Set("seat_network_id", m.GetSeatNetworkId() != ""),
		check.Set("region", m.GetRegion() != ""), check.Set("programme", m.GetProgramme() != ""),
		check.Set("create_time", m.GetCreateTime() != nil), check.Set("update_time", m.GetUpdateTime() != nil),
		check.Set("etag", m.GetEtag() != ""))
	if err := v.Err(); err != nil {
		return nil, err
	}
	hashReq := proto.CloneOf(req)
	hashReq.RequestId = ""
	id, err := s.w.Create(ctx, workinggroupsv1connect.WorkingGroupsServiceAddMemberProcedure, req.GetRequestId(), reqid.Hash(hashReq), ids.New(),
		func(tx pgx.Tx, id string) ([]outbox.Event, error) {
			// FOR SHARE: members are added concurrently; a close waits.
			g, err := getGroup(ctx, tx, m.GetWorkingGroupId(), forShare)
			if err != nil {
				return nil, err
			}
			if !canManage(auth.Caller(ctx), g.GetRegion(), g.GetProgramme()) {
				return nil, denyManage(g.GetRegion(), g.GetProgramme())
			}
			if g.GetState() != workinggroupsv1.WorkingGroup_STATE_ACTIVE {
				return nil, apierr.InvalidState("working group", g.GetId(), groupStateName(g.GetState()), "add members to")
			}
			if err := checkDeputyOf(ctx, tx, "member.deputy_of", g.GetId(), id, m.GetDeputyOf()); err != nil {
				return nil, err
			}
			row.id = id
			if err := insertMember(ctx, tx, row, now); err != nil {
				return nil, err
			}
			added, err := getMember(ctx, tx, id, false)
			if err != nil {
				return nil, err
			}
			return []outbox.Event{memberEvent("member_added", added)}, nil
		})
	if err != nil {
		return nil, err
	}
	out, err := getMember(ctx, s.pool, id, false)
	if err != nil {
		return nil, err
	}
	return &workinggroupsv1.AddMemberResponse{Member: out}, nil
}

// GetMember: whoever reads the group.
func (s *Service) GetMember(ctx context.Context, req *workinggroupsv1.GetMemberRequest) (*workinggroupsv1.GetMemberResponse, error) {
	var v apierr.Violations
	check.ID(&v, "id", req.GetId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	m, err := getMember(ctx, s.pool, req.GetId(), false)
	if err != nil {
		return nil, err
	}
	if !canRead(auth.Caller(ctx), m.GetRegion(), m.GetProgramme()) {
		return nil, denyRead(m.GetRegion(), m.GetProgramme())
	}
	return &workinggroupsv1.GetMemberResponse{Member: m}, nil
}

var memberPaths = []string{"person_display_name", "role", "term_start_time", "term_end_time", "deputy", "deputy_of"}

// UpdateMember: the coordinator or an admin changes an ACTIVE member.
func (s *Service) UpdateMember(ctx context.Context, req *workinggroupsv1.UpdateMemberRequest) (*workinggroupsv1.UpdateMemberResponse, error) {
	m := req.GetMember()
	var v apierr.Violations
	check.ID(&v, "member.id", m.GetId())
	paths, err := fieldmask.Paths(req.GetUpdateMask().GetPaths(), memberPaths)
	if err != nil {
		return nil, err
	}
	if paths["person_display_name"] {
		check.Text(&v, "member.person_display_name", m.GetPersonDisplayName(), 200)
	}
	if paths["role"] {
		checkRole(&v, "member.role", m.GetRole())
	}
	if paths["term_start_time"] && m.GetTermStartTime() == nil {
		v.Add("member.term_start_time", "is required")
	}
	if paths["deputy_of"] {
		check.OptionalID(&v, "member.deputy_of", m.GetDeputyOf())
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *workinggroupsv1.Member
	err = s.w.Write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		cur, err := getMember(ctx, tx, m.GetId(), true)
		if err != nil {
			return nil, err
		}
		if !canManage(auth.Caller(ctx), cur.GetRegion(), cur.GetProgramme()) {
			return nil, denyManage(cur.GetRegion(), cur.GetProgramme())
		}
		if err := etag.Check("member", cur.GetId(), m.GetEtag(), cur.GetEtag()); err != nil {
			return nil, err
		}
		if cur.GetState() != workinggroupsv1.Member_STATE_ACTIVE {
			return nil, apierr.InvalidState("member", cur.GetId(), memberStateName(cur.GetState()), "update")
		}
		if paths["person_display_name"] {
			cur.PersonDisplayName = m.GetPersonDisplayName()
		}
		if paths["role"] {
			cur.Role = m.GetRole()
		}
		if paths["term_start_time"] {
			cur.TermStartTime = m.GetTermStartTime()
		}
		if paths["term_end_time"] {
			cur.TermEndTime = m.GetTermEndTime()
		}
		if paths["deputy"] {
			cur.Deputy = m.GetDeputy()
			if !cur.GetDeputy() && !paths["deputy_of"] {
				cur.DeputyOf = ""
			}
		}
		if paths["deputy_of"] {
			cur.DeputyOf = m.GetDeputyOf()
		}
		var after apierr.Violations
		checkDeputyFields(&after, cur)
		checkTerm(&after, cur.GetTermStartTime(), cur.GetTermEndTime())
		if err := after.Err(); err != nil {
			return nil, err
		}
		if paths["deputy_of"] {
			if err := checkDeputyOf(ctx, tx, "member.deputy_of", cur.GetWorkingGroupId(), cur.GetId(), cur.GetDeputyOf()); err != nil {
				return nil, err
			}
		}
		var termEnd *time.Time
		if cur.GetTermEndTime() != nil {
			t := cur.GetTermEndTime().AsTime()
			termEnd = &t
		}
		_, err = tx.Exec(ctx, `UPDATE workinggroups.members SET person_display_name = $2, role = $3, term_start_time = $4,
			term_end_time = $5, deputy = $6, deputy_of = $7, update_time = $8, version = version + 1 WHERE id = $1`,
			cur.GetId(), cur.GetPersonDisplayName(), roleName(cur.GetRole()), cur.GetTermStartTime().AsTime(), termEnd,
			cur.GetDeputy(), db.Null(cur.GetDeputyOf()), s.now())
		if err := memberConflict(err, cur.GetWorkingGroupId(), cur.GetPersonId(), cur.GetRole()); err != nil {
			return nil, err
		}
		if out, err = getMember(ctx, tx, cur.GetId(), false); err != nil {
			return nil, err
		}
		return []outbox.Event{memberEvent("member_updated", out)}, nil
	})
	if err != nil {
		return nil, err
	}
	return &workinggroupsv1.UpdateMemberResponse{Member: out}, nil
}

// EndMember: the coordinator or an admin ends an ACTIVE membership now.
func (s *Service) EndMember(ctx context.Context, req *workinggroupsv1.EndMemberRequest) (*workinggroupsv1.EndMemberResponse, error) {
	var v apierr.Violations
	check.ID(&v, "id", req.GetId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *workinggroupsv1.Member
	err := s.w.Write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		cur, err := getMember(ctx, tx, req.GetId(), true)
		if err != nil {
			return nil, err
		}
		if !canManage(auth.Caller(ctx), cur.GetRegion(), cur.GetProgramme()) {
			return nil, denyManage(cur.GetRegion(), cur.GetProgramme())
		}
		if err := etag.Check("member", cur.GetId(), req.GetEtag(), cur.GetEtag()); err != nil {
			return nil, err
		}
		if cur.GetState() != workinggroupsv1.Member_STATE_ACTIVE {
			return nil, apierr.InvalidState("member", cur.GetId(), memberStateName(cur.GetState()), "end")
		}
		events, err := s.endMembers(ctx, tx, s.now(), `m.id = $1`, cur.GetId())
		if err != nil {
			return nil, err
		}
		out = events[0].Payload.(*workinggroupsv1.Member)
		return events, nil
	})
	if err != nil {
		return nil, err
	}
	return &workinggroupsv1.EndMemberResponse{Member: out}, nil
}

// endMembers ends the active members matching where (over alias m) at
// endTime and returns their member_ended changes.
func (s *Service) endMembers(ctx context.Context, tx pgx.Tx, endTime time.Time, where string, args ...any) ([]outbox.Event, error) {
	n := len(args)
	rows, err := tx.Query(ctx, fmt.Sprintf(`UPDATE workinggroups.members m SET state = 'ENDED', end_time = $%d,
		update_time = $%d, version = version + 1
		WHERE %s AND m.state = 'ACTIVE' RETURNING m.id::text`, n+1, n+2, where), append(args, endTime, s.now())...)
	if err != nil {
		return nil, err
	}
	ended, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	var events []outbox.Event
	for _, id := range ended {
		m, err := getMember(ctx, tx, id, false)
		if err != nil {
			return nil, err
		}
		events = append(events, memberEvent("member_ended", m))
	}
	return events, nil
}

// ListMembers: whoever reads the group.
func (s *Service) ListMembers(ctx context.Context, req *workinggroupsv1.ListMembersRequest) (*workinggroupsv1.ListMembersResponse, error) {
	var v apierr.Violations
	check.ID(&v, "working_group_id", req.GetWorkingGroupId())
	if _, ok := workinggroupsv1.Member_State_name[int32(req.GetState())]; !ok {
		v.Add("state", "is not a member state")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	size, err := page.Size(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	state := ""
	if req.GetState() != workinggroupsv1.Member_STATE_UNSPECIFIED {
		state = memberStateName(req.GetState())
	}
	filter := page.Fingerprint(req.GetWorkingGroupId(), state)
	after, err := page.Decode(req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}
	var region, programme string
	err = s.pool.QueryRow(ctx, `SELECT region, programme FROM workinggroups.working_groups WHERE id = $1`,
		req.GetWorkingGroupId()).Scan(&region, &programme)
	if err != nil {
		return nil, apierr.IfNotFound(err, "working group", req.GetWorkingGroupId())
	}
	if !canRead(auth.Caller(ctx), region, programme) {
		return nil, denyRead(region, programme)
	}
	var list []*workinggroupsv1.Member
	changeCursor, err := outbox.ListCursor(ctx, s.pool, Schema, req.GetPageToken() == "", func(q db.DBTX) error {
		rows, err := q.Query(ctx, `SELECT `+memberColumns+memberFrom+`
			WHERE m.working_group_id = $1 AND ($2::uuid IS NULL OR m.id > $2) AND ($3 = '' OR m.state = $3)
			ORDER BY m.id LIMIT $4`, req.GetWorkingGroupId(), db.Null(after), state, size+1)
		if err != nil {
			return err
		}
		list, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*workinggroupsv1.Member, error) { return scanMember(r) })
		return err
	})
	if err != nil {
		return nil, err
	}
	list, next := page.Trim(list, size, filter)
	return &workinggroupsv1.ListMembersResponse{Members: list, NextPageToken: next, ChangeCursor: changeCursor}, nil
}
