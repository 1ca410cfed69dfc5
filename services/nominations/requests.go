package nominations

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	changesv1 "github.com/verkosto/verkosto/gen/verkosto/changes/v1"
	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	nominationsv1 "github.com/verkosto/verkosto/gen/verkosto/nominations/v1"
	"github.com/verkosto/verkosto/gen/verkosto/nominations/v1/nominationsv1connect"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/check"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/etag"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/page"
	"github.com/verkosto/verkosto/internal/reqid"
)

type request = nominationsv1.RepresentationRequest

const (
	requestOpen      = nominationsv1.RepresentationRequest_STATE_OPEN
	requestFilled    = nominationsv1.RepresentationRequest_STATE_FILLED
	requestClosed    = nominationsv1.RepresentationRequest_STATE_CLOSED
	requestCancelled = nominationsv1.RepresentationRequest_STATE_CANCELLED
)

const requestColumns = `r.id::text, coalesce(r.working_group_id::text, ''), r.body_name_fi, r.body_name_sv, r.body_name_en,
	r.region, r.programme, r.network_id::text, r.network_region, r.network_programme, r.seats, r.with_deputies,
	r.description_fi, r.description_sv, r.description_en, r.nomination_deadline, r.term_start, r.term_end,
	r.state, r.state_time, r.cancel_reason, r.create_time, r.update_time, r.version,
	(SELECT count(*)::int FROM nominations.nominations c WHERE c.request_id = r.id AND c.state = 'CONFIRMED' AND NOT c.deputy),
	(SELECT count(*)::int FROM nominations.nominations c WHERE c.request_id = r.id AND c.state = 'CONFIRMED' AND c.deputy)`

// scanRequest reads a row of requestColumns; derived fields that depend on
// the clock are filled in by Service.derive.
func scanRequest(r pgx.Row) (*request, error) {
	x := &request{BodyName: &commonv1.LocalizedText{}, Description: &commonv1.LocalizedText{}}
	var state string
	var deadline, start, end, created, updated time.Time
	var stateTime *time.Time
	var version int64
	if err := r.Scan(&x.Id, &x.WorkingGroupId, &x.BodyName.Fi, &x.BodyName.Sv, &x.BodyName.En,
		&x.Region, &x.Programme, &x.NetworkId, &x.NetworkRegion, &x.NetworkProgramme, &x.Seats, &x.WithDeputies,
		&x.Description.Fi, &x.Description.Sv, &x.Description.En, &deadline, &start, &end,
		&state, &stateTime, &x.CancelReason, &created, &updated, &version, &x.FilledSeats, &x.FilledDeputySeats); err != nil {
		return nil, err
	}
	x.State = nominationsv1.RepresentationRequest_State(nominationsv1.RepresentationRequest_State_value["STATE_"+state])
	x.NominationDeadlineTime, x.TermStartTime, x.TermEndTime = timestamppb.New(deadline), timestamppb.New(start), timestamppb.New(end)
	x.StateTime = db.Timestamp(stateTime)
	x.CreateTime, x.UpdateTime, x.Etag = timestamppb.New(created), timestamppb.New(updated), etag.Of(version)
	return x, nil
}

// getRequest reads one request; lock is noLock or forUpdate. Every
// transition of a request or of its nominations locks the request row
// first, so they serialize per request and seats are never overfilled.
func (s *Service) getRequest(ctx context.Context, q db.DBTX, id, lock string) (*request, error) {
	sql := `SELECT ` + requestColumns + ` FROM nominations.representation_requests r WHERE r.id = $1`
	if lock == forUpdate {
		sql += ` FOR UPDATE OF r`
	}
	x, err := scanRequest(q.QueryRow(ctx, sql, id))
	if err != nil {
		return nil, apierr.IfNotFound(err, "representation request", id)
	}
	s.derive(x)
	return x, nil
}

