package events

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/verkosto/verkosto/gen/verkosto/events/v1"
	"github.com/verkosto/verkosto/gen/verkosto/events/v1/eventsv1connect"
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

// registrationColumns: a waitlisted registration's position is its rank
// among the event's waitlisted registrations in registration order.
const registrationColumns = `r.id::text, r.event_id::text, r.state,
	CASE WHEN r.state = 'WAITLISTED' THEN (SELECT count(*) FROM events.registrations w
		WHERE w.event_id = r.event_id AND w.state = 'WAITLISTED' AND w.seq <= r.seq) ELSE 0 END,
	coalesce(r.person_id::text, ''), r.display_name, coalesce(r.email, ''), r.organisation, r.dietary_needs, r.accessibility_needs,
	coalesce(r.association_id::text, ''), r.public, r.register_time, r.promote_time, r.cancel_time, r.update_time, r.version, r.seq`

// registrationRow is a registration with its registration order.
type registrationRow struct {
	*eventsv1.Registration
	seq int64
}

func scanRegistration(r pgx.Row) (registrationRow, error) {
	x := &eventsv1.Registration{}
	var state string
	var registered, updated time.Time
	var promoted, cancelled *time.Time
	var version, seq int64
	if err := r.Scan(&x.Id, &x.EventId, &state, &x.WaitlistPosition, &x.PersonId, &x.DisplayName, &x.Email, &x.Organisation,
		&x.DietaryNeeds, &x.AccessibilityNeeds, &x.AssociationId, &x.Public, &registered, &promoted, &cancelled, &updated,
		&version, &seq); err != nil {
		return registrationRow{}, err
	}
	x.State = eventsv1.Registration_State(eventsv1.Registration_State_value["STATE_"+state])
	x.RegisterTime, x.UpdateTime = timestamppb.New(registered), timestamppb.New(updated)
	x.PromoteTime, x.CancelTime = db.Timestamp(promoted), db.Timestamp(cancelled)
	x.Etag = etag.Of(version)
	return registrationRow{Registration: x, seq: seq}, nil
}

