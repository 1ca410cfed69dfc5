package networks

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/check"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/etag"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/page"
	"github.com/verkosto/verkosto/internal/reqid"
)

const membershipColumns = `m.id::text, m.network_id::text, m.association_id::text, m.state, m.application_note, m.decision_note,
	m.apply_time, m.decide_time, m.end_time, m.create_time, m.update_time, m.version, n.region, n.programme`

const membershipFrom = ` FROM networks.memberships m JOIN networks.networks n ON n.id = m.network_id`

func scanMembership(r pgx.Row) (*networksv1.Membership, error) {
	x := &networksv1.Membership{}
	var state string
	var applied, created, updated time.Time
	var decided, ended *time.Time
	var version int64
	if err := r.Scan(&x.Id, &x.NetworkId, &x.AssociationId, &state, &x.ApplicationNote, &x.DecisionNote,
		&applied, &decided, &ended, &created, &updated, &version, &x.Region, &x.Programme); err != nil {
		return nil, err
	}
	x.State = networksv1.Membership_State(networksv1.Membership_State_value["STATE_"+state])
	x.ApplyTime, x.CreateTime, x.UpdateTime = timestamppb.New(applied), timestamppb.New(created), timestamppb.New(updated)
	x.DecideTime, x.EndTime = db.Timestamp(decided), db.Timestamp(ended)
	x.Etag = etag.Of(version)
	return x, nil
}

func getMembership(ctx context.Context, q db.DBTX, id string, lock bool) (*networksv1.Membership, int64, error) {
	sql := `SELECT ` + membershipColumns + membershipFrom + ` WHERE m.id = $1`
	if lock {
		sql += ` FOR UPDATE OF m`
	}
	x, err := scanMembership(q.QueryRow(ctx, sql, id))
	if err != nil {
		return nil, 0, apierr.IfNotFound(err, "membership", id)
	}
	return x, etag.Version(x.GetEtag()), nil
}

// membershipEvent: membership changes are changes of the network, e.g.
// verkosto.changes.pohjois-pohjanmaa.lape.network.member_approved, with the
// membership as the aggregate.
func membershipEvent(name string, m *networksv1.Membership) outbox.Event {
	return outbox.Event{Kind: "network", Name: name, AggregateID: m.GetId(), Version: etag.Version(m.GetEtag()),
		Region: m.GetRegion(), Programme: m.GetProgramme(), Payload: m}
}

func stateName(s networksv1.Membership_State) string {
	return strings.TrimPrefix(s.String(), "STATE_")
}

// ApplyMembership: the association's contact (or the network's coordinator
// on its behalf) applies; the membership starts PENDING.
func (s *Service) ApplyMembership(ctx context.Context, req *networksv1.ApplyMembershipRequest) (*networksv1.ApplyMembershipResponse, error) {
	var v apierr.Violations
	check.ID(&v, "network_id", req.GetNetworkId())
	check.ID(&v, "association_id", req.GetAssociationId())
	check.Text(&v, "application_note", req.GetApplicationNote(), 2000)
	if err := v.Err(); err != nil {
		return nil, err
	}
	hashReq := proto.CloneOf(req)
	hashReq.RequestId = ""
	now := s.now()
	var out *networksv1.Membership
	id, err := s.w.Create(ctx, networksv1connect.NetworksServiceApplyMembershipProcedure, req.GetRequestId(), reqid.Hash(hashReq), ids.New(),
		func(tx pgx.Tx, id string) ([]outbox.Event, error) {
			var region, programme string
			if err := tx.QueryRow(ctx, `SELECT region, programme FROM networks.networks WHERE id = $1`, req.GetNetworkId()).Scan(&region, &programme); err != nil {
				return nil, apierr.IfNotFound(err, "network", req.GetNetworkId())
			}
			p := auth.Caller(ctx)
			if !p.ActsFor(req.GetAssociationId()) && !p.Coordinates(region, programme) {
				return nil, apierr.Deny("only the association's contact or the network's coordinator may apply for membership")
			}
			if _, err := getAssociation(ctx, tx, req.GetAssociationId()); err != nil {
				return nil, err
			}
			_, err := tx.Exec(ctx, `INSERT INTO networks.memberships (id, network_id, association_id, state, application_note,
				apply_time, create_time, update_time) VALUES ($1, $2, $3, 'PENDING', $4, $5, $5, $5)`,
				id, req.GetNetworkId(), req.GetAssociationId(), req.GetApplicationNote(), now)
			if c, ok := db.IsUniqueViolation(err); ok && c == "memberships_open" {
				return nil, apierr.AlreadyExists(fmt.Sprintf("association %s already has a pending or active membership in network %s",
					req.GetAssociationId(), req.GetNetworkId()))
			}
			if err != nil {
				return nil, err
			}
			if out, _, err = getMembership(ctx, tx, id, false); err != nil {
				return nil, err
			}
			return []outbox.Event{membershipEvent("member_applied", out)}, nil
		})
	if err != nil {
		return nil, err
	}
	if out == nil { // a retry: the first call created it
		if out, _, err = getMembership(ctx, s.pool, id, false); err != nil {
			return nil, err
		}
	}
	return &networksv1.ApplyMembershipResponse{Membership: out}, nil
}

