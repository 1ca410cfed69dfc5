package events_test

import (
	"testing"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	eventsv1 "github.com/verkosto/verkosto/gen/verkosto/events/v1"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/ids"
)

func TestListEvents(t *testing.T) {
	s := newSetup(t)
	networkID, assocID := ids.New(), ids.New()
	days := func(n int) func(*eventsv1.Event) {
		return func(e *eventsv1.Event) {
			e.StartTime = timestamppb.New(e.GetStartTime().AsTime().Add(time.Duration(n) * 24 * time.Hour))
			e.EndTime = timestamppb.New(e.GetEndTime().AsTime().Add(time.Duration(n) * 24 * time.Hour))
		}
	}
	titled := func(fi string) func(*eventsv1.Event) {
		return func(e *eventsv1.Event) { e.Title = &commonv1.LocalizedText{Fi: fi} }
	}
	training := func(e *eventsv1.Event) { e.Kind = eventsv1.Event_KIND_TRAINING; e.PriceCents = 12000 }
	seminar := s.published(programmeOrganiser("lape"), days(0), titled("Monialaisesti kohti yhteistä parasta"))
	course := s.published(networkOrganiser(networkID, "mielenterveys"), days(3), titled("Mielenterveyden ensiapu 1"), training, public)
	meeting := s.published(associationOrganiser(assocID), days(10), titled("Verkostotapaaminen"), func(e *eventsv1.Event) {
		e.Kind = eventsv1.Event_KIND_NETWORK_MEETING
		e.Description = &commonv1.LocalizedText{Fi: "Kuukausittainen tapaaminen 100% etänä"}
	})
	draft := s.create(s.admin, s.draft(programmeOrganiser("lape"), days(1), titled("Luonnos")))
	soon := s.published(programmeOrganiser("lape"), days(-6), titled("Huomenna")) // starts in about a day

	names := func(req *eventsv1.ListEventsRequest, c eventsClient) []string {
		t.Helper()
		if c == nil {
			c = s.admin
		}
		var out []string
		for {
			res, err := c.ListEvents(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range res.GetEvents() {
				out = append(out, e.GetTitle().GetFi())
			}
			if req.PageToken = res.GetNextPageToken(); req.PageToken == "" {
				return out
			}
		}
	}
	check := func(name string, got []string, want ...string) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: got %q, want %q", name, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s: got %q, want %q", name, got, want)
			}
		}
	}
	all := []string{"Huomenna", seminar.GetTitle().GetFi(), course.GetTitle().GetFi(), meeting.GetTitle().GetFi()}
	check("upcoming, by start, paged", names(&eventsv1.ListEventsRequest{PageSize: 1}, nil), all...)
	check("region", names(&eventsv1.ListEventsRequest{Region: region, PageSize: 3}, nil), all...)
	check("other region", names(&eventsv1.ListEventsRequest{Region: "lappi"}, nil))
	check("programme", names(&eventsv1.ListEventsRequest{Programme: "lape"}, nil), "Huomenna", "Monialaisesti kohti yhteistä parasta")
	check("network", names(&eventsv1.ListEventsRequest{NetworkId: networkID}, nil), "Mielenterveyden ensiapu 1")
	check("association", names(&eventsv1.ListEventsRequest{AssociationId: assocID}, nil), "Verkostotapaaminen")
	check("organiser kind", names(&eventsv1.ListEventsRequest{OrganiserKind: eventsv1.Organiser_KIND_NETWORK}, nil), "Mielenterveyden ensiapu 1")
	check("kind", names(&eventsv1.ListEventsRequest{Kind: eventsv1.Event_KIND_NETWORK_MEETING}, nil), "Verkostotapaaminen")
	check("audience", names(&eventsv1.ListEventsRequest{Audience: eventsv1.Event_AUDIENCE_PUBLIC}, nil), "Mielenterveyden ensiapu 1")
	check("query, case and ä", names(&eventsv1.ListEventsRequest{Query: "YHTEISTÄ"}, nil), "Monialaisesti kohti yhteistä parasta")
	check("query in description, % literal", names(&eventsv1.ListEventsRequest{Query: "100%"}, nil), "Verkostotapaaminen")
	check("query %% matches nothing", names(&eventsv1.ListEventsRequest{Query: "%%"}, nil))
	from := seminar.GetStartTime().AsTime()
	check("date range", names(&eventsv1.ListEventsRequest{StartAfter: timestamppb.New(from), StartBefore: timestamppb.New(from.Add(5 * 24 * time.Hour))}, nil),
		"Monialaisesti kohti yhteistä parasta", "Mielenterveyden ensiapu 1")
	// Drafts: the organiser side only.
	check("drafts", names(&eventsv1.ListEventsRequest{State: eventsv1.Event_STATE_DRAFT}, nil), draft.GetTitle().GetFi())
	check("drafts of another coordinator", names(&eventsv1.ListEventsRequest{State: eventsv1.Event_STATE_DRAFT}, s.as(coordinator("ikaihmiset"))))
	check("drafts of the coordinator", names(&eventsv1.ListEventsRequest{State: eventsv1.Event_STATE_DRAFT}, s.as(coordinator("lape"))), "Luonnos")
	check("leader sees all published", names(&eventsv1.ListEventsRequest{}, s.as(auth.Binding{Role: auth.RoleLeader, Network: ids.New()})), all...)
	// Partners: their scope.
	check("partner", names(&eventsv1.ListEventsRequest{}, s.as(auth.Binding{Role: auth.RolePartner, Region: region, Programme: "lape"})),
		"Huomenna", "Monialaisesti kohti yhteistä parasta")
	// Upcoming means not yet ended: after two days the first is gone.
	s.Clock.Advance(2 * 24 * time.Hour)
	check("later", names(&eventsv1.ListEventsRequest{}, nil), all[1:]...)
	_ = soon
}
