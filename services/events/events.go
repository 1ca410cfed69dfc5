package events

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	eventsv1 "github.com/verkosto/verkosto/gen/verkosto/events/v1"
	"github.com/verkosto/verkosto/gen/verkosto/events/v1/eventsv1connect"
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

const eventColumns = `e.id::text, e.organiser_kind, e.region, e.programme, coalesce(e.network_id::text, ''), coalesce(e.association_id::text, ''),
	e.title_fi, e.title_sv, e.title_en, e.description_fi, e.description_sv, e.description_en, e.kind, e.start_time, e.end_time,
	e.address, e.municipality, e.online_url, e.audiences, e.capacity, e.registration_open_time, e.registration_deadline_time,
	e.price_cents, e.currency, e.state, e.sequence, e.cancel_reason, e.publish_time, e.cancel_time, e.complete_time,
	e.create_time, e.update_time, e.version,
	(SELECT count(*) FROM events.registrations r WHERE r.event_id = e.id AND r.state = 'CONFIRMED'),
	(SELECT count(*) FROM events.registrations r WHERE r.event_id = e.id AND r.state = 'WAITLISTED')`

func scanEvent(r pgx.Row) (*eventsv1.Event, error) {
	x := &eventsv1.Event{
		Organiser: &eventsv1.Organiser{}, Title: &commonv1.LocalizedText{}, Description: &commonv1.LocalizedText{}, Place: &eventsv1.Place{},
	}
	var organiserKind, kind, state string
	var start, end, created, updated time.Time
	var open, deadline, published, cancelled, completed *time.Time
	var audiences []string
	var version int64
	if err := r.Scan(&x.Id, &organiserKind, &x.Organiser.Region, &x.Organiser.Programme, &x.Organiser.NetworkId, &x.Organiser.AssociationId,
		&x.Title.Fi, &x.Title.Sv, &x.Title.En, &x.Description.Fi, &x.Description.Sv, &x.Description.En, &kind, &start, &end,
		&x.Place.Address, &x.Place.Municipality, &x.OnlineUrl, &audiences, &x.Capacity, &open, &deadline,
		&x.PriceCents, &x.Currency, &state, &x.Sequence, &x.CancelReason, &published, &cancelled, &completed,
		&created, &updated, &version, &x.ConfirmedCount, &x.WaitlistCount); err != nil {
		return nil, err
	}
	x.Organiser.Kind = eventsv1.Organiser_Kind(eventsv1.Organiser_Kind_value["KIND_"+organiserKind])
	x.Kind = eventsv1.Event_Kind(eventsv1.Event_Kind_value["KIND_"+kind])
	x.State = eventsv1.Event_State(eventsv1.Event_State_value["STATE_"+state])
	for _, a := range audiences {
		x.Audiences = append(x.Audiences, eventsv1.Event_Audience(eventsv1.Event_Audience_value["AUDIENCE_"+a]))
	}
	x.StartTime, x.EndTime = timestamppb.New(start), timestamppb.New(end)
	x.DisplayTime = DisplayTime(start, end)
	x.RegistrationOpenTime, x.RegistrationDeadlineTime = db.Timestamp(open), db.Timestamp(deadline)
	x.PublishTime, x.CancelTime, x.CompleteTime = db.Timestamp(published), db.Timestamp(cancelled), db.Timestamp(completed)
	x.CreateTime, x.UpdateTime, x.Etag = timestamppb.New(created), timestamppb.New(updated), etag.Of(version)
	return x, nil
}

func timeOrNil(t *timestamppb.Timestamp) *time.Time {
	if t == nil {
		return nil
	}
	v := t.AsTime()
	return &v
}

// getEvent reads an event. With lock, the row is locked FOR UPDATE first and
// read by a second statement: under READ COMMITTED the read then sees every
// registration committed by the lock's previous holders.
func getEvent(ctx context.Context, q db.DBTX, id string, lock bool) (*eventsv1.Event, error) {
	if lock {
		var locked string
		if err := q.QueryRow(ctx, `SELECT id::text FROM events.events WHERE id = $1 FOR UPDATE`, id).Scan(&locked); err != nil {
			return nil, apierr.IfNotFound(err, "event", id)
		}
	}
	x, err := scanEvent(q.QueryRow(ctx, `SELECT `+eventColumns+` FROM events.events e WHERE e.id = $1`, id))
	return x, apierr.IfNotFound(err, "event", id)
}