// derive fills in seats_needing_nomination: open member and deputy seats,
// and, when the term ends within the notice, the held ones too; none once
// the request is cancelled or its term has ended.
func (s *Service) derive(x *request) {
	now := s.now()
	x.SeatsNeedingNomination = 0
	if x.GetState() == requestCancelled || !now.Before(x.GetTermEndTime().AsTime()) {
		return
	}
	slots, filled := x.GetSeats(), x.GetFilledSeats()
	if x.GetWithDeputies() {
		slots += x.GetSeats()
		filled += x.GetFilledDeputySeats()
	}
	if s.termEnding(x.GetTermEndTime().AsTime()) {
		x.SeatsNeedingNomination = slots
		return
	}
	x.SeatsNeedingNomination = max(slots-filled, 0)
}

// termEnding reports a term that ends within the notice period.
func (s *Service) termEnding(end time.Time) bool {
	return !s.now().Add(s.notice).Before(end)
}

func requestEvent(name string, r *request) outbox.Event {
	return outbox.Event{Kind: kindRequest, Name: name, AggregateID: r.GetId(), Version: etag.Version(r.GetEtag()),
		Region: r.GetRegion(), Programme: r.GetProgramme(), Payload: r}
}

func requestStateName(st nominationsv1.RepresentationRequest_State) string {
	return strings.TrimPrefix(st.String(), "STATE_")
}

// expired reports an OPEN request whose nomination deadline has passed.
func (s *Service) expired(r *request) bool {
	return r.GetState() == requestOpen && s.now().After(r.GetNominationDeadlineTime().AsTime())
}

// termEnded reports a request whose term has ended.
func (s *Service) termEnded(r *request) bool {
	return !s.now().Before(r.GetTermEndTime().AsTime())
}

// expire closes r (locked FOR UPDATE) when its deadline passed while OPEN,
// and returns the change; r is updated in place.
func (s *Service) expire(ctx context.Context, tx pgx.Tx, r *request) ([]change, error) {
	if !s.expired(r) {
		return nil, nil
	}
	if _, err := tx.Exec(ctx, `UPDATE nominations.representation_requests SET state = 'CLOSED', state_time = nomination_deadline,
		update_time = $2, version = version + 1 WHERE id = $1`, r.GetId(), s.now()); err != nil {
		return nil, err
	}
	closed, err := s.getRequest(ctx, tx, r.GetId(), noLock)
	if err != nil {
		return nil, err
	}
	proto.Reset(r)
	proto.Merge(r, closed)
	return []change{{ev: requestEvent("closed", closed), requestID: r.GetId(), from: "OPEN", to: "CLOSED",
		note: "the nomination deadline passed"}}, nil
}

