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

const leaderColumns = `l.id::text, l.network_id::text, l.person_id::text, l.association_id::text, l.state,
	l.term_start_time, l.term_end_time, l.end_time, l.create_time, l.update_time, l.version, n.region, n.programme,
	p.given_name || ' ' || p.family_name`

const leaderFrom = ` FROM networks.leaders l JOIN networks.networks n ON n.id = l.network_id JOIN networks.persons p ON p.id = l.person_id`

func scanLeader(r pgx.Row) (*networksv1.Leader, error) {
	x := &networksv1.Leader{}
	var state string
	var start, created, updated time.Time
	var termEnd, ended *time.Time
	var version int64
	if err := r.Scan(&x.Id, &x.NetworkId, &x.PersonId, &x.AssociationId, &state, &start, &termEnd, &ended,
		&created, &updated, &version, &x.Region, &x.Programme, &x.PersonDisplayName); err != nil {
		return nil, err
	}
	x.State = networksv1.Leader_State(networksv1.Leader_State_value["STATE_"+state])
	x.TermStartTime, x.CreateTime, x.UpdateTime = timestamppb.New(start), timestamppb.New(created), timestamppb.New(updated)
	x.TermEndTime, x.EndTime = db.Timestamp(termEnd), db.Timestamp(ended)
	x.Etag = etag.Of(version)
	return x, nil
}

func getLeader(ctx context.Context, q db.DBTX, id string, lock bool) (*networksv1.Leader, error) {
	sql := `SELECT ` + leaderColumns + leaderFrom + ` WHERE l.id = $1`
	if lock {
		sql += ` FOR UPDATE OF l`
	}
	x, err := scanLeader(q.QueryRow(ctx, sql, id))
	return x, apierr.IfNotFound(err, "leader", id)
}

func leaderEvent(name string, l *networksv1.Leader) outbox.Event {
	return outbox.Event{Kind: "network", Name: name, AggregateID: l.GetId(), Version: etag.Version(l.GetEtag()),
		Region: l.GetRegion(), Programme: l.GetProgramme(), Payload: l}
}