func enumName(s fmt.Stringer, prefix string) string { return strings.TrimPrefix(s.String(), prefix) }

func stateName(s eventsv1.Event_State) string { return enumName(s, "STATE_") }

func audienceNames(list []eventsv1.Event_Audience) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = enumName(a, "AUDIENCE_")
	}
	return out
}

// eventEvent: event changes go out as
// verkosto.changes.<region>.<programme>.event.<change> with the event
// (which holds no personal data) as payload.
func eventEvent(name string, e *eventsv1.Event) outbox.Event {
	return outbox.Event{Kind: "event", Name: name, AggregateID: e.GetId(), Version: etag.Version(e.GetEtag()),
		Region: e.GetOrganiser().GetRegion(), Programme: e.GetOrganiser().GetProgramme(), Payload: e}
}

// manages: the organiser side of an event may change it and see its
// registrations: admins, the coordinator of its region × programme, the
// leaders of an organising network, the contact of an organising association.
func manages(p *auth.Principal, o *eventsv1.Organiser) bool {
	if p.Coordinates(o.GetRegion(), o.GetProgramme()) {
		return true
	}
	switch o.GetKind() {
	case eventsv1.Organiser_KIND_NETWORK:
		return p.Leads(o.GetNetworkId())
	case eventsv1.Organiser_KIND_ASSOCIATION:
		return p.ActsFor(o.GetAssociationId())
	}
	return false
}

// canRead: drafts only the organiser side; other events every authenticated
// caller, partners within their regions and programmes.
func canRead(p *auth.Principal, e *eventsv1.Event) bool {
	if manages(p, e.GetOrganiser()) {
		return true
	}
	if e.GetState() == eventsv1.Event_STATE_DRAFT {
		return false
	}
	return p.Reads(e.GetOrganiser().GetRegion(), e.GetOrganiser().GetProgramme())
}

func denyRead(e *eventsv1.Event) error {
	if e.GetState() == eventsv1.Event_STATE_DRAFT {
		return apierr.Deny("event %s is a draft: only its organisers may see it", e.GetId())
	}
	return apierr.Deny("your credential does not cover %s × %s", e.GetOrganiser().GetRegion(), e.GetOrganiser().GetProgramme())
}

func denyManage(e *eventsv1.Event, action string) error {
	return apierr.Deny("only the organisers of event %s (its coordinator, network leaders or association contact) or an admin may %s", e.GetId(), action)
}