// closeExpired closes the OPEN requests whose deadline passed (one request,
// or all when requestID is ""), as the system: the term job does it daily,
// reads do it for what they are about to show.
func (s *Service) closeExpired(ctx context.Context, requestID string) (int, error) {
	var due bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM nominations.representation_requests
		WHERE state = 'OPEN' AND nomination_deadline < $1 AND ($2::uuid IS NULL OR id = $2))`,
		s.now(), db.Null(requestID)).Scan(&due); err != nil || !due {
		return 0, err
	}
	closed := 0
	err := s.write(auth.WithPrincipal(ctx, auth.System), func(tx pgx.Tx) ([]change, error) {
		closed = 0
		rows, err := tx.Query(ctx, `SELECT id::text FROM nominations.representation_requests
			WHERE state = 'OPEN' AND nomination_deadline < $1 AND ($2::uuid IS NULL OR id = $2) ORDER BY id FOR UPDATE`,
			s.now(), db.Null(requestID))
		if err != nil {
			return nil, err
		}
		list, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		var changes []change
		for _, id := range list {
			r, err := s.getRequest(ctx, tx, id, noLock)
			if err != nil {
				return nil, err
			}
			more, err := s.expire(ctx, tx, r)
			if err != nil {
				return nil, err
			}
			closed += len(more)
			changes = append(changes, more...)
		}
		return changes, nil
	})
	return closed, err
}

// checkTimestamp requires a valid timestamp.
func checkTimestamp(v *apierr.Violations, field string, t *timestamppb.Timestamp) bool {
	if t == nil {
		v.Add(field, "is required")
		return false
	}
	if err := t.CheckValid(); err != nil {
		v.Add(field, "is not a valid time")
		return false
	}
	return true
}

// CreateRepresentationRequest: the coordinator of the requester's region ×
// programme, or an admin. The network must be known from the networks
// service's changes.
func (s *Service) CreateRepresentationRequest(ctx context.Context, req *nominationsv1.CreateRepresentationRequestRequest) (*nominationsv1.CreateRepresentationRequestResponse, error) {
	r := req.GetRepresentationRequest()
	const p = "representation_request."
	var v apierr.Violations
	if r == nil {
		v.Add("representation_request", "is required")
	}
	check.OptionalID(&v, p+"working_group_id", r.GetWorkingGroupId())
	check.Localized(&v, p+"body_name", r.GetBodyName(), true, 300)
	check.Slug(&v, p+"region", r.GetRegion(), "pohjois-pohjanmaa")
	check.Slug(&v, p+"programme", r.GetProgramme(), "lape")
	check.ID(&v, p+"network_id", r.GetNetworkId())
	if r.GetSeats() < 1 || r.GetSeats() > 100 {
		v.Add(p+"seats", "must be between 1 and 100")
	}
	check.Localized(&v, p+"description", r.GetDescription(), true, 5000)
	now := s.now()
	deadlineOK := checkTimestamp(&v, p+"nomination_deadline_time", r.GetNominationDeadlineTime())
	startOK := checkTimestamp(&v, p+"term_start_time", r.GetTermStartTime())
	endOK := checkTimestamp(&v, p+"term_end_time", r.GetTermEndTime())
	if deadlineOK && !r.GetNominationDeadlineTime().AsTime().After(now) {
		v.Add(p+"nomination_deadline_time", "must be in the future")
	}
	if startOK && endOK && !r.GetTermEndTime().AsTime().After(r.GetTermStartTime().AsTime()) {
		v.Add(p+"term_end_time", "must be after term_start_time")
	}
	if deadlineOK && endOK && !r.GetTermEndTime().AsTime().After(r.GetNominationDeadlineTime().AsTime()) {
		v.Add(p+"term_end_time", "must be after nomination_deadline_time")
	}
	check.ServerOwned(&v, "representation_request", check.Set("id", r.GetId() != ""),
		check.Set("network_region", r.GetNetworkRegion() != ""), check.Set("network_programme", r.GetNetworkProgramme() != ""),
		check.Set("state", r.GetState() != nominationsv1.RepresentationRequest_STATE_UNSPECIFIED),
		check.Set("state_time", r.GetStateTime() != nil), check.Set("cancel_reason", r.GetCancelReason() != ""),
		check.Set("filled_seats", r.GetFilledSeats() != 0), check.Set("filled_deputy_seats", r.GetFilledDeputySeats() != 0),
		check.Set("seats_needing_nomination", r.GetSeatsNeedingNomination() != 0),
		check.Set("create_time", r.GetCreateTime() != nil), check.Set("update_time", r.GetUpdateTime() != nil),
		check.Set("etag", r.GetEtag() != ""))
	if err := v.Err(); err != nil {
		return nil, err
	}
	if !canManage(auth.Caller(ctx), r.GetRegion(), r.GetProgramme()) {
		return nil, denyManage(r.GetRegion(), r.GetProgramme(), "ask for representatives")
	}
	hashReq := proto.CloneOf(req)
	hashReq.RequestId = ""
	id, err := s.create(ctx, nominationsv1connect.NominationsServiceCreateRepresentationRequestProcedure, req.GetRequestId(),
		reqid.Hash(hashReq), func(tx pgx.Tx, id string) ([]change, error) {
			var netRegion, netProgramme string
			err := tx.QueryRow(ctx, `SELECT region, programme FROM nominations.projected_networks WHERE id = $1`,
				r.GetNetworkId()).Scan(&netRegion, &netProgramme)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil, apierr.FailedPrecondition("NETWORK_NOT_FOUND", fmt.Sprintf(
					"network %s is not known to the nominations service (a network created a moment ago arrives within seconds; retry)",
					r.GetNetworkId()))
			}
			if err != nil {
				return nil, err
			}
			_, err = tx.Exec(ctx, `INSERT INTO nominations.representation_requests (id, working_group_id,
				body_name_fi, body_name_sv, body_name_en, region, programme, network_id, network_region, network_programme,
				seats, with_deputies, description_fi, description_sv, description_en, nomination_deadline, term_start, term_end,
				state, create_time, update_time)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, 'OPEN', $19, $19)`,
				id, db.Null(r.GetWorkingGroupId()), strings.TrimSpace(r.GetBodyName().GetFi()), strings.TrimSpace(r.GetBodyName().GetSv()),
				strings.TrimSpace(r.GetBodyName().GetEn()), r.GetRegion(), r.GetProgramme(), r.GetNetworkId(), netRegion, netProgramme,
				r.GetSeats(), r.GetWithDeputies(), r.GetDescription().GetFi(), r.GetDescription().GetSv(), r.GetDescription().GetEn(),
				r.GetNominationDeadlineTime().AsTime(), r.GetTermStartTime().AsTime(), r.GetTermEndTime().AsTime(), now)
			if err != nil {
				return nil, err
			}
			created, err := s.getRequest(ctx, tx, id, noLock)
			if err != nil {
				return nil, err
			}
			return []change{{ev: requestEvent("created", created), requestID: id, to: "OPEN"}}, nil
		})
	if err != nil {
		return nil, err
	}
	out, err := s.getRequest(ctx, s.pool, id, noLock)
	if err != nil {
		return nil, err
	}
	return &nominationsv1.CreateRepresentationRequestResponse{RepresentationRequest: out}, nil
}

// GetRepresentationRequest: see canRead. A request whose deadline passed
// while OPEN is closed first.
func (s *Service) GetRepresentationRequest(ctx context.Context, req *nominationsv1.GetRepresentationRequestRequest) (*nominationsv1.GetRepresentationRequestResponse, error) {
	var v apierr.Violations
	check.ID(&v, "id", req.GetId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	if _, err := s.closeExpired(ctx, req.GetId()); err != nil {
		return nil, err
	}
	r, err := s.getRequest(ctx, s.pool, req.GetId(), noLock)
	if err != nil {
		return nil, err
	}
	if !canRead(auth.Caller(ctx), r.GetRegion(), r.GetProgramme()) {
		return nil, denyRead(r.GetRegion(), r.GetProgramme())
	}
	rows, err := s.pool.Query(ctx, `SELECT `+nominationColumns+nominationFrom+` WHERE n.request_id = $1 ORDER BY n.id`, r.GetId())
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*nominationsv1.Nomination, error) { return scanNomination(row) })
	if err != nil {
		return nil, err
	}
	seats, unassigned := s.seats(r, list)
	history, err := s.history(ctx, `h.request_id = $1`, r.GetId())
	if err != nil {
		return nil, err
	}
	return &nominationsv1.GetRepresentationRequestResponse{RepresentationRequest: r, Seats: seats, Unassigned: unassigned,
		Nominations: list, History: history}, nil
}

// seats lays the request's nominations out on its seats.
func (s *Service) seats(r *request, list []*nominationsv1.Nomination) (seats []*nominationsv1.Seat, unassigned []*nominationsv1.Nomination) {
	seats = make([]*nominationsv1.Seat, r.GetSeats())
	for i := range seats {
		seats[i] = &nominationsv1.Seat{Number: int32(i + 1)}
	}
	for _, n := range list {
		pending := n.GetState() == nominationProposed || n.GetState() == nominationAccepted
		switch {
		case n.GetSeat() == 0 && pending:
			unassigned = append(unassigned, n)
		case n.GetSeat() < 1 || int(n.GetSeat()) > len(seats):
		case n.GetState() == nominationConfirmed && n.GetDeputy():
			seats[n.GetSeat()-1].Deputy = n
		case n.GetState() == nominationConfirmed:
			seats[n.GetSeat()-1].Holder = n
		case pending:
			seats[n.GetSeat()-1].Pending = append(seats[n.GetSeat()-1].Pending, n)
		}
	}
	live := r.GetState() != requestCancelled && !s.termEnded(r)
	for _, seat := range seats {
		seat.NeedsNomination = live && (seat.GetHolder() == nil || s.termEnding(seat.GetHolder().GetTermEndTime().AsTime()))
		seat.NeedsDeputyNomination = live && r.GetWithDeputies() &&
			(seat.GetDeputy() == nil || s.termEnding(seat.GetDeputy().GetTermEndTime().AsTime()))
	}
	return seats, unassigned
}

// history lists history entries matching where, oldest first.
func (s *Service) history(ctx context.Context, where string, args ...any) ([]*nominationsv1.HistoryEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT h.time, h.kind, h.change, coalesce(h.nomination_id::text, h.request_id::text),
		h.from_state, h.to_state, h.actor_id, h.actor_name, h.actor_person_id, h.note
		FROM nominations.history h WHERE `+where+` ORDER BY h.time, h.id`, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (*nominationsv1.HistoryEntry, error) {
		x := &nominationsv1.HistoryEntry{Actor: &changesv1.Actor{}}
		var t time.Time
		if err := row.Scan(&t, &x.Kind, &x.Change, &x.AggregateId, &x.FromState, &x.ToState,
			&x.Actor.Id, &x.Actor.DisplayName, &x.Actor.PersonId, &x.Note); err != nil {
			return nil, err
		}
		x.Time = timestamppb.New(t)
		return x, nil
	})
}