func getRegistration(ctx context.Context, q db.DBTX, id string, lock bool) (*eventsv1.Registration, error) {
	sql := `SELECT ` + registrationColumns + ` FROM events.registrations r WHERE r.id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	x, err := scanRegistration(q.QueryRow(ctx, sql, id))
	if err != nil {
		return nil, apierr.IfNotFound(err, "registration", id)
	}
	return x.Registration, nil
}

// registrationEvent: registration changes are changes of the event, e.g.
// verkosto.changes.pohjois-pohjanmaa.lape.event.registration_confirmed, with
// the registration as the aggregate and a payload without contact details,
// organisation or needs.
func registrationEvent(name string, e *eventsv1.Event, r *eventsv1.Registration) outbox.Event {
	return outbox.Event{Kind: "event", Name: name, AggregateID: r.GetId(), Version: etag.Version(r.GetEtag()),
		Region: e.GetOrganiser().GetRegion(), Programme: e.GetOrganiser().GetProgramme(),
		Payload: &eventsv1.RegistrationChange{
			RegistrationId: r.GetId(), EventId: r.GetEventId(), State: r.GetState(), WaitlistPosition: r.GetWaitlistPosition(),
			PersonId: r.GetPersonId(), DisplayName: r.GetDisplayName(),
		}}
}

func registrationStateName(s eventsv1.Registration_State) string { return enumName(s, "STATE_") }

// cancellationToken makes the secret a registration by email is cancelled
// with, and the hash kept of it.
func cancellationToken() (token string, hash []byte, err error) {
	raw := make([]byte, 24)
	if _, err := rand.Read(raw); err != nil {
		return "", nil, fmt.Errorf("generate cancellation token: %w", err)
	}
	token = "vkr_" + base64.RawURLEncoding.EncodeToString(raw)
	return token, hashToken(token), nil
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

func hasAudience(e *eventsv1.Event, a eventsv1.Event_Audience) bool {
	for _, x := range e.GetAudiences() {
		if x == a {
			return true
		}
	}
	return false
}

// registrationWindow checks that e takes registrations at now: published,
// after registration opens (default: publication) and before the deadline
// (default: the start).
func registrationWindow(e *eventsv1.Event, now time.Time) error {
	if e.GetState() != eventsv1.Event_STATE_PUBLISHED {
		return apierr.InvalidState("event", e.GetId(), stateName(e.GetState()), "register for")
	}
	if open := e.GetRegistrationOpenTime(); open != nil && now.Before(open.AsTime()) {
		return apierr.FailedPrecondition("REGISTRATION_NOT_OPEN", fmt.Sprintf("registration to event %s opens %s",
			e.GetId(), open.AsTime().In(helsinki).Format("2.1.2006 klo 15.04")))
	}
	deadline := e.GetStartTime()
	if e.GetRegistrationDeadlineTime() != nil {
		deadline = e.GetRegistrationDeadlineTime()
	}
	if !now.Before(deadline.AsTime()) {
		return apierr.FailedPrecondition("REGISTRATION_CLOSED", fmt.Sprintf("registration to event %s closed %s",
			e.GetId(), deadline.AsTime().In(helsinki).Format("2.1.2006 klo 15.04")))
	}
	return nil
}

// RegisterForEvent: see RegisterForEventRequest for who may register whom.
// Within capacity the registration is CONFIRMED, beyond it WAITLISTED; the
// event row is locked, so concurrent registrations never overfill it.
func (s *Service) RegisterForEvent(ctx context.Context, req *eventsv1.RegisterForEventRequest) (*eventsv1.RegisterForEventResponse, error) {
	p, anon := auth.Caller(ctx), anonymous(ctx)
	var v apierr.Violations
	check.ID(&v, "event_id", req.GetEventId())
	check.OptionalID(&v, "person_id", req.GetPersonId())
	check.OptionalID(&v, "association_id", req.GetAssociationId())
	check.Text(&v, "display_name", req.GetDisplayName(), maxNameLength)
	check.Email(&v, "email", req.GetEmail())
	check.Text(&v, "organisation", req.GetOrganisation(), maxOrganisation)
	check.Text(&v, "dietary_needs", req.GetDietaryNeeds(), maxNeedsLength)
	check.Text(&v, "accessibility_needs", req.GetAccessibilityNeeds(), maxNeedsLength)
	personID := req.GetPersonId()
	byEmail := personID == "" && (anon || req.GetEmail() != "")
	switch {
	case byEmail:
		v.Required("display_name", strings.TrimSpace(req.GetDisplayName()))
		v.Required("email", req.GetEmail())
		if req.GetAssociationId() != "" {
			v.Add("association_id", "goes with person_id only")
		}
	case personID == "":
		// The caller registers themself.
		if p.PersonID == "" {
			v.Add("person_id", "is required: your credential is not a person's (give person_id and display_name, or display_name and email)")
		}
		personID = p.PersonID
		if req.GetAssociationId() != "" {
			v.Add("association_id", "goes with person_id only")
		}
	default:
		if req.GetEmail() != "" {
			v.Add("email", "must be empty when person_id is given")
		}
		if personID != p.PersonID {
			v.Required("display_name", strings.TrimSpace(req.GetDisplayName()))
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	if anon && personID != "" {
		return nil, apierr.Unauthenticated("registering a person needs a credential")
	}
	displayName := strings.TrimSpace(req.GetDisplayName())
	if displayName == "" {
		displayName = p.Name
	}
	associationID := req.GetAssociationId()

	hashReq := proto.CloneOf(req)
	hashReq.RequestId = ""
	principal := p.CredentialID
	if anon {
		// Anonymous request ids are told apart by email.
		principal = "anonymous:" + strings.ToLower(req.GetEmail())
	}
	var token string
	var tokenHash []byte
	if byEmail {
		var err error
		if token, tokenHash, err = cancellationToken(); err != nil {
			return nil, err
		}
	}
	now := s.now()
	var out *eventsv1.Registration
	id, created, err := s.w.CreateFor(ctx, principal, eventsv1connect.EventsServiceRegisterForEventProcedure, req.GetRequestId(),
		reqid.Hash(hashReq), ids.New(),
		func(tx pgx.Tx, id string) ([]outbox.Event, error) {
			e, err := getEvent(ctx, tx, req.GetEventId(), true)
			if err != nil {
				return nil, err
			}
			if err := authorizeRegistration(p, anon, e, byEmail, personID, associationID); err != nil {
				return nil, err
			}
			if err := registrationWindow(e, now); err != nil {
				return nil, err
			}
			state := "CONFIRMED"
			if e.GetCapacity() > 0 && e.GetConfirmedCount() >= e.GetCapacity() {
				state = "WAITLISTED"
			}
			var email *string
			if byEmail {
				email = &req.Email
			}
			registeredBy := p.CredentialID
			if anon {
				registeredBy = "anonymous"
			}
			_, err = tx.Exec(ctx, `INSERT INTO events.registrations (id, event_id, state, person_id, display_name, email,
				organisation, dietary_needs, accessibility_needs, association_id, public, registered_by, cancellation_token_hash,
				register_time, update_time) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)`,
				id, e.GetId(), state, db.Null(personID), displayName, email, req.GetOrganisation(), req.GetDietaryNeeds(),
				req.GetAccessibilityNeeds(), db.Null(associationID), anon, registeredBy, tokenHash, now)
			if c, ok := db.IsUniqueViolation(err); ok {
				switch c {
				case "registrations_person_once":
					return nil, apierr.AlreadyExists(fmt.Sprintf("person %s is already registered to event %s", personID, e.GetId()))
				case "registrations_email_once":
					return nil, apierr.AlreadyExists(fmt.Sprintf("that email is already registered to event %s", e.GetId()))
				}
			}
			if err != nil {
				return nil, err
			}
			if out, err = getRegistration(ctx, tx, id, false); err != nil {
				return nil, err
			}
			name := "registration_confirmed"
			if state == "WAITLISTED" {
				name = "registration_waitlisted"
			}
			return []outbox.Event{registrationEvent(name, e, out)}, nil
		})
	if err != nil {
		return nil, err
	}
	if !created {
		// A retry: the first call's registration, with a new cancellation
		// token for a registration by email (the first was shown once).
		if byEmail {
			if _, err := s.pool.Exec(ctx, `UPDATE events.registrations SET cancellation_token_hash = $2 WHERE id = $1`, id, tokenHash); err != nil {
				return nil, err
			}
		}
		if out, err = getRegistration(ctx, s.pool, id, false); err != nil {
			return nil, err
		}
	}
	return &eventsv1.RegisterForEventResponse{Registration: out, CancellationToken: token}, nil
}

// authorizeRegistration: anyone who reads a published event registers
// themself; an association contact registers persons on the association's
// behalf; the organiser side registers anyone; without a credential (or for
// a guest by email) only PUBLIC events take registrations.
func authorizeRegistration(p *auth.Principal, anon bool, e *eventsv1.Event, byEmail bool, personID, associationID string) error {
	organiser := manages(p, e.GetOrganiser())
	if anon {
		if e.GetState() == eventsv1.Event_STATE_DRAFT || !hasAudience(e, eventsv1.Event_AUDIENCE_PUBLIC) {
			return apierr.Unauthenticated(fmt.Sprintf("event %s is not open to the public: registering needs a credential", e.GetId()))
		}
		return nil
	}
	if !canRead(p, e) {
		return denyRead(e)
	}
	switch {
	case organiser:
		return nil
	case byEmail:
		if !hasAudience(e, eventsv1.Event_AUDIENCE_PUBLIC) {
			return apierr.Deny("event %s is not open to the public: only its organisers may register guests by email", e.GetId())
		}
	case personID != p.PersonID:
		if associationID == "" || !p.ActsFor(associationID) {
			return apierr.Deny("only the contact of the person's association (give association_id) or the event's organisers may register another person")
		}
	}
	return nil
}

// promote moves registrations from the head of the waitlist into the free
// places of the event (capacity 0: all of them), in registration order. The
// caller holds the event's lock.
func (s *Service) promote(ctx context.Context, tx pgx.Tx, eventID string, capacity int32, now time.Time) ([]*eventsv1.Registration, error) {
	var limit *int32
	if capacity > 0 {
		var confirmed int32
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM events.registrations WHERE event_id = $1 AND state = 'CONFIRMED'`,
			eventID).Scan(&confirmed); err != nil {
			return nil, err
		}
		free := capacity - confirmed
		if free <= 0 {
			return nil, nil
		}
		limit = &free
	}
	rows, err := tx.Query(ctx, `UPDATE events.registrations SET state = 'CONFIRMED', promote_time = $2, update_time = $2, version = version + 1
		WHERE id IN (SELECT id FROM events.registrations WHERE event_id = $1 AND state = 'WAITLISTED' ORDER BY seq LIMIT $3)
		RETURNING id::text`, eventID, now, limit)
	if err != nil {
		return nil, err
	}
	promoted, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(promoted) == 0 {
		return nil, err
	}
	rows, err = tx.Query(ctx, `SELECT `+registrationColumns+` FROM events.registrations r WHERE r.id = ANY($1::uuid[]) ORDER BY r.seq`, promoted)
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (registrationRow, error) { return scanRegistration(r) })
	if err != nil {
		return nil, err
	}
	out := make([]*eventsv1.Registration, len(list))
	for i, r := range list {
		out[i] = r.Registration
	}
	return out, nil
}