// CreateEvent: whoever manages the organiser given.
func (s *Service) CreateEvent(ctx context.Context, req *eventsv1.CreateEventRequest) (*eventsv1.CreateEventResponse, error) {
	e := req.GetEvent()
	var v apierr.Violations
	if e == nil {
		v.Add("event", "is required")
	}
	checkOrganiser(&v, e.GetOrganiser())
	all := map[string]bool{}
	for _, p := range eventPaths {
		all[p] = true
	}
	checkEventFields(&v, e, all)
	if e.GetCurrency() != "" && e.GetCurrency() != "EUR" {
		v.Add("event.currency", "must be EUR (or empty)")
	}
	check.ServerOwned(&v, "event", check.Set("id", e.GetId() != ""), check.Set("display_time", e.GetDisplayTime() != ""),
		check.Set("state", e.GetState() != eventsv1.Event_STATE_UNSPECIFIED), check.Set("sequence", e.GetSequence() != 0),
		check.Set("confirmed_count", e.GetConfirmedCount() != 0), check.Set("waitlist_count", e.GetWaitlistCount() != 0),
		check.Set("cancel_reason", e.GetCancelReason() != ""), check.Set("publish_time", e.GetPublishTime() != nil),
		check.Set("cancel_time", e.GetCancelTime() != nil), check.Set("complete_time", e.GetCompleteTime() != nil),
		check.Set("create_time", e.GetCreateTime() != nil), check.Set("update_time", e.GetUpdateTime() != nil),
		check.Set("etag", e.GetEtag() != ""))
	if v.Empty() {
		checkEventWhole(&v, e)
		if !e.GetStartTime().AsTime().After(s.now()) {
			v.Add("event.start_time", "must be in the future")
		}
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	o := e.GetOrganiser()
	if !manages(auth.Caller(ctx), o) {
		return nil, apierr.Deny("only the organiser's coordinator, leaders or contact, or an admin, may create its events")
	}
	hashReq := proto.CloneOf(req)
	hashReq.RequestId = ""
	now := s.now()
	id, _, err := s.w.CreateFor(ctx, auth.Caller(ctx).CredentialID, eventsv1connect.EventsServiceCreateEventProcedure, req.GetRequestId(),
		reqid.Hash(hashReq), ids.New(),
		func(tx pgx.Tx, id string) ([]outbox.Event, error) {
			_, err := tx.Exec(ctx, `INSERT INTO events.events (id, organiser_kind, region, programme, network_id, association_id,
				title_fi, title_sv, title_en, description_fi, description_sv, description_en, kind, start_time, end_time,
				address, municipality, online_url, audiences, capacity, registration_open_time, registration_deadline_time,
				price_cents, currency, state, create_time, update_time)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, 'EUR', 'DRAFT', $24, $24)`,
				id, enumName(o.GetKind(), "KIND_"), o.GetRegion(), o.GetProgramme(), db.Null(o.GetNetworkId()), db.Null(o.GetAssociationId()),
				e.GetTitle().GetFi(), e.GetTitle().GetSv(), e.GetTitle().GetEn(),
				e.GetDescription().GetFi(), e.GetDescription().GetSv(), e.GetDescription().GetEn(),
				enumName(e.GetKind(), "KIND_"), e.GetStartTime().AsTime(), e.GetEndTime().AsTime(),
				e.GetPlace().GetAddress(), e.GetPlace().GetMunicipality(), e.GetOnlineUrl(), audienceNames(e.GetAudiences()),
				e.GetCapacity(), timeOrNil(e.GetRegistrationOpenTime()), timeOrNil(e.GetRegistrationDeadlineTime()),
				e.GetPriceCents(), now)
			if err != nil {
				return nil, err
			}
			created, err := getEvent(ctx, tx, id, false)
			if err != nil {
				return nil, err
			}
			return []outbox.Event{eventEvent("created", created)}, nil
		})
	if err != nil {
		return nil, err
	}
	out, err := getEvent(ctx, s.pool, id, false)
	if err != nil {
		return nil, err
	}
	return &eventsv1.CreateEventResponse{Event: out}, nil
}

// GetEvent: see canRead.
func (s *Service) GetEvent(ctx context.Context, req *eventsv1.GetEventRequest) (*eventsv1.GetEventResponse, error) {
	var v apierr.Violations
	check.ID(&v, "id", req.GetId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	e, err := getEvent(ctx, s.pool, req.GetId(), false)
	if err != nil {
		return nil, err
	}
	if !canRead(auth.Caller(ctx), e) {
		return nil, denyRead(e)
	}
	return &eventsv1.GetEventResponse{Event: e}, nil
}

// UpdateEvent: the organiser side, while the event is a draft or published.
// A published event whose time changes publishes "rescheduled", whose place
// (and not time) changes "moved"; a capacity change "capacity_changed" and
// promotes from the waitlist; anything else "updated". Changes of time,
// place or title bump the iCalendar sequence.
func (s *Service) UpdateEvent(ctx context.Context, req *eventsv1.UpdateEventRequest) (*eventsv1.UpdateEventResponse, error) {
	e := req.GetEvent()
	var v apierr.Violations
	check.ID(&v, "event.id", e.GetId())
	paths, err := fieldmask.Paths(req.GetUpdateMask().GetPaths(), eventPaths)
	if err != nil {
		return nil, err
	}
	checkEventFields(&v, e, paths)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *eventsv1.Event
	err = s.w.Write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		cur, err := getEvent(ctx, tx, e.GetId(), true)
		if err != nil {
			return nil, err
		}
		if !manages(auth.Caller(ctx), cur.GetOrganiser()) {
			return nil, denyManage(cur, "change it")
		}
		if err := etag.Check("event", cur.GetId(), e.GetEtag(), cur.GetEtag()); err != nil {
			return nil, err
		}
		if st := cur.GetState(); st != eventsv1.Event_STATE_DRAFT && st != eventsv1.Event_STATE_PUBLISHED {
			return nil, apierr.InvalidState("event", cur.GetId(), stateName(st), "update")
		}
		next := proto.CloneOf(cur)
		if paths["title"] {
			next.Title = e.GetTitle()
		}
		if paths["description"] {
			next.Description = e.GetDescription()
		}
		if paths["kind"] {
			next.Kind = e.GetKind()
		}
		if paths["start_time"] {
			next.StartTime = e.GetStartTime()
		}
		if paths["end_time"] {
			next.EndTime = e.GetEndTime()
		}
		if paths["place"] {
			next.Place = e.GetPlace()
		}
		if paths["online_url"] {
			next.OnlineUrl = e.GetOnlineUrl()
		}
		if paths["audiences"] {
			next.Audiences = e.GetAudiences()
		}
		if paths["capacity"] {
			next.Capacity = e.GetCapacity()
		}
		if paths["registration_open_time"] {
			next.RegistrationOpenTime = e.GetRegistrationOpenTime()
		}
		if paths["registration_deadline_time"] {
			next.RegistrationDeadlineTime = e.GetRegistrationDeadlineTime()
		}
		if paths["price_cents"] {
			next.PriceCents = e.GetPriceCents()
		}
		var v apierr.Violations
		checkEventWhole(&v, next)
		timeChanged := !next.GetStartTime().AsTime().Equal(cur.GetStartTime().AsTime()) || !next.GetEndTime().AsTime().Equal(cur.GetEndTime().AsTime())
		if timeChanged && !next.GetStartTime().AsTime().After(s.now()) {
			v.Add("event.start_time", "must be in the future")
		}
		if err := v.Err(); err != nil {
			return nil, err
		}
		placeChanged := !proto.Equal(next.GetPlace(), cur.GetPlace()) || next.GetOnlineUrl() != cur.GetOnlineUrl()
		titleChanged := !proto.Equal(next.GetTitle(), cur.GetTitle())
		capacityChanged := next.GetCapacity() != cur.GetCapacity()
		if capacityChanged && next.GetCapacity() > 0 && cur.GetConfirmedCount() > next.GetCapacity() {
			return nil, apierr.FailedPrecondition("CAPACITY_BELOW_CONFIRMED", fmt.Sprintf(
				"event %s has %d confirmed registrations: capacity cannot go below that (cancel registrations first)", cur.GetId(), cur.GetConfirmedCount()))
		}
		sequence := cur.GetSequence()
		if timeChanged || placeChanged || titleChanged {
			sequence++
		}
		now := s.now()
		if _, err := tx.Exec(ctx, `UPDATE events.events SET title_fi = $2, title_sv = $3, title_en = $4,
			description_fi = $5, description_sv = $6, description_en = $7, kind = $8, start_time = $9, end_time = $10,
			address = $11, municipality = $12, online_url = $13, audiences = $14, capacity = $15,
			registration_open_time = $16, registration_deadline_time = $17, price_cents = $18, sequence = $19,
			update_time = $20, version = version + 1 WHERE id = $1`,
			cur.GetId(), next.GetTitle().GetFi(), next.GetTitle().GetSv(), next.GetTitle().GetEn(),
			next.GetDescription().GetFi(), next.GetDescription().GetSv(), next.GetDescription().GetEn(),
			enumName(next.GetKind(), "KIND_"), next.GetStartTime().AsTime(), next.GetEndTime().AsTime(),
			next.GetPlace().GetAddress(), next.GetPlace().GetMunicipality(), next.GetOnlineUrl(), audienceNames(next.GetAudiences()),
			next.GetCapacity(), timeOrNil(next.GetRegistrationOpenTime()), timeOrNil(next.GetRegistrationDeadlineTime()),
			next.GetPriceCents(), sequence, now); err != nil {
			return nil, err
		}
		var changes []outbox.Event
		if capacityChanged && cur.GetState() == eventsv1.Event_STATE_PUBLISHED {
			promoted, err := s.promote(ctx, tx, cur.GetId(), next.GetCapacity(), now)
			if err != nil {
				return nil, err
			}
			for _, r := range promoted {
				changes = append(changes, registrationEvent("registration_promoted", cur, r))
			}
		}
		if out, err = getEvent(ctx, tx, cur.GetId(), false); err != nil {
			return nil, err
		}
		published := cur.GetState() == eventsv1.Event_STATE_PUBLISHED
		name := "updated"
		switch {
		case published && timeChanged:
			name = "rescheduled"
		case published && placeChanged:
			name = "moved"
		case capacityChanged:
			name = "capacity_changed"
		}
		return append([]outbox.Event{eventEvent(name, out)}, changes...), nil
	})
	if err != nil {
		return nil, err
	}
	return &eventsv1.UpdateEventResponse{Event: out}, nil
}

