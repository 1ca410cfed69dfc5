package nominations

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

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

type nomination = nominationsv1.Nomination

const (
	nominationProposed  = nominationsv1.Nomination_STATE_PROPOSED
	nominationAccepted  = nominationsv1.Nomination_STATE_ACCEPTED
	nominationDeclined  = nominationsv1.Nomination_STATE_DECLINED
	nominationConfirmed = nominationsv1.Nomination_STATE_CONFIRMED
	nominationRejected  = nominationsv1.Nomination_STATE_REJECTED
	nominationWithdrawn = nominationsv1.Nomination_STATE_WITHDRAWN
	nominationEnded     = nominationsv1.Nomination_STATE_ENDED
)

// nominationColumns: the term shown before confirmation is the request's;
// the display name is the projection's current one when known.
const nominationColumns = `n.id::text, n.request_id::text, r.network_id::text, coalesce(r.working_group_id::text, ''), n.seat, n.deputy,
	n.person_id::text, coalesce(pp.display_name, n.person_display_name), n.association_id::text, n.state,
	coalesce(n.term_start, r.term_start), coalesce(n.term_end, r.term_end), n.end_time, n.end_reason,
	r.region, r.programme, n.nominated_by::text, n.note, n.create_time, n.update_time, n.version,
	n.term_ending_notice_time, r.body_name_fi, r.body_name_sv, r.body_name_en, n.decision_note, n.consent_time, n.decision_time`

const nominationFrom = ` FROM nominations.nominations n JOIN nominations.representation_requests r ON r.id = n.request_id
	LEFT JOIN nominations.projected_persons pp ON pp.id = n.person_id`

func scanNomination(row pgx.Row) (*nomination, error) {
	x := &nomination{BodyName: &commonv1.LocalizedText{}}
	var state, endReason string
	var start, end, created, updated time.Time
	var ended, notice, consent, decision *time.Time
	var version int64
	if err := row.Scan(&x.Id, &x.RepresentationRequestId, &x.NetworkId, &x.WorkingGroupId, &x.Seat, &x.Deputy,
		&x.PersonId, &x.PersonDisplayName, &x.AssociationId, &state, &start, &end, &ended, &endReason,
		&x.Region, &x.Programme, &x.NominatedBy, &x.Note, &created, &updated, &version,
		&notice, &x.BodyName.Fi, &x.BodyName.Sv, &x.BodyName.En, &x.DecisionNote, &consent, &decision); err != nil {
		return nil, err
	}
	x.State = nominationsv1.Nomination_State(nominationsv1.Nomination_State_value["STATE_"+state])
	if endReason != "" {
		x.EndReason = nominationsv1.Nomination_EndReason(nominationsv1.Nomination_EndReason_value["END_REASON_"+endReason])
	}
	x.TermStartTime, x.TermEndTime, x.EndTime = timestamppb.New(start), timestamppb.New(end), db.Timestamp(ended)
	x.TermEndingNoticeTime, x.ConsentTime, x.DecisionTime = db.Timestamp(notice), db.Timestamp(consent), db.Timestamp(decision)
	x.CreateTime, x.UpdateTime, x.Etag = timestamppb.New(created), timestamppb.New(updated), etag.Of(version)
	return x, nil
}

// getNomination reads one nomination; forUpdate locks its row (after its
// request's: see getRequest).
func getNomination(ctx context.Context, q db.DBTX, id, lock string) (*nomination, error) {
	sql := `SELECT ` + nominationColumns + nominationFrom + ` WHERE n.id = $1`
	if lock == forUpdate {
		sql += ` FOR UPDATE OF n`
	}
	x, err := scanNomination(q.QueryRow(ctx, sql, id))
	return x, apierr.IfNotFound(err, "nomination", id)
}

// nominationEvent: verkosto.changes.<region>.<programme>.nomination.<change>,
// routed by the request's region × programme, with the nomination (ids and
// display names only, never contact details) as payload.
func nominationEvent(name string, n *nomination) outbox.Event {
	return outbox.Event{Kind: kindNomination, Name: name, AggregateID: n.GetId(), Version: etag.Version(n.GetEtag()),
		Region: n.GetRegion(), Programme: n.GetProgramme(), Payload: n}
}