// ListRepresentationRequests lists the requests the caller may read.
func (s *Service) ListRepresentationRequests(ctx context.Context, req *nominationsv1.ListRepresentationRequestsRequest) (*nominationsv1.ListRepresentationRequestsResponse, error) {
	var v apierr.Violations
	check.OptionalID(&v, "network_id", req.GetNetworkId())
	check.OptionalID(&v, "working_group_id", req.GetWorkingGroupId())
	check.OptionalSlug(&v, "region", req.GetRegion())
	check.OptionalSlug(&v, "programme", req.GetProgramme())
	if _, ok := nominationsv1.RepresentationRequest_State_name[int32(req.GetState())]; !ok {
		v.Add("state", "is not a representation request state")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	size, err := page.Size(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	state := ""
	if req.GetState() != nominationsv1.RepresentationRequest_STATE_UNSPECIFIED {
		state = requestStateName(req.GetState())
	}
	filter := page.Fingerprint(req.GetNetworkId(), req.GetWorkingGroupId(), req.GetRegion(), req.GetProgramme(), state)
	after, err := page.Decode(req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}
	if _, err := s.closeExpired(ctx, ""); err != nil {
		return nil, err
	}
	regions, programmes := auth.PartnerScope(auth.Caller(ctx))
	var list []*request
	changeCursor, err := outbox.ListCursor(ctx, s.pool, Schema, req.GetPageToken() == "", func(q db.DBTX) error {
		rows, err := q.Query(ctx, `SELECT `+requestColumns+` FROM nominations.representation_requests r
			WHERE ($1::uuid IS NULL OR r.id > $1) AND ($2::uuid IS NULL OR r.network_id = $2)
			AND ($3::uuid IS NULL OR r.working_group_id = $3) AND ($4 = '' OR r.region = $4) AND ($5 = '' OR r.programme = $5)
			AND ($6 = '' OR r.state = $6) AND `+auth.ScopeSQL("r", 7, 8)+`
			ORDER BY r.id LIMIT $9`,
			db.Null(after), db.Null(req.GetNetworkId()), db.Null(req.GetWorkingGroupId()), req.GetRegion(), req.GetProgramme(),
			state, regions, programmes, size+1)
		if err != nil {
			return err
		}
		list, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*request, error) { return scanRequest(row) })
		return err
	})
	if err != nil {
		return nil, err
	}
	list, next := page.Trim(list, size, filter)
	for _, r := range list {
		s.derive(r)
	}
	return &nominationsv1.ListRepresentationRequestsResponse{RepresentationRequests: list, NextPageToken: next, ChangeCursor: changeCursor}, nil
}

