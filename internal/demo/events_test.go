package demo

import (
	"context"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"

	eventsv1 "github.com/verkosto/verkosto/gen/verkosto/events/v1"
	"github.com/verkosto/verkosto/gen/verkosto/events/v1/eventsv1connect"
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/testenv"
	"github.com/verkosto/verkosto/services/events"
	"github.com/verkosto/verkosto/services/networks"
)

func TestDemoEventDates(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, helsinki)
	list := demoEvents(now, map[string]string{"mielenterveys": ids.New(), "ikaihmiset": ids.New()})
	if len(list) != 5 {
		t.Fatalf("%d demo events", len(list))
	}
	seminar := list[0].event
	if got := events.DisplayTime(seminar.GetStartTime().AsTime(), seminar.GetEndTime().AsTime()); got != "perjantai 19.3.2027 klo 12.00–15.30" {
		t.Fatalf("seminar at %q", got)
	}
	if got := nextMarch19(time.Date(2027, 3, 19, 12, 0, 0, 0, helsinki)); got.Year() != 2028 {
		t.Fatalf("on 19.3.2027 the next is %v", got)
	}
	if list[1].event.GetPriceCents() == 0 || list[1].event.GetOrganiser().GetKind() != eventsv1.Organiser_KIND_NETWORK {
		t.Fatalf("training %v", list[1].event)
	}
	for _, d := range list {
		if !d.event.GetStartTime().AsTime().After(now) {
			t.Fatalf("%s is not upcoming", d.key)
		}
	}
	for _, d := range list[2:] {
		if d.event.GetKind() != eventsv1.Event_KIND_NETWORK_MEETING || d.event.GetStartTime().AsTime().In(helsinki).Weekday() != time.Wednesday {
			t.Fatalf("meeting %s: %v", d.key, d.event)
		}
	}
	// Loppiainen (6.1.2027) is a Wednesday: that meeting moves a week on.
	if got := list[3].event.GetStartTime().AsTime().In(helsinki); got.Month() != time.January || got.Day() != 13 {
		t.Fatalf("January meeting on %v", got)
	}
}

// The demo events go in through the RPCs and are published; a second load
// changes nothing.
func TestLoadEvents(t *testing.T) {
	env := testenv.New(t, []app.Module{networks.Module(), events.Module()})
	admin := env.Admin()
	nets := map[string]string{"lape": ids.New(), "mielenterveys": ids.New(), "ikaihmiset": ids.New()}
	for range 2 {
		if err := loadEvents(context.Background(), env.URL, admin, nets); err != nil {
			t.Fatal(err)
		}
	}
	client := eventsv1connect.NewEventsServiceClient(env.HTTPClient(), env.URL, connect.WithInterceptors(auth.BearerToken(admin)))
	res, err := client.ListEvents(context.Background(), &eventsv1.ListEventsRequest{Region: Region})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.GetEvents()) != 5 {
		t.Fatalf("%d demo events listed", len(res.GetEvents()))
	}
	found := false
	for _, e := range res.GetEvents() {
		if e.GetTitle().GetFi() == "Monialaisesti kohti yhteistä parasta" {
			found = strings.HasPrefix(e.GetDisplayTime(), weekdayFi(e.GetStartTime().AsTime())+" 19.3.") && strings.HasSuffix(e.GetDisplayTime(), "klo 12.00–15.30")
		}
	}
	if !found {
		t.Fatalf("no LAPE seminar on 19.3. 12.00–15.30: %v", res.GetEvents())
	}
}

func weekdayFi(t time.Time) string {
	return [...]string{"sunnuntai", "maanantai", "tiistai", "keskiviikko", "torstai", "perjantai", "lauantai"}[t.In(helsinki).Weekday()]
}