// AppointLeader: the coordinator of the network's region × programme, or an
// admin. The network row is locked while active leaders are counted, so
// concurrent appointments never exceed max_leaders.
func (s *Service) AppointLeader(ctx context.Context, req *networksv1.AppointLeaderRequest) (*networksv1.AppointLeaderResponse, error) {
	var v apierr.Violations
	check.ID(&v, "network_id", req.GetNetworkId())
	check.ID(&v, "person_id", req.GetPersonId())
	check.ID(&v, "association_id", req.GetAssociationId())
	now := s.now()
	start := now
	if req.GetTermStartTime() != nil {
		start = req.GetTermStartTime().AsTime()
	}
	var termEnd *time.Time
	if req.GetTermEndTime() != nil {
		t := req.GetTermEndTime().AsTime()
		termEnd = &t
		if !t.After(start) {
			v.Add("term_end_time", "must be after term_start_time")
		}
		if !t.After(now) {
			v.Add("term_end_time", "must be in the future")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	hashReq := proto.CloneOf(req)
	hashReq.RequestId = ""
	var out *networksv1.Leader
	id, err := s.w.Create(ctx, networksv1connect.NetworksServiceAppointLeaderProcedure, req.GetRequestId(), reqid.Hash(hashReq), ids.New(),
		func(tx pgx.Tx, id string) ([]outbox.Event, error) {
			n, err := getNetwork(ctx, tx, req.GetNetworkId(), true)
			if err != nil {
				return nil, err
			}
			if !auth.Caller(ctx).Coordinates(n.GetRegion(), n.GetProgramme()) {
				return nil, apierr.Deny("only the coordinator of %s × %s or an admin may appoint leaders", n.GetRegion(), n.GetProgramme())
			}
			var member, affiliated bool
			var active int32
			if err := tx.QueryRow(ctx, `SELECT
				EXISTS (SELECT 1 FROM networks.memberships WHERE network_id = $1 AND association_id = $2 AND state = 'ACTIVE'),
				EXISTS (SELECT 1 FROM networks.affiliations WHERE person_id = $3 AND association_id = $2),
				(SELECT count(*) FROM networks.leaders WHERE network_id = $1 AND state = 'ACTIVE')`,
				req.GetNetworkId(), req.GetAssociationId(), req.GetPersonId()).Scan(&member, &affiliated, &active); err != nil {
				return nil, err
			}
			if _, err := getPerson(ctx, tx, req.GetPersonId()); err != nil {
				return nil, err
			}
			if !member {
				return nil, apierr.FailedPrecondition("NOT_ACTIVE_MEMBER",
					fmt.Sprintf("association %s is not an active member of network %s", req.GetAssociationId(), req.GetNetworkId()))
			}
			if !affiliated {
				return nil, apierr.FailedPrecondition("NOT_AFFILIATED",
					fmt.Sprintf("person %s does not act for association %s", req.GetPersonId(), req.GetAssociationId()))
			}
			if active >= n.GetMaxLeaders() {
				return nil, apierr.FailedPrecondition("TOO_MANY_LEADERS",
					fmt.Sprintf("network %s already has %d of at most %d leaders; end a term first", n.GetId(), active, n.GetMaxLeaders()))
			}
			_, err = tx.Exec(ctx, `INSERT INTO networks.leaders (id, network_id, person_id, association_id, state,
				term_start_time, term_end_time, create_time, update_time) VALUES ($1, $2, $3, $4, 'ACTIVE', $5, $6, $7, $7)`,
				id, req.GetNetworkId(), req.GetPersonId(), req.GetAssociationId(), start, termEnd, now)
			if c, ok := db.IsUniqueViolation(err); ok && c == "leaders_active_person" {
				return nil, apierr.AlreadyExists(fmt.Sprintf("person %s already leads network %s", req.GetPersonId(), req.GetNetworkId()))
			}
			if err != nil {
				return nil, err
			}
			if out, err = getLeader(ctx, tx, id, false); err != nil {
				return nil, err
			}
			return []outbox.Event{leaderEvent("leader_appointed", out)}, nil
		})
	if err != nil {
		return nil, err
	}
	if out == nil { // a retry: the first call created it
		if out, err = getLeader(ctx, s.pool, id, false); err != nil {
			return nil, err
		}
	}
	return &networksv1.AppointLeaderResponse{Leader: out}, nil
}

// EndLeaderTerm: the coordinator, an admin, or the leader themself (stepping down).
func (s *Service) EndLeaderTerm(ctx context.Context, req *networksv1.EndLeaderTermRequest) (*networksv1.EndLeaderTermResponse, error) {
	var v apierr.Violations
	check.ID(&v, "id", req.GetId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *networksv1.Leader
	err := s.w.Write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		l, err := getLeader(ctx, tx, req.GetId(), true)
		if err != nil {
			return nil, err
		}
		p := auth.Caller(ctx)
		if !p.Coordinates(l.GetRegion(), l.GetProgramme()) && (p.PersonID == "" || p.PersonID != l.GetPersonId()) {
			return nil, apierr.Deny("only the coordinator of %s × %s, an admin or the leader themself may end a term", l.GetRegion(), l.GetProgramme())
		}
		if err := etag.Check("leader", l.GetId(), req.GetEtag(), l.GetEtag()); err != nil {
			return nil, err
		}
		if l.GetState() != networksv1.Leader_STATE_ACTIVE {
			return nil, apierr.InvalidState("leader", l.GetId(), strings.TrimPrefix(l.GetState().String(), "STATE_"), "end the term of")
		}
		events, err := s.endLeaders(ctx, tx, `l.id = $1`, req.GetId())
		if err != nil {
			return nil, err
		}
		out = events[0].Payload.(*networksv1.Leader)
		return events, nil
	})
	if err != nil {
		return nil, err
	}
	return &networksv1.EndLeaderTermResponse{Leader: out}, nil
}

// endLeaders ends the active leaders matching where and returns their changes.
func (s *Service) endLeaders(ctx context.Context, tx pgx.Tx, where string, args ...any) ([]outbox.Event, error) {
	now := s.now()
	rows, err := tx.Query(ctx, `UPDATE networks.leaders l SET state = 'ENDED', end_time = $`+fmt.Sprint(len(args)+1)+`,
		update_time = $`+fmt.Sprint(len(args)+1)+`, version = version + 1
		WHERE `+where+` AND l.state = 'ACTIVE' RETURNING l.id::text`, append(args, now)...)
	if err != nil {
		return nil, err
	}
	ended, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	var events []outbox.Event
	for _, id := range ended {
		l, err := getLeader(ctx, tx, id, false)
		if err != nil {
			return nil, err
		}
		events = append(events, leaderEvent("leader_term_ended", l))
	}
	return events, nil
}

// ListLeaders lists leaders the caller may read: as for networks.
func (s *Service) ListLeaders(ctx context.Context, req *networksv1.ListLeadersRequest) (*networksv1.ListLeadersResponse, error) {
	var v apierr.Violations
	check.OptionalID(&v, "network_id", req.GetNetworkId())
	check.OptionalID(&v, "person_id", req.GetPersonId())
	if _, ok := networksv1.Leader_State_name[int32(req.GetState())]; !ok {
		v.Add("state", "is not a leader state")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	size, err := page.Size(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	state := ""
	if req.GetState() != networksv1.Leader_STATE_UNSPECIFIED {
		state = strings.TrimPrefix(req.GetState().String(), "STATE_")
	}
	filter := page.Fingerprint(req.GetNetworkId(), req.GetPersonId(), state)
	after, err := page.Decode(req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}
	regions, programmes := auth.PartnerScope(auth.Caller(ctx))
	var list []*networksv1.Leader
	changeCursor, err := s.snapshotList(ctx, req.GetPageToken() == "", func(q db.DBTX) error {
		rows, err := q.Query(ctx, `SELECT `+leaderColumns+leaderFrom+`
		WHERE ($1::uuid IS NULL OR l.id > $1) AND ($2::uuid IS NULL OR l.network_id = $2)
		AND ($3::uuid IS NULL OR l.person_id = $3) AND ($4 = '' OR l.state = $4)
		AND `+auth.ScopeSQL("n", 5, 6)+`
		ORDER BY l.id LIMIT $7`,
			db.Null(after), db.Null(req.GetNetworkId()), db.Null(req.GetPersonId()), state, regions, programmes, size+1)
		if err != nil {
			return err
		}
		list, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*networksv1.Leader, error) { return scanLeader(r) })
		return err
	})
	if err != nil {
		return nil, err
	}
	list, next := page.Trim(list, size, filter)
	return &networksv1.ListLeadersResponse{Leaders: list, NextPageToken: next, ChangeCursor: changeCursor}, nil
}