// transition is one step of the event state machine.
type transition struct {
	action string // for messages: "publish"
	change string // change name: "published"
	from   []eventsv1.Event_State
	to     eventsv1.Event_State
	// column set to now: "publish_time"
	stamp string
	// check is a further precondition on the event, at now.
	check func(e *eventsv1.Event, now time.Time) error
}

var (
	publish = transition{action: "publish", change: "published", from: []eventsv1.Event_State{eventsv1.Event_STATE_DRAFT},
		to: eventsv1.Event_STATE_PUBLISHED, stamp: "publish_time",
		check: func(e *eventsv1.Event, now time.Time) error {
			if !e.GetStartTime().AsTime().After(now) {
				return apierr.FailedPrecondition("EVENT_STARTED", fmt.Sprintf("cannot publish event %s: it started at %s", e.GetId(), e.GetDisplayTime()))
			}
			return nil
		}}
	cancel = transition{action: "cancel", change: "cancelled",
		from: []eventsv1.Event_State{eventsv1.Event_STATE_DRAFT, eventsv1.Event_STATE_PUBLISHED},
		to:   eventsv1.Event_STATE_CANCELLED, stamp: "cancel_time"}
	complete = transition{action: "complete", change: "completed", from: []eventsv1.Event_State{eventsv1.Event_STATE_PUBLISHED},
		to: eventsv1.Event_STATE_COMPLETED, stamp: "complete_time",
		check: func(e *eventsv1.Event, now time.Time) error {
			if now.Before(e.GetStartTime().AsTime()) {
				return apierr.FailedPrecondition("EVENT_NOT_STARTED", fmt.Sprintf("cannot complete event %s before it starts (%s)", e.GetId(), e.GetDisplayTime()))
			}
			return nil
		}}
)