func nominationStateName(st nominationsv1.Nomination_State) string {
	return strings.TrimPrefix(st.String(), "STATE_")
}

// requestOf finds the request of a nomination (without locking), so that the
// request row can be locked before the nomination's.
func requestOf(ctx context.Context, q db.DBTX, nominationID string) (string, error) {
	var id string
	err := q.QueryRow(ctx, `SELECT request_id::text FROM nominations.nominations WHERE id = $1`, nominationID).Scan(&id)
	return id, apierr.IfNotFound(err, "nomination", nominationID)
}

// CreateNomination: a current leader of the request's network (a leader
// binding on it, a credential of a person, and that person an ACTIVE leader
// in the networks projection) proposes a person of an active member
// association.
func (s *Service) CreateNomination(ctx context.Context, req *nominationsv1.CreateNominationRequest) (*nominationsv1.CreateNominationResponse, error) {
	n := req.GetNomination()
	const p = "nomination."
	var v apierr.Violations
	if n == nil {
		v.Add("nomination", "is required")
	}
	check.ID(&v, p+"representation_request_id", n.GetRepresentationRequestId())
	check.ID(&v, p+"person_id", n.GetPersonId())
	check.ID(&v, p+"association_id", n.GetAssociationId())
	if n.GetSeat() < 0 || n.GetSeat() > 100 {
		v.Add(p+"seat", "must be a seat number of the request, or 0 for whichever seat is free")
	}
	check.Text(&v, p+"note", n.GetNote(), 2000)
	check.ServerOwned(&v, "nomination", check.Set("id", n.GetId() != ""), check.Set("network_id", n.GetNetworkId() != ""),
		check.Set("working_group_id", n.GetWorkingGroupId() != ""), check.Set("person_display_name", n.GetPersonDisplayName() != ""),
		check.Set("state", n.GetState() != nominationsv1.Nomination_STATE_UNSPECIFIED),
		check.Set("term_start_time", n.GetTermStartTime() != nil), check.Set("term_end_time", n.GetTermEndTime() != nil),
		check.Set("end_time", n.GetEndTime() != nil), check.Set("end_reason", n.GetEndReason() != nominationsv1.Nomination_END_REASON_UNSPECIFIED),
		check.Set("region", n.GetRegion() != ""), check.Set("programme", n.GetProgramme() != ""),
		check.Set("nominated_by", n.GetNominatedBy() != ""), check.Set("create_time", n.GetCreateTime() != nil),
		check.Set("update_time", n.GetUpdateTime() != nil), check.Set("etag", n.GetEtag() != ""),
		check.Set("term_ending_notice_time", n.GetTermEndingNoticeTime() != nil), check.Set("body_name", n.GetBodyName() != nil),
		check.Set("decision_note", n.GetDecisionNote() != ""), check.Set("consent_time", n.GetConsentTime() != nil),
		check.Set("decision_time", n.GetDecisionTime() != nil))
	if err := v.Err(); err != nil {
		return nil, err
	}
	caller := auth.Caller(ctx)
	if !caller.IsLeader() {
		return nil, apierr.Deny("only a current leader of the network may nominate")
	}
	if caller.PersonID == "" {
		return nil, apierr.Deny("nominating needs a leader's credential of a person (issued with --person)")
	}
	// A request whose deadline passed is closed now, not only refused below.
	if _, err := s.closeExpired(ctx, n.GetRepresentationRequestId()); err != nil {
		return nil, err
	}
	hashReq := proto.CloneOf(req)
	hashReq.RequestId = ""
	id, err := s.create(ctx, nominationsv1connect.NominationsServiceCreateNominationProcedure, req.GetRequestId(),
		reqid.Hash(hashReq), func(tx pgx.Tx, id string) ([]change, error) {
			r, err := s.getRequest(ctx, tx, n.GetRepresentationRequestId(), forUpdate)
			if err != nil {
				return nil, err
			}
			leads, err := isCurrentLeader(ctx, tx, caller, r.GetNetworkId())
			if err != nil {
				return nil, err
			}
			if !leads {
				return nil, apierr.Deny("only a current leader of network %s may nominate for representation request %s",
					r.GetNetworkId(), r.GetId())
			}
			state := r.GetState()
			if s.expired(r) {
				state = requestClosed
			}
			if state != requestOpen && state != requestFilled {
				return nil, apierr.InvalidState("representation request", r.GetId(), requestStateName(state), "nominate for")
			}
			if s.termEnded(r) {
				return nil, termEndedErr(r)
			}
			if n.GetSeat() > r.GetSeats() {
				return nil, apierr.InvalidArgument(p+"seat", fmt.Sprintf(
					"must be at most %d (the seats of request %s), or 0 for whichever seat is free", r.GetSeats(), r.GetId()))
			}
			if n.GetDeputy() && !r.GetWithDeputies() {
				return nil, apierr.InvalidArgument(p+"deputy", fmt.Sprintf("representation request %s has no deputy seats", r.GetId()))
			}
			var member bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM nominations.active_memberships
				WHERE network_id = $1 AND association_id = $2)`, r.GetNetworkId(), n.GetAssociationId()).Scan(&member); err != nil {
				return nil, err
			}
			if !member {
				return nil, apierr.FailedPrecondition("NOT_ACTIVE_MEMBER", fmt.Sprintf(
					"association %s is not an active member of network %s", n.GetAssociationId(), r.GetNetworkId()))
			}
			var name string
			var associations []string
			err = tx.QueryRow(ctx, `SELECT display_name, association_ids::text[] FROM nominations.projected_persons WHERE id = $1`,
				n.GetPersonId()).Scan(&name, &associations)
			if errors.Is(err, pgx.ErrNoRows) {
				return nil, apierr.FailedPrecondition("PERSON_NOT_FOUND", fmt.Sprintf(
					"person %s is not known to the nominations service (a person registered a moment ago arrives within seconds; retry)",
					n.GetPersonId()))
			}
			if err != nil {
				return nil, err
			}
			if !slices.Contains(associations, n.GetAssociationId()) {
				return nil, apierr.FailedPrecondition("NOT_AFFILIATED", fmt.Sprintf(
					"person %s does not act for association %s", n.GetPersonId(), n.GetAssociationId()))
			}
			now := s.now()
			_, err = tx.Exec(ctx, `INSERT INTO nominations.nominations (id, request_id, seat, deputy, person_id, person_display_name,
				association_id, state, nominated_by, note, create_time, update_time)
				VALUES ($1, $2, $3, $4, $5, $6, $7, 'PROPOSED', $8, $9, $10, $10)`,
				id, r.GetId(), n.GetSeat(), n.GetDeputy(), n.GetPersonId(), name, n.GetAssociationId(), caller.PersonID,
				strings.TrimSpace(n.GetNote()), now)
			if c, ok := db.IsUniqueViolation(err); ok && c == "nominations_person_once" {
				return nil, apierr.AlreadyExists(fmt.Sprintf(
					"person %s is already nominated for, or holds a seat of, representation request %s", n.GetPersonId(), r.GetId()))
			}
			if err != nil {
				return nil, err
			}
			created, err := getNomination(ctx, tx, id, noLock)
			if err != nil {
				return nil, err
			}
			return []change{{ev: nominationEvent("proposed", created), requestID: r.GetId(), nominationID: id, to: "PROPOSED",
				note: created.GetNote()}}, nil
		})
	if err != nil {
		return nil, err
	}
	out, err := getNomination(ctx, s.pool, id, noLock)
	if err != nil {
		return nil, err
	}
	return &nominationsv1.CreateNominationResponse{Nomination: out}, nil
}

func termEndedErr(r *request) error {
	return apierr.FailedPrecondition("TERM_ENDED", fmt.Sprintf("the term of representation request %s ended at %s",
		r.GetId(), r.GetTermEndTime().AsTime().Format(time.RFC3339)))
}

// GetNomination: see canRead.
func (s *Service) GetNomination(ctx context.Context, req *nominationsv1.GetNominationRequest) (*nominationsv1.GetNominationResponse, error) {
	var v apierr.Violations
	check.ID(&v, "id", req.GetId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	n, err := getNomination(ctx, s.pool, req.GetId(), noLock)
	if err != nil {
		return nil, err
	}
	if !canRead(auth.Caller(ctx), n.GetRegion(), n.GetProgramme()) {
		return nil, denyRead(n.GetRegion(), n.GetProgramme())
	}
	history, err := s.history(ctx, `h.nomination_id = $1`, n.GetId())
	if err != nil {
		return nil, err
	}
	return &nominationsv1.GetNominationResponse{Nomination: n, History: history}, nil
}

// ListNominations lists the nominations the caller may read.
func (s *Service) ListNominations(ctx context.Context, req *nominationsv1.ListNominationsRequest) (*nominationsv1.ListNominationsResponse, error) {
	var v apierr.Violations
	check.OptionalID(&v, "representation_request_id", req.GetRepresentationRequestId())
	check.OptionalID(&v, "network_id", req.GetNetworkId())
	check.OptionalID(&v, "person_id", req.GetPersonId())
	check.OptionalID(&v, "association_id", req.GetAssociationId())
	if _, ok := nominationsv1.Nomination_State_name[int32(req.GetState())]; !ok {
		v.Add("state", "is not a nomination state")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	state := ""
	if req.GetState() != nominationsv1.Nomination_STATE_UNSPECIFIED {
		state = nominationStateName(req.GetState())
	}
	list, next, cursor, err := s.listNominations(ctx, req.GetPageSize(), req.GetPageToken(), nominationFilter{
		requestID: req.GetRepresentationRequestId(), networkID: req.GetNetworkId(), personID: req.GetPersonId(),
		associationID: req.GetAssociationId(), states: stateList(state),
	})
	if err != nil {
		return nil, err
	}
	return &nominationsv1.ListNominationsResponse{Nominations: list, NextPageToken: next, ChangeCursor: cursor}, nil
}

func stateList(states ...string) []string {
	var out []string
	for _, s := range states {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// nominationFilter selects nominations; empty fields match everything.
type nominationFilter struct {
	requestID, networkID, personID, associationID string
	states                                        []string
}

// listNominations pages nominations by id, within the caller's partner
// scope, with a change cursor on the first page.
func (s *Service) listNominations(ctx context.Context, pageSize int32, token string, f nominationFilter) (
	list []*nomination, next, changeCursor string, err error) {
	size, err := page.Size(pageSize)
	if err != nil {
		return nil, "", "", err
	}
	fp := page.Fingerprint(f.requestID, f.networkID, f.personID, f.associationID, strings.Join(f.states, ","))
	after, err := page.Decode(token, fp)
	if err != nil {
		return nil, "", "", err
	}
	regions, programmes := auth.PartnerScope(auth.Caller(ctx))
	changeCursor, err = outbox.ListCursor(ctx, s.pool, Schema, token == "", func(q db.DBTX) error {
		rows, err := q.Query(ctx, `SELECT `+nominationColumns+nominationFrom+`
			WHERE ($1::uuid IS NULL OR n.id > $1) AND ($2::uuid IS NULL OR n.request_id = $2)
			AND ($3::uuid IS NULL OR r.network_id = $3) AND ($4::uuid IS NULL OR n.person_id = $4)
			AND ($5::uuid IS NULL OR n.association_id = $5) AND (cardinality($6::text[]) = 0 OR n.state = ANY($6))
			AND `+auth.ScopeSQL("r", 7, 8)+`
			ORDER BY n.id LIMIT $9`,
			db.Null(after), db.Null(f.requestID), db.Null(f.networkID), db.Null(f.personID), db.Null(f.associationID),
			db.NonNil(f.states), regions, programmes, size+1)
		if err != nil {
			return err
		}
		list, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*nomination, error) { return scanNomination(row) })
		return err
	})
	if err != nil {
		return nil, "", "", err
	}
	list, next = page.Trim(list, size, fp)
	return list, next, changeCursor, nil
}

// ListRepresentations: the public register, readable by every caller;
// partners see the regions and programmes of their credential.
func (s *Service) ListRepresentations(ctx context.Context, req *nominationsv1.ListRepresentationsRequest) (*nominationsv1.ListRepresentationsResponse, error) {
	var v apierr.Violations
	check.OptionalID(&v, "person_id", req.GetPersonId())
	check.OptionalID(&v, "association_id", req.GetAssociationId())
	if req.GetPersonId() == "" && req.GetAssociationId() == "" {
		v.Add("person_id", "person_id or association_id is required")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	states := []string{"CONFIRMED", "ENDED"}
	if req.GetCurrentOnly() {
		states = []string{"CONFIRMED"}
	}
	list, next, cursor, err := s.listNominations(ctx, req.GetPageSize(), req.GetPageToken(), nominationFilter{
		personID: req.GetPersonId(), associationID: req.GetAssociationId(), states: states,
	})
	if err != nil {
		return nil, err
	}
	return &nominationsv1.ListRepresentationsResponse{Representations: list, NextPageToken: next, ChangeCursor: cursor}, nil
}

// step is one transition of a nomination's state machine.
type step struct {
	action string // what the caller tries, for messages: "accept"
	change string // the change published: "accepted"
	from   []nominationsv1.Nomination_State
	to     nominationsv1.Nomination_State
	// allowed checks the caller against the request and the nomination.
	allowed func(ctx context.Context, tx pgx.Tx, p *auth.Principal, r *request, n *nomination) (bool, error)
	who     string
	// consent and decision record consent_time or decision_time.
	consent, decision bool
}

func nominee(_ context.Context, _ pgx.Tx, p *auth.Principal, _ *request, n *nomination) (bool, error) {
	return speaksFor(p, n.GetPersonId(), n.GetAssociationId()), nil
}

func requester(_ context.Context, _ pgx.Tx, p *auth.Principal, r *request, _ *nomination) (bool, error) {
	return canManage(p, r.GetRegion(), r.GetProgramme()), nil
}

func networkLeader(ctx context.Context, tx pgx.Tx, p *auth.Principal, r *request, _ *nomination) (bool, error) {
	return isCurrentLeader(ctx, tx, p, r.GetNetworkId())
}

const (
	whoNominee   = "the nominee themself or the contact of their association"
	whoRequester = "the coordinator of the request's region × programme or an admin"
	whoLeader    = "a current leader of the nominating network"
)

var (
	pending = []nominationsv1.Nomination_State{nominationProposed, nominationAccepted}

	accept = step{action: "accept", change: "accepted", from: []nominationsv1.Nomination_State{nominationProposed},
		to: nominationAccepted, allowed: nominee, who: whoNominee, consent: true}
	decline = step{action: "decline", change: "declined", from: pending, to: nominationDeclined,
		allowed: nominee, who: whoNominee, consent: true}
	withdraw = step{action: "withdraw", change: "withdrawn", from: pending, to: nominationWithdrawn,
		allowed: networkLeader, who: whoLeader}
	reject = step{action: "reject", change: "rejected", from: pending, to: nominationRejected,
		allowed: requester, who: whoRequester, decision: true}
)

// transition applies t to nomination id: the request row and then the
// nomination row are locked, the caller, etag and states checked, and the
// change recorded, in one transaction.
func (s *Service) transition(ctx context.Context, t step, id, etagSeen, note string) (*nomination, error) {
	var v apierr.Violations
	check.ID(&v, "id", id)
	check.Text(&v, "note", note, 2000)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *nomination
	err := s.write(ctx, func(tx pgx.Tx) ([]change, error) {
		requestID, err := requestOf(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		r, err := s.getRequest(ctx, tx, requestID, forUpdate)
		if err != nil {
			return nil, err
		}
		n, err := getNomination(ctx, tx, id, forUpdate)
		if err != nil {
			return nil, err
		}
		if ok, err := t.allowed(ctx, tx, auth.Caller(ctx), r, n); err != nil {
			return nil, err
		} else if !ok {
			return nil, apierr.Deny("only %s may %s nomination %s", t.who, t.action, id)
		}
		if err := etag.Check("nomination", id, etagSeen, n.GetEtag()); err != nil {
			return nil, err
		}
		if !slices.Contains(t.from, n.GetState()) {
			return nil, apierr.InvalidState("nomination", id, nominationStateName(n.GetState()), t.action)
		}
		changes, err := s.expire(ctx, tx, r)
		if err != nil {
			return nil, err
		}
		if r.GetState() == requestCancelled {
			return nil, apierr.InvalidState("representation request", r.GetId(), requestStateName(r.GetState()),
				t.action+" a nomination of")
		}
		if s.termEnded(r) {
			return nil, termEndedErr(r)
		}
		now := s.now()
		var consent, decision *time.Time
		if t.consent {
			consent = &now
		}
		if t.decision {
			decision = &now
		}
		if _, err := tx.Exec(ctx, `UPDATE nominations.nominations SET state = $2,
			decision_note = CASE WHEN $3 = '' THEN decision_note ELSE $3 END,
			consent_time = coalesce($4, consent_time), decision_time = coalesce($5, decision_time),
			update_time = $6, version = version + 1 WHERE id = $1`,
			id, nominationStateName(t.to), note, consent, decision, now); err != nil {
			return nil, err
		}
		if out, err = getNomination(ctx, tx, id, noLock); err != nil {
			return nil, err
		}
		return append(changes, change{ev: nominationEvent(t.change, out), requestID: r.GetId(), nominationID: id,
			from: nominationStateName(n.GetState()), to: nominationStateName(t.to), note: note}), nil
	})
	return out, err
}

// AcceptNomination: the nominee, or their association's contact on their behalf.
func (s *Service) AcceptNomination(ctx context.Context, req *nominationsv1.AcceptNominationRequest) (*nominationsv1.AcceptNominationResponse, error) {
	n, err := s.transition(ctx, accept, req.GetId(), req.GetEtag(), "")
	if err != nil {
		return nil, err
	}
	return &nominationsv1.AcceptNominationResponse{Nomination: n}, nil
}

// DeclineNomination: the nominee, or their association's contact on their behalf.
func (s *Service) DeclineNomination(ctx context.Context, req *nominationsv1.DeclineNominationRequest) (*nominationsv1.DeclineNominationResponse, error) {
	n, err := s.transition(ctx, decline, req.GetId(), req.GetEtag(), req.GetNote())
	if err != nil {
		return nil, err
	}
	return &nominationsv1.DeclineNominationResponse{Nomination: n}, nil
}

// WithdrawNomination: a current leader of the nominating network.
func (s *Service) WithdrawNomination(ctx context.Context, req *nominationsv1.WithdrawNominationRequest) (*nominationsv1.WithdrawNominationResponse, error) {
	n, err := s.transition(ctx, withdraw, req.GetId(), req.GetEtag(), req.GetNote())
	if err != nil {
		return nil, err
	}
	return &nominationsv1.WithdrawNominationResponse{Nomination: n}, nil
}

// RejectNomination: the coordinator of the request's region × programme, or an admin.
func (s *Service) RejectNomination(ctx context.Context, req *nominationsv1.RejectNominationRequest) (*nominationsv1.RejectNominationResponse, error) {
	n, err := s.transition(ctx, reject, req.GetId(), req.GetEtag(), req.GetNote())
	if err != nil {
		return nil, err
	}
	return &nominationsv1.RejectNominationResponse{Nomination: n}, nil
}

// ConfirmNomination: the coordinator of the request's region × programme, or
// an admin. The request row is locked FOR UPDATE, so concurrent
// confirmations of one request run one after another: each sees the seats
// the previous ones took, and the unique index nominations_seat_holder backs
// it up. A nomination for seat 0 takes the lowest free seat.
func (s *Service) ConfirmNomination(ctx context.Context, req *nominationsv1.ConfirmNominationRequest) (*nominationsv1.ConfirmNominationResponse, error) {
	var v apierr.Violations
	check.ID(&v, "id", req.GetId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	res := &nominationsv1.ConfirmNominationResponse{}
	err := s.write(ctx, func(tx pgx.Tx) ([]change, error) {
		requestID, err := requestOf(ctx, tx, req.GetId())
		if err != nil {
			return nil, err
		}
		r, err := s.getRequest(ctx, tx, requestID, forUpdate)
		if err != nil {
			return nil, err
		}
		n, err := getNomination(ctx, tx, req.GetId(), forUpdate)
		if err != nil {
			return nil, err
		}
		if !canManage(auth.Caller(ctx), r.GetRegion(), r.GetProgramme()) {
			return nil, denyManage(r.GetRegion(), r.GetProgramme(), "confirm nominations of its representation requests")
		}
		if err := etag.Check("nomination", n.GetId(), req.GetEtag(), n.GetEtag()); err != nil {
			return nil, err
		}
		if n.GetState() != nominationAccepted {
			return nil, apierr.InvalidState("nomination", n.GetId(), nominationStateName(n.GetState()), "confirm")
		}
		changes, err := s.expire(ctx, tx, r)
		if err != nil {
			return nil, err
		}
		if r.GetState() == requestCancelled {
			return nil, apierr.InvalidState("representation request", r.GetId(), requestStateName(r.GetState()),
				"confirm a nomination of")
		}
		if s.termEnded(r) {
			return nil, termEndedErr(r)
		}
		slot := "seat"
		if n.GetDeputy() {
			slot = "deputy seat"
		}
		seat := n.GetSeat()
		if req.GetReplace() && seat == 0 {
			return nil, apierr.InvalidArgument("replace", fmt.Sprintf(
				"nomination %s is for whichever seat is free; only a nomination for a given seat replaces its holder", n.GetId()))
		}
		if r.GetState() == requestFilled && !req.GetReplace() {
			return nil, apierr.FailedPrecondition("REQUEST_FILLED", fmt.Sprintf(
				"representation request %s is FILLED: every seat is taken; confirm with replace to replace a seat's holder", r.GetId()))
		}
		if seat == 0 {
			var free *int32
			err := tx.QueryRow(ctx, `SELECT min(s) FROM generate_series(1, $2::int) s WHERE NOT EXISTS (
				SELECT 1 FROM nominations.nominations c WHERE c.request_id = $1 AND c.seat = s AND c.deputy = $3 AND c.state = 'CONFIRMED')`,
				r.GetId(), r.GetSeats(), n.GetDeputy()).Scan(&free)
			if err != nil {
				return nil, err
			}
			if free == nil {
				return nil, apierr.FailedPrecondition("SEAT_TAKEN", fmt.Sprintf(
					"every %s of representation request %s is taken", slot, r.GetId()))
			}
			seat = *free
		}
		var holderID string
		err = tx.QueryRow(ctx, `SELECT id::text FROM nominations.nominations
			WHERE request_id = $1 AND seat = $2 AND deputy = $3 AND state = 'CONFIRMED' FOR UPDATE`,
			r.GetId(), seat, n.GetDeputy()).Scan(&holderID)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, err
		}
		now := s.now()
		if holderID != "" {
			if !req.GetReplace() {
				return nil, apierr.FailedPrecondition("SEAT_TAKEN", fmt.Sprintf(
					"%s %d of representation request %s is held by nomination %s; confirm with replace to replace its holder",
					slot, seat, r.GetId(), holderID))
			}
			ended, err := s.end(ctx, tx, holderID, "REPLACED", now, "replaced by nomination "+n.GetId())
			if err != nil {
				return nil, err
			}
			res.Replaced = ended.ev.Payload.(*nomination)
			changes = append(changes, ended)
		}
		start := r.GetTermStartTime().AsTime()
		if now.After(start) {
			start = now
		}
		_, err = tx.Exec(ctx, `UPDATE nominations.nominations SET state = 'CONFIRMED', seat = $2, term_start = $3, term_end = $4,
			decision_time = $5, update_time = $5, version = version + 1 WHERE id = $1`,
			n.GetId(), seat, start, r.GetTermEndTime().AsTime(), now)
		if c, ok := db.IsUniqueViolation(err); ok && c == "nominations_person_once" {
			return nil, apierr.FailedPrecondition("PERSON_HOLDS_SEAT", fmt.Sprintf(
				"person %s already holds a seat of representation request %s", n.GetPersonId(), r.GetId()))
		}
		if err != nil {
			return nil, err
		}
		if res.Nomination, err = getNomination(ctx, tx, n.GetId(), noLock); err != nil {
			return nil, err
		}
		changes = append(changes, change{ev: nominationEvent("confirmed", res.Nomination), requestID: r.GetId(),
			nominationID: n.GetId(), from: "ACCEPTED", to: "CONFIRMED", note: fmt.Sprintf("%s %d", slot, seat)})
		more, err := s.fillIfFull(ctx, tx, r)
		if err != nil {
			return nil, err
		}
		changes = append(changes, more...)
		res.RepresentationRequest, err = s.getRequest(ctx, tx, r.GetId(), noLock)
		return changes, err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// fillIfFull marks an OPEN or CLOSED request FILLED once every seat (and
// every deputy seat) has a confirmed holder.
func (s *Service) fillIfFull(ctx context.Context, tx pgx.Tx, r *request) ([]change, error) {
	if r.GetState() != requestOpen && r.GetState() != requestClosed {
		return nil, nil
	}
	cur, err := s.getRequest(ctx, tx, r.GetId(), noLock)
	if err != nil {
		return nil, err
	}
	if cur.GetFilledSeats() < cur.GetSeats() || (cur.GetWithDeputies() && cur.GetFilledDeputySeats() < cur.GetSeats()) {
		return nil, nil
	}
	now := s.now()
	if _, err := tx.Exec(ctx, `UPDATE nominations.representation_requests SET state = 'FILLED', state_time = $2,
		update_time = $2, version = version + 1 WHERE id = $1`, r.GetId(), now); err != nil {
		return nil, err
	}
	filled, err := s.getRequest(ctx, tx, r.GetId(), noLock)
	if err != nil {
		return nil, err
	}
	return []change{{ev: requestEvent("filled", filled), requestID: r.GetId(), from: requestStateName(r.GetState()), to: "FILLED"}}, nil
}

// ResignNomination: the representative themself, or their association's
// contact on their behalf. Their request's term need not be running.
func (s *Service) ResignNomination(ctx context.Context, req *nominationsv1.ResignNominationRequest) (*nominationsv1.ResignNominationResponse, error) {
	var v apierr.Violations
	check.ID(&v, "id", req.GetId())
	check.Text(&v, "note", req.GetNote(), 2000)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *nomination
	err := s.write(ctx, func(tx pgx.Tx) ([]change, error) {
		requestID, err := requestOf(ctx, tx, req.GetId())
		if err != nil {
			return nil, err
		}
		// The request row first, as in every transition (lock order).
		if _, err := s.getRequest(ctx, tx, requestID, forUpdate); err != nil {
			return nil, err
		}
		n, err := getNomination(ctx, tx, req.GetId(), forUpdate)
		if err != nil {
			return nil, err
		}
		if !speaksFor(auth.Caller(ctx), n.GetPersonId(), n.GetAssociationId()) {
			return nil, apierr.Deny("only %s may resign nomination %s", whoNominee, n.GetId())
		}
		if err := etag.Check("nomination", n.GetId(), req.GetEtag(), n.GetEtag()); err != nil {
			return nil, err
		}
		if n.GetState() != nominationConfirmed {
			return nil, apierr.InvalidState("nomination", n.GetId(), nominationStateName(n.GetState()), "resign")
		}
		c, err := s.end(ctx, tx, n.GetId(), "RESIGNED", s.now(), req.GetNote())
		if err != nil {
			return nil, err
		}
		out = c.ev.Payload.(*nomination)
		return []change{c}, nil
	})
	if err != nil {
		return nil, err
	}
	return &nominationsv1.ResignNominationResponse{Nomination: out}, nil
}

// end ends a CONFIRMED nomination (locked by the caller, after its request)
// for reason, at endTime, and returns its change.
func (s *Service) end(ctx context.Context, tx pgx.Tx, id, reason string, endTime time.Time, note string) (change, error) {
	if _, err := tx.Exec(ctx, `UPDATE nominations.nominations SET state = 'ENDED', end_time = $2, end_reason = $3,
		decision_note = CASE WHEN $4 = '' THEN decision_note ELSE $4 END, update_time = $5, version = version + 1
		WHERE id = $1 AND state = 'CONFIRMED'`, id, endTime, reason, note, s.now()); err != nil {
		return change{}, err
	}
	n, err := getNomination(ctx, tx, id, noLock)
	if err != nil {
		return change{}, err
	}
	if n.GetState() != nominationEnded {
		return change{}, fmt.Errorf("nomination %s was not CONFIRMED when ending it", id)
	}
	if note != "" {
		reason += ": " + note
	}
	return change{ev: nominationEvent("ended", n), requestID: n.GetRepresentationRequestId(), nominationID: id,
		from: "CONFIRMED", to: "ENDED", note: reason}, nil
}