// CancelRegistration: the registrant (the person, the contact of the
// association that registered them, or whoever holds the cancellation token)
// or the organiser side. A confirmed place goes to the first on the waitlist.
func (s *Service) CancelRegistration(ctx context.Context, req *eventsv1.CancelRegistrationRequest) (*eventsv1.CancelRegistrationResponse, error) {
	var v apierr.Violations
	check.ID(&v, "id", req.GetId())
	check.Text(&v, "cancellation_token", req.GetCancellationToken(), 200)
	if err := v.Err(); err != nil {
		return nil, err
	}
	p, anon := auth.Caller(ctx), anonymous(ctx)
	if anon && req.GetCancellationToken() == "" {
		return nil, apierr.Unauthenticated("cancelling without a credential needs the cancellation_token given at registration")
	}
	var out *eventsv1.Registration
	err := s.w.Write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		var eventID string
		if err := tx.QueryRow(ctx, `SELECT event_id::text FROM events.registrations WHERE id = $1`, req.GetId()).Scan(&eventID); err != nil {
			return nil, apierr.IfNotFound(err, "registration", req.GetId())
		}
		// The event first, then the registration: the order every
		// registration transaction locks in.
		e, err := getEvent(ctx, tx, eventID, true)
		if err != nil {
			return nil, err
		}
		r, err := getRegistration(ctx, tx, req.GetId(), true)
		if err != nil {
			return nil, err
		}
		var storedHash []byte
		if err := tx.QueryRow(ctx, `SELECT cancellation_token_hash FROM events.registrations WHERE id = $1`, r.GetId()).Scan(&storedHash); err != nil {
			return nil, err
		}
		switch {
		case req.GetCancellationToken() != "":
			if storedHash == nil || subtle.ConstantTimeCompare(storedHash, hashToken(req.GetCancellationToken())) != 1 {
				return nil, apierr.Deny("the cancellation token does not match registration %s", r.GetId())
			}
		case p.PersonID != "" && p.PersonID == r.GetPersonId():
		case r.GetAssociationId() != "" && p.ActsFor(r.GetAssociationId()):
		case manages(p, e.GetOrganiser()):
		default:
			return nil, apierr.Deny("only the registrant, the contact who registered them or the event's organisers may cancel registration %s", r.GetId())
		}
		if err := etag.Check("registration", r.GetId(), req.GetEtag(), r.GetEtag()); err != nil {
			return nil, err
		}
		if r.GetState() == eventsv1.Registration_STATE_CANCELLED {
			return nil, apierr.InvalidState("registration", r.GetId(), registrationStateName(r.GetState()), "cancel")
		}
		if e.GetState() != eventsv1.Event_STATE_PUBLISHED {
			return nil, apierr.InvalidState("event", e.GetId(), stateName(e.GetState()), "cancel a registration of")
		}
		now := s.now()
		if _, err := tx.Exec(ctx, `UPDATE events.registrations SET state = 'CANCELLED', cancel_time = $2, update_time = $2,
			version = version + 1 WHERE id = $1`, r.GetId(), now); err != nil {
			return nil, err
		}
		if out, err = getRegistration(ctx, tx, r.GetId(), false); err != nil {
			return nil, err
		}
		changes := []outbox.Event{registrationEvent("registration_cancelled", e, out)}
		if r.GetState() == eventsv1.Registration_STATE_CONFIRMED {
			promoted, err := s.promote(ctx, tx, e.GetId(), e.GetCapacity(), now)
			if err != nil {
				return nil, err
			}
			for _, x := range promoted {
				changes = append(changes, registrationEvent("registration_promoted", e, x))
			}
		}
		return changes, nil
	})
	if err != nil {
		return nil, err
	}
	return &eventsv1.CancelRegistrationResponse{Registration: out}, nil
}