// step applies t to event id: authorization, etag and current state are
// checked on the locked row, so concurrent steps serialize and only one wins.
func (s *Service) step(ctx context.Context, t transition, id, etagSeen, reason string) (*eventsv1.Event, error) {
	var v apierr.Violations
	check.ID(&v, "id", id)
	check.Text(&v, "reason", reason, 2000)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *eventsv1.Event
	err := s.w.Write(ctx, func(tx pgx.Tx) ([]outbox.Event, error) {
		e, err := getEvent(ctx, tx, id, true)
		if err != nil {
			return nil, err
		}
		if !manages(auth.Caller(ctx), e.GetOrganiser()) {
			if !canRead(auth.Caller(ctx), e) {
				return nil, denyRead(e)
			}
			return nil, denyManage(e, t.action+" it")
		}
		if err := etag.Check("event", id, etagSeen, e.GetEtag()); err != nil {
			return nil, err
		}
		if !slices.Contains(t.from, e.GetState()) {
			return nil, apierr.InvalidState("event", id, stateName(e.GetState()), t.action)
		}
		now := s.now()
		if t.check != nil {
			if err := t.check(e, now); err != nil {
				return nil, err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE events.events SET state = $2, `+t.stamp+` = $3, update_time = $3,
			cancel_reason = CASE WHEN $4 = '' THEN cancel_reason ELSE $4 END, sequence = sequence + 1, version = version + 1
			WHERE id = $1`, id, stateName(t.to), now, reason); err != nil {
			return nil, err
		}
		if out, err = getEvent(ctx, tx, id, false); err != nil {
			return nil, err
		}
		return []outbox.Event{eventEvent(t.change, out)}, nil
	})
	return out, err
}

// PublishEvent: the organiser side publishes a draft that has not started.
func (s *Service) PublishEvent(ctx context.Context, req *eventsv1.PublishEventRequest) (*eventsv1.PublishEventResponse, error) {
	e, err := s.step(ctx, publish, req.GetId(), req.GetEtag(), "")
	if err != nil {
		return nil, err
	}
	return &eventsv1.PublishEventResponse{Event: e}, nil
}

// CancelEvent: the organiser side cancels a draft or published event. Its
// registrations stay as they were; the "cancelled" change tells registrants.
func (s *Service) CancelEvent(ctx context.Context, req *eventsv1.CancelEventRequest) (*eventsv1.CancelEventResponse, error) {
	e, err := s.step(ctx, cancel, req.GetId(), req.GetEtag(), req.GetReason())
	if err != nil {
		return nil, err
	}
	return &eventsv1.CancelEventResponse{Event: e}, nil
}

// CompleteEvent: the organiser side marks a published event held, once it has started.
func (s *Service) CompleteEvent(ctx context.Context, req *eventsv1.CompleteEventRequest) (*eventsv1.CompleteEventResponse, error) {
	e, err := s.step(ctx, complete, req.GetId(), req.GetEtag(), "")
	if err != nil {
		return nil, err
	}
	return &eventsv1.CompleteEventResponse{Event: e}, nil
}

// visibility is the SQL condition of the events a principal may read, on
// alias e, with its parameters appended to args.
func visibility(p *auth.Principal, args *[]any) string {
	var coordRegions, coordProgrammes, networks, associations, partnerRegions, partnerProgrammes []string
	for _, b := range p.Bindings {
		switch b.Role {
		case auth.RoleCoordinator:
			coordRegions, coordProgrammes = append(coordRegions, b.Region), append(coordProgrammes, b.Programme)
		case auth.RoleLeader:
			networks = append(networks, b.Network)
		case auth.RoleAssociation:
			associations = append(associations, b.Association)
		case auth.RolePartner:
			partnerRegions, partnerProgrammes = append(partnerRegions, b.Region), append(partnerProgrammes, b.Programme)
		}
	}
	arg := func(v any) string {
		*args = append(*args, v)
		return "$" + strconv.Itoa(len(*args))
	}
	manage := fmt.Sprintf(`(%s OR EXISTS (SELECT 1 FROM unnest(%s::text[], %s::text[]) AS c(r, p) WHERE c.r = e.region AND c.p = e.programme)
		OR e.network_id::text = ANY(%s::text[]) OR e.association_id::text = ANY(%s::text[]))`,
		arg(p.IsAdmin()), arg(coordRegions), arg(coordProgrammes), arg(networks), arg(associations))
	read := arg(p.Member())
	partner := fmt.Sprintf(`EXISTS (SELECT 1 FROM unnest(%s::text[], %s::text[]) AS s(r, p)
		WHERE (s.r = '' OR s.r = e.region) AND (s.p = '' OR s.p = e.programme))`, arg(partnerRegions), arg(partnerProgrammes))
	return fmt.Sprintf(`(%s OR (e.state <> 'DRAFT' AND (%s OR %s)))`, manage, read, partner)
}

// likePattern makes a case-insensitive substring pattern of a query.
func likePattern(q string) string {
	return "%" + db.LikeEscape(strings.TrimSpace(q)) + "%"
}

// ListEvents lists the events the caller may read, by start time.
func (s *Service) ListEvents(ctx context.Context, req *eventsv1.ListEventsRequest) (*eventsv1.ListEventsResponse, error) {
	var v apierr.Violations
	check.OptionalSlug(&v, "region", req.GetRegion())
	check.OptionalSlug(&v, "programme", req.GetProgramme())
	check.OptionalID(&v, "network_id", req.GetNetworkId())
	check.OptionalID(&v, "association_id", req.GetAssociationId())
	check.Text(&v, "query", req.GetQuery(), 200)
	if _, ok := eventsv1.Organiser_Kind_name[int32(req.GetOrganiserKind())]; !ok {
		v.Add("organiser_kind", "is not an organiser kind")
	}
	if _, ok := eventsv1.Event_Kind_name[int32(req.GetKind())]; !ok {
		v.Add("kind", "is not an event kind")
	}
	if _, ok := eventsv1.Event_Audience_name[int32(req.GetAudience())]; !ok {
		v.Add("audience", "is not an audience")
	}
	if _, ok := eventsv1.Event_State_name[int32(req.GetState())]; !ok {
		v.Add("state", "is not an event state")
	}
	checkTime(&v, "start_after", req.GetStartAfter(), false)
	checkTime(&v, "start_before", req.GetStartBefore(), false)
	if err := v.Err(); err != nil {
		return nil, err
	}
	size, err := page.Size(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	state := "PUBLISHED"
	if req.GetState() != eventsv1.Event_STATE_UNSPECIFIED {
		state = stateName(req.GetState())
	}
	// optional maps an unspecified enum filter to "" and any other to its stored name.
	optional := func(x interface {
		fmt.Stringer
		Number() protoreflect.EnumNumber
	}, prefix string) string {
		if x.Number() == 0 {
			return ""
		}
		return enumName(x, prefix)
	}
	organiserKind := optional(req.GetOrganiserKind(), "KIND_")
	kind := optional(req.GetKind(), "KIND_")
	audience := optional(req.GetAudience(), "AUDIENCE_")
	var after, before *time.Time
	var endAfter *time.Time
	if req.GetStartAfter() != nil || req.GetStartBefore() != nil {
		after, before = timeOrNil(req.GetStartAfter()), timeOrNil(req.GetStartBefore())
	} else {
		now := s.now()
		endAfter = &now // upcoming: not yet ended
	}
	query := ""
	if strings.TrimSpace(req.GetQuery()) != "" {
		query = likePattern(req.GetQuery())
	}
	fmtTime := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	upcoming := "explicit"
	if endAfter != nil {
		upcoming = "upcoming" // not the time itself: the clock moves between pages
	}
	filter := page.Fingerprint(req.GetRegion(), req.GetProgramme(), organiserKind, req.GetNetworkId(), req.GetAssociationId(),
		kind, audience, fmtTime(after), fmtTime(before), upcoming, query, state)
	token, err := page.Decode(req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}
	var afterStart *time.Time
	afterID := ""
	if token != "" {
		nanos, id, ok := strings.Cut(token, "_")
		n, err := strconv.ParseInt(nanos, 10, 64)
		if !ok || err != nil || !ids.Valid(id) {
			return nil, apierr.InvalidArgument("page_token", "is not a valid page token")
		}
		t := time.Unix(0, n)
		afterStart, afterID = &t, id
	}
	args := []any{db.Null(afterID), afterStart, req.GetRegion(), req.GetProgramme(), organiserKind, db.Null(req.GetNetworkId()),
		db.Null(req.GetAssociationId()), kind, audience, after, before, endAfter, query, state}
	where := visibility(auth.Caller(ctx), &args)
	args = append(args, size+1)
	var list []*eventsv1.Event
	changeCursor, err := outbox.ListCursor(ctx, s.pool, Schema, req.GetPageToken() == "", func(q db.DBTX) error {
		rows, err := q.Query(ctx, `SELECT `+eventColumns+` FROM events.events e
		WHERE ($1::uuid IS NULL OR (e.start_time, e.id) > ($2, $1::uuid))
		AND ($3 = '' OR e.region = $3) AND ($4 = '' OR e.programme = $4) AND ($5 = '' OR e.organiser_kind = $5)
		AND ($6::uuid IS NULL OR e.network_id = $6) AND ($7::uuid IS NULL OR e.association_id = $7)
		AND ($8 = '' OR e.kind = $8) AND ($9 = '' OR $9 = ANY(e.audiences))
		AND ($10::timestamptz IS NULL OR e.start_time >= $10) AND ($11::timestamptz IS NULL OR e.start_time < $11)
		AND ($12::timestamptz IS NULL OR e.end_time > $12)
		AND ($13 = '' OR e.title_fi ILIKE $13 OR e.title_sv ILIKE $13 OR e.title_en ILIKE $13
			OR e.description_fi ILIKE $13 OR e.description_sv ILIKE $13 OR e.description_en ILIKE $13)
		AND e.state = $14 AND `+where+`
		ORDER BY e.start_time, e.id LIMIT $`+strconv.Itoa(len(args)), args...)
		if err != nil {
			return err
		}
		list, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*eventsv1.Event, error) { return scanEvent(r) })
		return err
	})
	if err != nil {
		return nil, err
	}
	list, next := page.TrimBy(list, size, filter, func(last *eventsv1.Event) string {
		return strconv.FormatInt(last.GetStartTime().AsTime().UnixNano(), 10) + "_" + last.GetId()
	})
	return &eventsv1.ListEventsResponse{Events: list, NextPageToken: next, ChangeCursor: changeCursor}, nil
}
