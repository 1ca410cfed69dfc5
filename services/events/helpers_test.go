package events_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	eventsv1 "github.com/verkosto/verkosto/gen/verkosto/events/v1"
	"github.com/verkosto/verkosto/gen/verkosto/events/v1/eventsv1connect"
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/testenv"
	"github.com/verkosto/verkosto/services/events"
	"github.com/verkosto/verkosto/services/networks"
)

const region = "pohjois-pohjanmaa"

var ctx = context.Background()

// The networks service runs beside events: its procedures must stay closed
// to anonymous callers although events declares public ones.
func modules() []app.Module { return []app.Module{networks.Module(), events.Module()} }

// setup is one test's Verkosto with the events service and an admin client.
type setup struct {
	*testenv.Env
	t     *testing.T
	admin eventsv1connect.EventsServiceClient
}

func newSetup(t *testing.T, opts ...testenv.Options) *setup {
	t.Parallel()
	e := testenv.New(t, modules(), opts...)
	s := &setup{Env: e, t: t}
	s.admin = s.client(e.Admin())
	return s
}

// client is a Connect client with the given credential ("" for none).
func (s *setup) client(token string, opts ...connect.ClientOption) eventsv1connect.EventsServiceClient {
	if token != "" {
		opts = append(opts, connect.WithInterceptors(auth.BearerToken(token)))
	}
	return eventsv1connect.NewEventsServiceClient(s.HTTPClient(), s.URL, opts...)
}

// as is a client for a principal with the given bindings.
func (s *setup) as(bindings ...auth.Binding) eventsv1connect.EventsServiceClient {
	return s.client(s.Token(bindings...))
}

// anonymous is a client without a credential.
func (s *setup) anonymous() eventsv1connect.EventsServiceClient { return s.client("") }

// person is a client of a person (with an association contact binding of
// some association, as every credential has a binding) and the person's id.
func (s *setup) person() (eventsv1connect.EventsServiceClient, string) {
	id := ids.New()
	return s.client(s.TokenFor(id, auth.Binding{Role: auth.RoleAssociation, Association: ids.New()})), id
}

func coordinator(programme string) auth.Binding {
	return auth.Binding{Role: auth.RoleCoordinator, Region: region, Programme: programme}
}

func programmeOrganiser(programme string) *eventsv1.Organiser {
	return &eventsv1.Organiser{Kind: eventsv1.Organiser_KIND_PROGRAMME, Region: region, Programme: programme}
}

func networkOrganiser(networkID, programme string) *eventsv1.Organiser {
	return &eventsv1.Organiser{Kind: eventsv1.Organiser_KIND_NETWORK, Region: region, Programme: programme, NetworkId: networkID}
}

func associationOrganiser(associationID string) *eventsv1.Organiser {
	return &eventsv1.Organiser{Kind: eventsv1.Organiser_KIND_ASSOCIATION, Region: region, AssociationId: associationID}
}

// draft is a valid event a week ahead, 12.00–15.30 Helsinki time, changed by opts.
func (s *setup) draft(o *eventsv1.Organiser, opts ...func(*eventsv1.Event)) *eventsv1.Event {
	day := s.Clock.Now().Add(7 * 24 * time.Hour)
	helsinki, _ := time.LoadLocation("Europe/Helsinki")
	y, m, d := day.In(helsinki).Date()
	start := time.Date(y, m, d, 12, 0, 0, 0, helsinki)
	e := &eventsv1.Event{
		Organiser:   o,
		Title:       &commonv1.LocalizedText{Fi: "Monialaisesti kohti yhteistä parasta", Sv: "Tvärsektoriellt mot det gemensamma bästa"},
		Description: &commonv1.LocalizedText{Fi: "Seminaari lasten, nuorten ja perheiden palveluista."},
		Kind:        eventsv1.Event_KIND_SEMINAR,
		StartTime:   timestamppb.New(start),
		EndTime:     timestamppb.New(start.Add(3*time.Hour + 30*time.Minute)),
		Place:       &eventsv1.Place{Address: "Oulun kaupungintalo, Torikatu 10", Municipality: "Oulu"},
		Audiences:   []eventsv1.Event_Audience{eventsv1.Event_AUDIENCE_PROFESSIONALS, eventsv1.Event_AUDIENCE_ASSOCIATIONS},
	}
	for _, opt := range opts {
		opt(e)
	}
	return e
}