// GetRegistration: the registered person, the contact who registered them,
// and the event's organiser side.
func (s *Service) GetRegistration(ctx context.Context, req *eventsv1.GetRegistrationRequest) (*eventsv1.GetRegistrationResponse, error) {
	var v apierr.Violations
	check.ID(&v, "id", req.GetId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	r, err := getRegistration(ctx, s.pool, req.GetId(), false)
	if err != nil {
		return nil, err
	}
	p := auth.Caller(ctx)
	if !(p.PersonID != "" && p.PersonID == r.GetPersonId()) && !(r.GetAssociationId() != "" && p.ActsFor(r.GetAssociationId())) {
		e, err := getEvent(ctx, s.pool, r.GetEventId(), false)
		if err != nil {
			return nil, err
		}
		if !manages(p, e.GetOrganiser()) {
			return nil, apierr.Deny("only the registrant, the contact who registered them or the event's organisers may see registration %s", r.GetId())
		}
	}
	return &eventsv1.GetRegistrationResponse{Registration: r}, nil
}

// organiserEvent reads an event for its organiser side only.
func (s *Service) organiserEvent(ctx context.Context, id, what string) (*eventsv1.Event, error) {
	e, err := getEvent(ctx, s.pool, id, false)
	if err != nil {
		return nil, err
	}
	if !manages(auth.Caller(ctx), e.GetOrganiser()) {
		return nil, denyManage(e, what)
	}
	return e, nil
}

// ListRegistrations: the organiser side only (registrations are personal data).
func (s *Service) ListRegistrations(ctx context.Context, req *eventsv1.ListRegistrationsRequest) (*eventsv1.ListRegistrationsResponse, error) {
	var v apierr.Violations
	check.ID(&v, "event_id", req.GetEventId())
	if _, ok := eventsv1.Registration_State_name[int32(req.GetState())]; !ok {
		v.Add("state", "is not a registration state")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	size, err := page.Size(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	state := ""
	if req.GetState() != eventsv1.Registration_STATE_UNSPECIFIED {
		state = registrationStateName(req.GetState())
	}
	filter := page.Fingerprint(req.GetEventId(), state)
	after, err := page.Decode(req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}
	afterSeq, err := seqToken(after)
	if err != nil {
		return nil, err
	}
	if _, err := s.organiserEvent(ctx, req.GetEventId(), "see its registrations"); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+registrationColumns+` FROM events.registrations r
		WHERE r.event_id = $1 AND r.seq > $2 AND ($3 = '' OR r.state = $3) ORDER BY r.seq LIMIT $4`,
		req.GetEventId(), afterSeq, state, size+1)
	if err != nil {
		return nil, err
	}
	list, next, err := collectRegistrations(rows, size, filter)
	if err != nil {
		return nil, err
	}
	return &eventsv1.ListRegistrationsResponse{Registrations: list, NextPageToken: next}, nil
}

func seqToken(after string) (int64, error) {
	if after == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(after, 10, 64)
	if err != nil || n <= 0 {
		return 0, apierr.InvalidArgument("page_token", "is not a valid page token")
	}
	return n, nil
}

func collectRegistrations(rows pgx.Rows, size int, filter uint64) ([]*eventsv1.Registration, string, error) {
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (registrationRow, error) { return scanRegistration(r) })
	if err != nil {
		return nil, "", err
	}
	list, next := page.TrimBy(list, size, filter, func(last registrationRow) string { return strconv.FormatInt(last.seq, 10) })
	out := make([]*eventsv1.Registration, len(list))
	for i, r := range list {
		out[i] = r.Registration
	}
	return out, next, nil
}

// ListMyRegistrations: the calling person's registrations, newest first.
func (s *Service) ListMyRegistrations(ctx context.Context, req *eventsv1.ListMyRegistrationsRequest) (*eventsv1.ListMyRegistrationsResponse, error) {
	size, err := page.Size(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	p := auth.Caller(ctx)
	if p.PersonID == "" {
		return nil, apierr.FailedPrecondition("NOT_A_PERSON", "your credential is not a person's: it has no registrations of its own")
	}
	filter := page.Fingerprint(p.PersonID)
	after, err := page.Decode(req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}
	afterSeq, err := seqToken(after)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+registrationColumns+` FROM events.registrations r
		WHERE r.person_id = $1 AND ($2 = 0 OR r.seq < $2) ORDER BY r.seq DESC LIMIT $3`, p.PersonID, afterSeq, size+1)
	if err != nil {
		return nil, err
	}
	list, next, err := collectRegistrations(rows, size, filter)
	if err != nil {
		return nil, err
	}
	return &eventsv1.ListMyRegistrationsResponse{Registrations: list, NextPageToken: next}, nil
}

// csvCell defuses cells a spreadsheet would run as a formula.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// ExportRegistrations: the organiser side downloads the attendee list.
func (s *Service) ExportRegistrations(ctx context.Context, req *eventsv1.ExportRegistrationsRequest) (*eventsv1.ExportRegistrationsResponse, error) {
	var v apierr.Violations
	check.ID(&v, "event_id", req.GetEventId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	e, err := s.organiserEvent(ctx, req.GetEventId(), "export its registrations")
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+registrationColumns+` FROM events.registrations r
		WHERE r.event_id = $1 AND ($2 OR r.state <> 'CANCELLED') ORDER BY r.seq`, e.GetId(), req.GetIncludeCancelled())
	if err != nil {
		return nil, err
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (registrationRow, error) { return scanRegistration(r) })
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.WriteString("\ufeff") // byte order mark: spreadsheets then read UTF-8
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	if err := w.Write([]string{"name", "email", "organisation", "dietary_needs", "accessibility_needs", "state", "waitlist_position", "register_time"}); err != nil {
		return nil, err
	}
	for _, r := range list {
		position := ""
		if r.GetWaitlistPosition() > 0 {
			position = strconv.Itoa(int(r.GetWaitlistPosition()))
		}
		if err := w.Write([]string{csvCell(r.GetDisplayName()), csvCell(r.GetEmail()), csvCell(r.GetOrganisation()),
			csvCell(r.GetDietaryNeeds()), csvCell(r.GetAccessibilityNeeds()), registrationStateName(r.GetState()), position,
			r.GetRegisterTime().AsTime().In(helsinki).Format("2006-01-02 15:04")}); err != nil {
			return nil, err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, err
	}
	return &eventsv1.ExportRegistrationsResponse{Csv: buf.Bytes(), Filename: "ilmoittautuneet-" + e.GetId() + ".csv"}, nil
}