// CancelRepresentationRequest: the coordinator of the request's region ×
// programme, or an admin. Pending nominations are rejected and confirmed
// ones end (END_REASON_REQUEST_CANCELLED) in the same transaction.
func (s *Service) CancelRepresentationRequest(ctx context.Context, req *nominationsv1.CancelRepresentationRequestRequest) (*nominationsv1.CancelRepresentationRequestResponse, error) {
	var v apierr.Violations
	check.ID(&v, "id", req.GetId())
	check.Text(&v, "reason", req.GetReason(), 2000)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *request
	err := s.write(ctx, func(tx pgx.Tx) ([]change, error) {
		r, err := s.getRequest(ctx, tx, req.GetId(), forUpdate)
		if err != nil {
			return nil, err
		}
		if !canManage(auth.Caller(ctx), r.GetRegion(), r.GetProgramme()) {
			return nil, denyManage(r.GetRegion(), r.GetProgramme(), "cancel its representation requests")
		}
		if err := etag.Check("representation request", r.GetId(), req.GetEtag(), r.GetEtag()); err != nil {
			return nil, err
		}
		changes, err := s.expire(ctx, tx, r)
		if err != nil {
			return nil, err
		}
		if r.GetState() == requestCancelled {
			return nil, apierr.InvalidState("representation request", r.GetId(), requestStateName(r.GetState()), "cancel")
		}
		from := requestStateName(r.GetState())
		now := s.now()
		if _, err := tx.Exec(ctx, `UPDATE nominations.representation_requests SET state = 'CANCELLED', state_time = $2,
			cancel_reason = $3, update_time = $2, version = version + 1 WHERE id = $1`, r.GetId(), now, req.GetReason()); err != nil {
			return nil, err
		}
		const why = "the representation request was cancelled"
		more, err := s.settle(ctx, tx, r.GetId(), why, now)
		if err != nil {
			return nil, err
		}
		if out, err = s.getRequest(ctx, tx, r.GetId(), noLock); err != nil {
			return nil, err
		}
		changes = append(changes, change{ev: requestEvent("cancelled", out), requestID: r.GetId(), from: from, to: "CANCELLED",
			note: req.GetReason()})
		return append(changes, more...), nil
	})
	if err != nil {
		return nil, err
	}
	return &nominationsv1.CancelRepresentationRequestResponse{RepresentationRequest: out}, nil
}