// transition is one step of the membership state machine.
type transition struct {
	action string // for messages: "approve"
	change string // change name: "member_approved"
	from   networksv1.Membership_State
	to     networksv1.Membership_State
	// allowed says whether p may take the step on m.
	allowed func(p *auth.Principal, m *networksv1.Membership) bool
	who     string // for the denial message
	// decided/ended set decide_time or end_time.
	decided, ended bool
}

func leaderOrCoordinator(p *auth.Principal, m *networksv1.Membership) bool {
	return p.Leads(m.GetNetworkId()) || p.Coordinates(m.GetRegion(), m.GetProgramme())
}

func associationContact(p *auth.Principal, m *networksv1.Membership) bool {
	return p.ActsFor(m.GetAssociationId()) || p.IsAdmin()
}

var (
	approve = transition{action: "approve", change: "member_approved", from: networksv1.Membership_STATE_PENDING,
		to: networksv1.Membership_STATE_ACTIVE, allowed: leaderOrCoordinator, who: "a leader of the network or its coordinator", decided: true}
	reject = transition{action: "reject", change: "member_rejected", from: networksv1.Membership_STATE_PENDING,
		to: networksv1.Membership_STATE_REJECTED, allowed: leaderOrCoordinator, who: "a leader of the network or its coordinator", decided: true}
	leave = transition{action: "leave", change: "member_left", from: networksv1.Membership_STATE_ACTIVE,
		to: networksv1.Membership_STATE_LEFT, allowed: associationContact, who: "the association's contact", ended: true}
	remove = transition{action: "remove", change: "member_removed", from: networksv1.Membership_STATE_ACTIVE,
		to: networksv1.Membership_STATE_REMOVED, allowed: leaderOrCoordinator, who: "a leader of the network or its coordinator", ended: true}
)

// step applies t to membership id: authorization, etag and current state are
// checked on the locked row, so concurrent steps serialize and only one wins.
func (s *Service) step(ctx context.Context, t transition, id, etagSeen, note string) (*networksv1.Membership, error) {
	var v apierr.Violations
	check.ID(&v, "id", id)
	check.Text(&v, "decision_note", note, 2000)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *networksv1.Membership
	err := s.w.Write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		m, version, err := getMembership(ctx, tx, id, true)
		if err != nil {
			return nil, err
		}
		if !t.allowed(auth.Caller(ctx), m) {
			return nil, apierr.Deny("only %s may %s membership %s", t.who, t.action, id)
		}
		if err := etag.Check("membership", id, etagSeen, etag.Of(version)); err != nil {
			return nil, err
		}
		if m.GetState() != t.from {
			return nil, apierr.InvalidState("membership", id, stateName(m.GetState()), t.action)
		}
		now := s.now()
		var decided, ended *time.Time
		if t.decided {
			decided = &now
		}
		if t.ended {
			ended = &now
		}
		if _, err := tx.Exec(ctx, `UPDATE networks.memberships SET state = $2, decision_note = CASE WHEN $3 = '' THEN decision_note ELSE $3 END,
			decide_time = coalesce($4, decide_time), end_time = coalesce($5, end_time), update_time = $6, version = version + 1
			WHERE id = $1`, id, stateName(t.to), note, decided, ended, now); err != nil {
			return nil, err
		}
		if out, _, err = getMembership(ctx, tx, id, false); err != nil {
			return nil, err
		}
		events := []outbox.Event{membershipEvent(t.change, out)}
		if t.ended {
			// A leader's mandate rests on their association's membership.
			more, err := s.endLeaders(ctx, tx, `l.network_id = $1 AND l.association_id = $2`, m.GetNetworkId(), m.GetAssociationId())
			if err != nil {
				return nil, err
			}
			events = append(events, more...)
		}
		return events, nil
	})
	return out, err
}