// create creates a draft as the given client.
func (s *setup) create(c eventsv1connect.EventsServiceClient, e *eventsv1.Event) *eventsv1.Event {
	s.t.Helper()
	res, err := c.CreateEvent(ctx, &eventsv1.CreateEventRequest{Event: e})
	if err != nil {
		s.t.Fatalf("create event: %v", err)
	}
	return res.GetEvent()
}

// published creates and publishes an event as admin.
func (s *setup) published(o *eventsv1.Organiser, opts ...func(*eventsv1.Event)) *eventsv1.Event {
	s.t.Helper()
	e := s.create(s.admin, s.draft(o, opts...))
	res, err := s.admin.PublishEvent(ctx, &eventsv1.PublishEventRequest{Id: e.GetId()})
	if err != nil {
		s.t.Fatalf("publish: %v", err)
	}
	return res.GetEvent()
}

func capacity(n int32) func(*eventsv1.Event) { return func(e *eventsv1.Event) { e.Capacity = n } }

func public(e *eventsv1.Event) {
	e.Audiences = append(e.Audiences, eventsv1.Event_AUDIENCE_PUBLIC)
}

// registrations lists all of an event's registrations in registration order.
func (s *setup) registrations(eventID string) []*eventsv1.Registration {
	s.t.Helper()
	var out []*eventsv1.Registration
	token := ""
	for {
		res, err := s.admin.ListRegistrations(ctx, &eventsv1.ListRegistrationsRequest{EventId: eventID, PageToken: token, PageSize: 7})
		if err != nil {
			s.t.Fatalf("list registrations: %v", err)
		}
		out = append(out, res.GetRegistrations()...)
		if token = res.GetNextPageToken(); token == "" {
			return out
		}
	}
}

func (s *setup) getEvent(id string) *eventsv1.Event {
	s.t.Helper()
	res, err := s.admin.GetEvent(ctx, &eventsv1.GetEventRequest{Id: id})
	if err != nil {
		s.t.Fatalf("get event: %v", err)
	}
	return res.GetEvent()
}

// wantCode fails unless err is a Connect error with code whose message
// contains every fragment.
func wantCode(t *testing.T, err error, code connect.Code, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %v, got success", code)
	}
	var ce *connect.Error
	if !errors.As(err, &ce) {
		t.Fatalf("want a Connect error %v, got %v", code, err)
	}
	if ce.Code() != code {
		t.Fatalf("want code %v, got %v: %v", code, ce.Code(), ce.Message())
	}
	for _, f := range fragments {
		if !strings.Contains(ce.Message(), f) {
			t.Fatalf("error %q does not mention %q", ce.Message(), f)
		}
	}
}

func fieldMask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

// get fetches url and returns status, content type and body.
func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header.Get("Content-Type"), string(b)
}

// waitChanges waits until cond holds for the changes received, up to a
// minute: more patient than Changes.Wait for tests that publish many
// changes on a loaded machine.
func waitChanges(t *testing.T, c *testenv.Changes, cond func([]testenv.Received) bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond(c.All()) {
		if time.Now().After(deadline) {
			var subjects []string
			for _, r := range c.All() {
				subjects = append(subjects, r.Subject)
			}
			t.Fatalf("timed out waiting for changes; received %d: %v", len(subjects), subjects)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func subjectOf(change string) string { return "verkosto.changes." + region + ".lape.event." + change }

type testenvReceived = testenv.Received

type ctxT = context.Context

type eventsClient = eventsv1connect.EventsServiceClient