// settle rejects the pending nominations of a cancelled request and ends its
// confirmed ones.
func (s *Service) settle(ctx context.Context, tx pgx.Tx, requestID, why string, now time.Time) ([]change, error) {
	rows, err := tx.Query(ctx, `SELECT id::text, state FROM nominations.nominations
		WHERE request_id = $1 AND state IN ('PROPOSED', 'ACCEPTED', 'CONFIRMED') ORDER BY id FOR UPDATE`, requestID)
	if err != nil {
		return nil, err
	}
	type row struct{ id, state string }
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		return x, r.Scan(&x.id, &x.state)
	})
	if err != nil {
		return nil, err
	}
	var changes []change
	for _, x := range list {
		if x.state == "CONFIRMED" {
			c, err := s.end(ctx, tx, x.id, "REQUEST_CANCELLED", now, why)
			if err != nil {
				return nil, err
			}
			changes = append(changes, c)
			continue
		}
		if _, err := tx.Exec(ctx, `UPDATE nominations.nominations SET state = 'REJECTED', decision_note = $2, decision_time = $3,
			update_time = $3, version = version + 1 WHERE id = $1`, x.id, why, now); err != nil {
			return nil, err
		}
		n, err := getNomination(ctx, tx, x.id, noLock)
		if err != nil {
			return nil, err
		}
		changes = append(changes, change{ev: nominationEvent("rejected", n), requestID: requestID, nominationID: x.id,
			from: x.state, to: "REJECTED", note: why})
	}
	return changes, nil
}
