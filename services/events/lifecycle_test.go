package events_test

import (
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/verkosto/verkosto/gen/verkosto/events/v1"
	"github.com/verkosto/verkosto/gen/verkosto/events/v1/eventsv1connect"
	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/ids"
)

func TestEventLifecycle(t *testing.T) {
	s := newSetup(t)
	changes := s.WatchChanges()
	coord := s.as(coordinator("lape"))

	e := s.create(coord, s.draft(programmeOrganiser("lape"), capacity(50)))
	if e.GetState() != eventsv1.Event_STATE_DRAFT || e.GetEtag() != "1" || e.GetSequence() != 0 || e.GetCurrency() != "EUR" {
		t.Fatalf("created: %v", e)
	}
	if e.GetDisplayTime() == "" || e.GetDisplayTime()[len(e.GetDisplayTime())-len("12.00–15.30"):] != "12.00–15.30" {
		t.Fatalf("display_time %q", e.GetDisplayTime())
	}
	// Drafts cannot be completed, and take no registrations.
	_, err := coord.CompleteEvent(ctx, &eventsv1.CompleteEventRequest{Id: e.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "DRAFT")
	_, err = s.admin.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId(), PersonId: ids.New(), DisplayName: "Aino"})
	wantCode(t, err, connect.CodeFailedPrecondition, "DRAFT")

	// A stale etag is refused.
	_, err = coord.PublishEvent(ctx, &eventsv1.PublishEventRequest{Id: e.GetId(), Etag: "7"})
	wantCode(t, err, connect.CodeAborted)
	pub, err := coord.PublishEvent(ctx, &eventsv1.PublishEventRequest{Id: e.GetId(), Etag: e.GetEtag()})
	if err != nil {
		t.Fatal(err)
	}
	if pub.GetEvent().GetState() != eventsv1.Event_STATE_PUBLISHED || pub.GetEvent().GetPublishTime() == nil || pub.GetEvent().GetSequence() != 1 {
		t.Fatalf("published: %v", pub.GetEvent())
	}
	_, err = coord.PublishEvent(ctx, &eventsv1.PublishEventRequest{Id: e.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "PUBLISHED")
	// Completing before the start is refused.
	_, err = coord.CompleteEvent(ctx, &eventsv1.CompleteEventRequest{Id: e.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "before it starts")

	// Editing the time of a published event reschedules it; its place, moves it.
	later := proto.CloneOf(pub.GetEvent())
	later.StartTime = timestamppb.New(later.GetStartTime().AsTime().Add(24 * time.Hour))
	later.EndTime = timestamppb.New(later.GetEndTime().AsTime().Add(24 * time.Hour))
	res, err := coord.UpdateEvent(ctx, &eventsv1.UpdateEventRequest{Event: later, UpdateMask: fieldMask("start_time", "end_time")})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetEvent().GetSequence() != 2 || !res.GetEvent().GetStartTime().AsTime().Equal(later.GetStartTime().AsTime()) {
		t.Fatalf("rescheduled: %v", res.GetEvent())
	}
	moved := proto.CloneOf(res.GetEvent())
	moved.Place = &eventsv1.Place{Address: "Oulun yliopisto, Pentti Kaiteran katu 1", Municipality: "Oulu"}
	res, err = coord.UpdateEvent(ctx, &eventsv1.UpdateEventRequest{Event: moved, UpdateMask: fieldMask("place")})
	if err != nil || res.GetEvent().GetSequence() != 3 {
		t.Fatalf("moved: %v %v", res, err)
	}
	// A change that is neither time, place nor title keeps the sequence.
	priced := proto.CloneOf(res.GetEvent())
	priced.PriceCents = 2500
	res, err = coord.UpdateEvent(ctx, &eventsv1.UpdateEventRequest{Event: priced, UpdateMask: fieldMask("price_cents")})
	if err != nil || res.GetEvent().GetSequence() != 3 || res.GetEvent().GetPriceCents() != 2500 {
		t.Fatalf("priced: %v %v", res, err)
	}

	cancelled, err := coord.CancelEvent(ctx, &eventsv1.CancelEventRequest{Id: e.GetId(), Reason: "Puhuja sairastui"})
	if err != nil {
		t.Fatal(err)
	}
	if c := cancelled.GetEvent(); c.GetState() != eventsv1.Event_STATE_CANCELLED || c.GetCancelReason() != "Puhuja sairastui" || c.GetSequence() != 4 {
		t.Fatalf("cancelled: %v", c)
	}
	// Nothing follows a cancellation.
	_, err = coord.CancelEvent(ctx, &eventsv1.CancelEventRequest{Id: e.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "CANCELLED")
	_, err = coord.PublishEvent(ctx, &eventsv1.PublishEventRequest{Id: e.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "CANCELLED")
	_, err = coord.CompleteEvent(ctx, &eventsv1.CompleteEventRequest{Id: e.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "CANCELLED")
	_, err = coord.UpdateEvent(ctx, &eventsv1.UpdateEventRequest{Event: cancelled.GetEvent(), UpdateMask: fieldMask("capacity")})
	wantCode(t, err, connect.CodeFailedPrecondition, "CANCELLED")
	_, err = s.admin.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId(), PersonId: ids.New(), DisplayName: "Aino"})
	wantCode(t, err, connect.CodeFailedPrecondition, "CANCELLED")

	// A draft may be cancelled.
	d := s.create(coord, s.draft(programmeOrganiser("lape")))
	if res, err := coord.CancelEvent(ctx, &eventsv1.CancelEventRequest{Id: d.GetId()}); err != nil || res.GetEvent().GetState() != eventsv1.Event_STATE_CANCELLED {
		t.Fatalf("cancel draft: %v %v", res, err)
	}

	// Completing once the event has started; then nothing follows.
	held := s.published(programmeOrganiser("lape"))
	s.Clock.Advance(8 * 24 * time.Hour)
	done, err := coord.CompleteEvent(ctx, &eventsv1.CompleteEventRequest{Id: held.GetId()})
	if err != nil || done.GetEvent().GetState() != eventsv1.Event_STATE_COMPLETED || done.GetEvent().GetCompleteTime() == nil {
		t.Fatalf("complete: %v %v", done, err)
	}
	_, err = coord.CancelEvent(ctx, &eventsv1.CancelEventRequest{Id: held.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "COMPLETED")
	_, err = coord.CompleteEvent(ctx, &eventsv1.CompleteEventRequest{Id: held.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "COMPLETED")
	_, err = coord.UpdateEvent(ctx, &eventsv1.UpdateEventRequest{Event: done.GetEvent(), UpdateMask: fieldMask("title")})
	wantCode(t, err, connect.CodeFailedPrecondition, "COMPLETED")
	// A draft whose start has passed cannot be published.
	late := s.create(coord, s.draft(programmeOrganiser("lape")))
	s.Clock.Advance(8 * 24 * time.Hour)
	_, err = coord.PublishEvent(ctx, &eventsv1.PublishEventRequest{Id: late.GetId()})
	wantCode(t, err, connect.CodeFailedPrecondition, "started")

	// The changes of the first event, in order, on its subjects.
	want := []string{"created", "published", "rescheduled", "moved", "updated", "cancelled"}
	waitChanges(t, changes, func(list []testenvReceived) bool { return len(aggregateChanges(list, e.GetId())) >= len(want) })
	got := aggregateChanges(changes.All(), e.GetId())
	for i, r := range got {
		if r.Subject != subjectOf(want[i]) || r.Change.GetAggregateVersion() != int64(i+1) {
			t.Fatalf("change %d: %s v%d, want %s v%d", i, r.Subject, r.Change.GetAggregateVersion(), subjectOf(want[i]), i+1)
		}
		var payload eventsv1.Event
		if err := r.Change.GetPayload().UnmarshalTo(&payload); err != nil || payload.GetId() != e.GetId() {
			t.Fatalf("payload of %s: %v %v", r.Subject, &payload, err)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d changes, want %d", len(got), len(want))
	}
}

func aggregateChanges(list []testenvReceived, id string) []testenvReceived {
	var out []testenvReceived
	for _, r := range list {
		if r.Change.GetAggregateId() == id {
			out = append(out, r)
		}
	}
	return out
}

func TestEventValidation(t *testing.T) {
	s := newSetup(t)
	_, err := s.admin.CreateEvent(ctx, &eventsv1.CreateEventRequest{})
	wantCode(t, err, connect.CodeInvalidArgument, "event: is required", "event.organiser", "event.title.fi", "event.kind", "event.start_time",
		"event.end_time", "event.audiences")

	bad := s.draft(&eventsv1.Organiser{Kind: eventsv1.Organiser_KIND_NETWORK, Region: "Pohjois Pohjanmaa"}, func(e *eventsv1.Event) {
		e.OnlineUrl = "teams"
		e.Capacity = -1
		e.PriceCents = -100
		e.Currency = "SEK"
		e.Audiences = []eventsv1.Event_Audience{eventsv1.Event_AUDIENCE_PUBLIC, eventsv1.Event_AUDIENCE_PUBLIC}
		e.Id = ids.New()
		e.State = eventsv1.Event_STATE_PUBLISHED
		e.Etag = "3"
	})
	_, err = s.admin.CreateEvent(ctx, &eventsv1.CreateEventRequest{Event: bad})
	wantCode(t, err, connect.CodeInvalidArgument, "event.organiser.region", "event.organiser.network_id", "event.organiser.programme",
		"event.online_url", "event.capacity", "event.price_cents", "event.currency", "event.audiences[1]", "event.id", "event.state", "event.etag")

	// Rules between fields.
	wrongWay := s.draft(programmeOrganiser("lape"), func(e *eventsv1.Event) {
		e.EndTime = timestamppb.New(e.GetStartTime().AsTime().Add(-time.Hour))
		e.Place = nil
	})
	_, err = s.admin.CreateEvent(ctx, &eventsv1.CreateEventRequest{Event: wrongWay})
	wantCode(t, err, connect.CodeInvalidArgument, "event.end_time: must be after start_time", "event.place")
	past := s.draft(programmeOrganiser("lape"), func(e *eventsv1.Event) {
		e.StartTime = timestamppb.New(s.Clock.Now().Add(-time.Hour))
		e.EndTime = timestamppb.New(s.Clock.Now().Add(time.Hour))
	})
	_, err = s.admin.CreateEvent(ctx, &eventsv1.CreateEventRequest{Event: past})
	wantCode(t, err, connect.CodeInvalidArgument, "event.start_time: must be in the future")
	window := s.draft(programmeOrganiser("lape"), func(e *eventsv1.Event) {
		e.RegistrationOpenTime = timestamppb.New(e.GetStartTime().AsTime().Add(-time.Hour))
		e.RegistrationDeadlineTime = timestamppb.New(e.GetStartTime().AsTime().Add(-2 * time.Hour))
	})
	_, err = s.admin.CreateEvent(ctx, &eventsv1.CreateEventRequest{Event: window})
	wantCode(t, err, connect.CodeInvalidArgument, "event.registration_open_time: must be before registration_deadline_time")
	for _, o := range []*eventsv1.Organiser{
		{Kind: eventsv1.Organiser_KIND_PROGRAMME, Region: region, Programme: "lape", AssociationId: ids.New()},
		{Kind: eventsv1.Organiser_KIND_ASSOCIATION, Region: region, NetworkId: ids.New(), AssociationId: ids.New()},
		{Kind: eventsv1.Organiser_KIND_UNSPECIFIED, Region: region},
	} {
		_, err = s.admin.CreateEvent(ctx, &eventsv1.CreateEventRequest{Event: s.draft(o)})
		wantCode(t, err, connect.CodeInvalidArgument, "event.organiser.")
	}

	// Updates: the mask is required and names changeable fields only.
	e := s.create(s.admin, s.draft(programmeOrganiser("lape")))
	_, err = s.admin.UpdateEvent(ctx, &eventsv1.UpdateEventRequest{Event: e})
	wantCode(t, err, connect.CodeInvalidArgument, "update_mask")
	for _, path := range []string{"organiser", "state", "sequence", "id", "currency", "display_time"} {
		_, err = s.admin.UpdateEvent(ctx, &eventsv1.UpdateEventRequest{Event: e, UpdateMask: fieldMask(path)})
		wantCode(t, err, connect.CodeInvalidArgument, "update_mask", path)
	}
	noTitle := proto.CloneOf(e)
	noTitle.Title = nil
	_, err = s.admin.UpdateEvent(ctx, &eventsv1.UpdateEventRequest{Event: noTitle, UpdateMask: fieldMask("title")})
	wantCode(t, err, connect.CodeInvalidArgument, "event.title.fi")
	shorter := proto.CloneOf(e)
	shorter.EndTime = timestamppb.New(e.GetStartTime().AsTime())
	_, err = s.admin.UpdateEvent(ctx, &eventsv1.UpdateEventRequest{Event: shorter, UpdateMask: fieldMask("end_time")})
	wantCode(t, err, connect.CodeInvalidArgument, "event.end_time")
	_, err = s.admin.GetEvent(ctx, &eventsv1.GetEventRequest{Id: "nope"})
	wantCode(t, err, connect.CodeInvalidArgument, "id")
	_, err = s.admin.GetEvent(ctx, &eventsv1.GetEventRequest{Id: ids.New()})
	wantCode(t, err, connect.CodeNotFound)
	_, err = s.admin.ListEvents(ctx, &eventsv1.ListEventsRequest{PageSize: -1})
	wantCode(t, err, connect.CodeInvalidArgument, "page_size")
	_, err = s.admin.ListEvents(ctx, &eventsv1.ListEventsRequest{Region: "Ei slug", Kind: 99})
	wantCode(t, err, connect.CodeInvalidArgument, "region", "kind")
	_, err = s.admin.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId(), Email: "ei-osoite", DietaryNeeds: string(make([]byte, 2000))})
	wantCode(t, err, connect.CodeInvalidArgument, "email", "display_name", "dietary_needs")
	_, err = s.anonymous().RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId()})
	wantCode(t, err, connect.CodeInvalidArgument, "display_name", "email")

	// request_id: a retried create returns the first event.
	req := &eventsv1.CreateEventRequest{Event: s.draft(programmeOrganiser("lape")), RequestId: "luonti-1"}
	first, err := s.admin.CreateEvent(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.admin.CreateEvent(ctx, req)
	if err != nil || again.GetEvent().GetId() != first.GetEvent().GetId() {
		t.Fatalf("retry: %v %v", again, err)
	}
}

// Anonymous callers reach only the declared public procedures.
func TestAnonymousOnlyOnPublicProcedures(t *testing.T) {
	s := newSetup(t)
	anon := s.anonymous()
	e := s.published(programmeOrganiser("lape"), public)
	_, err := anon.GetEvent(ctx, &eventsv1.GetEventRequest{Id: e.GetId()})
	wantCode(t, err, connect.CodeUnauthenticated)
	_, err = anon.ListEvents(ctx, &eventsv1.ListEventsRequest{})
	wantCode(t, err, connect.CodeUnauthenticated)
	_, err = anon.CreateEvent(ctx, &eventsv1.CreateEventRequest{Event: s.draft(programmeOrganiser("lape"))})
	wantCode(t, err, connect.CodeUnauthenticated)
	_, err = anon.ListRegistrations(ctx, &eventsv1.ListRegistrationsRequest{EventId: e.GetId()})
	wantCode(t, err, connect.CodeUnauthenticated)
	nets := networksv1connect.NewNetworksServiceClient(s.HTTPClient(), s.URL)
	_, err = nets.ListRegions(ctx, &networksv1.ListRegionsRequest{})
	wantCode(t, err, connect.CodeUnauthenticated)
	// A public procedure with a bad credential is not treated as anonymous.
	_, err = s.client("vk_invalid").RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId(), DisplayName: "X", Email: "x@example.org"})
	wantCode(t, err, connect.CodeUnauthenticated)
	// Cancelling without a credential needs the token.
	_, err = anon.CancelRegistration(ctx, &eventsv1.CancelRegistrationRequest{Id: ids.New()})
	wantCode(t, err, connect.CodeUnauthenticated, "cancellation_token")
	res, err := anon.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId(), DisplayName: "Maija Meikäläinen", Email: "maija@example.org"})
	if err != nil || !res.GetRegistration().GetPublic() || res.GetCancellationToken() == "" {
		t.Fatalf("public registration: %v %v", res, err)
	}
	// The same over gRPC and gRPC-Web.
	for name, opt := range map[string]connect.ClientOption{"grpc": connect.WithGRPC(), "grpc-web": connect.WithGRPCWeb()} {
		c := eventsv1connect.NewEventsServiceClient(s.H2Client(), s.URL, opt)
		res, err := c.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId(), DisplayName: name, Email: name + "@example.org"})
		if err != nil || res.GetCancellationToken() == "" {
			t.Fatalf("%s: public registration: %v %v", name, res, err)
		}
		_, err = c.GetEvent(ctx, &eventsv1.GetEventRequest{Id: e.GetId()})
		wantCode(t, err, connect.CodeUnauthenticated)
		if _, err := c.CancelRegistration(ctx, &eventsv1.CancelRegistrationRequest{Id: res.GetRegistration().GetId(),
			CancellationToken: res.GetCancellationToken()}); err != nil {
			t.Fatalf("%s: cancel with token: %v", name, err)
		}
	}
}