// ApproveMembership: a leader of the network or its coordinator.
func (s *Service) ApproveMembership(ctx context.Context, req *networksv1.ApproveMembershipRequest) (*networksv1.ApproveMembershipResponse, error) {
	m, err := s.step(ctx, approve, req.GetId(), req.GetEtag(), "")
	if err != nil {
		return nil, err
	}
	return &networksv1.ApproveMembershipResponse{Membership: m}, nil
}

// RejectMembership: a leader of the network or its coordinator.
func (s *Service) RejectMembership(ctx context.Context, req *networksv1.RejectMembershipRequest) (*networksv1.RejectMembershipResponse, error) {
	m, err := s.step(ctx, reject, req.GetId(), req.GetEtag(), req.GetDecisionNote())
	if err != nil {
		return nil, err
	}
	return &networksv1.RejectMembershipResponse{Membership: m}, nil
}

// LeaveMembership: the association's contact.
func (s *Service) LeaveMembership(ctx context.Context, req *networksv1.LeaveMembershipRequest) (*networksv1.LeaveMembershipResponse, error) {
	m, err := s.step(ctx, leave, req.GetId(), req.GetEtag(), "")
	if err != nil {
		return nil, err
	}
	return &networksv1.LeaveMembershipResponse{Membership: m}, nil
}

// RemoveMembership: a leader of the network or its coordinator.
func (s *Service) RemoveMembership(ctx context.Context, req *networksv1.RemoveMembershipRequest) (*networksv1.RemoveMembershipResponse, error) {
	m, err := s.step(ctx, remove, req.GetId(), req.GetEtag(), req.GetDecisionNote())
	if err != nil {
		return nil, err
	}
	return &networksv1.RemoveMembershipResponse{Membership: m}, nil
}

// canReadMembership: the association's contact, and whoever reads the network.
func canReadMembership(p *auth.Principal, m *networksv1.Membership) bool {
	return p.ActsFor(m.GetAssociationId()) || canReadNetwork(p, m.GetRegion(), m.GetProgramme())
}

// GetMembership: see canReadMembership.
func (s *Service) GetMembership(ctx context.Context, req *networksv1.GetMembershipRequest) (*networksv1.GetMembershipResponse, error) {
	var v apierr.Violations
	check.ID(&v, "id", req.GetId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	m, _, err := getMembership(ctx, s.pool, req.GetId(), false)
	if err != nil {
		return nil, err
	}
	if !canReadMembership(auth.Caller(ctx), m) {
		return nil, apierr.Deny("your credential does not cover %s × %s", m.GetRegion(), m.GetProgramme())
	}
	return &networksv1.GetMembershipResponse{Membership: m}, nil
}

// ListMemberships lists the memberships the caller may read.
func (s *Service) ListMemberships(ctx context.Context, req *networksv1.ListMembershipsRequest) (*networksv1.ListMembershipsResponse, error) {
	var v apierr.Violations
	check.OptionalID(&v, "network_id", req.GetNetworkId())
	check.OptionalID(&v, "association_id", req.GetAssociationId())
	if _, ok := networksv1.Membership_State_name[int32(req.GetState())]; !ok {
		v.Add("state", "is not a membership state")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	size, err := page.Size(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	state := ""
	if req.GetState() != networksv1.Membership_STATE_UNSPECIFIED {
		state = stateName(req.GetState())
	}
	filter := page.Fingerprint(req.GetNetworkId(), req.GetAssociationId(), state)
	after, err := page.Decode(req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}
	regions, programmes := auth.PartnerScope(auth.Caller(ctx))
	var list []*networksv1.Membership
	changeCursor, err := s.snapshotList(ctx, req.GetPageToken() == "", func(q db.DBTX) error {
		rows, err := q.Query(ctx, `SELECT `+membershipColumns+membershipFrom+`
		WHERE ($1::uuid IS NULL OR m.id > $1) AND ($2::uuid IS NULL OR m.network_id = $2)
		AND ($3::uuid IS NULL OR m.association_id = $3) AND ($4 = '' OR m.state = $4)
		AND `+auth.ScopeSQL("n", 5, 6)+`
		ORDER BY m.id LIMIT $7`,
			db.Null(after), db.Null(req.GetNetworkId()), db.Null(req.GetAssociationId()), state, regions, programmes, size+1)
		if err != nil {
			return err
		}
		list, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*networksv1.Membership, error) { return scanMembership(r) })
		return err
	})
	if err != nil {
		return nil, err
	}
	list, next := page.Trim(list, size, filter)
	return &networksv1.ListMembershipsResponse{Memberships: list, NextPageToken: next, ChangeCursor: changeCursor}, nil
}
