package events_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	ics "github.com/arran4/golang-ical"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	eventsv1 "github.com/verkosto/verkosto/gen/verkosto/events/v1"
	"github.com/verkosto/verkosto/internal/ids"
)

// feed fetches and parses an iCalendar feed, checking the content lines are
// CRLF-ended and folded at 75 octets.
func feed(t *testing.T, url string) *ics.Calendar {
	t.Helper()
	status, contentType, body := get(t, url)
	if status != 200 || !strings.HasPrefix(contentType, "text/calendar") {
		t.Fatalf("GET %s: %d %s\n%s", url, status, contentType, body)
	}
	if !strings.HasSuffix(body, "\r\n") {
		t.Fatal("feed does not end with CRLF")
	}
	for _, line := range strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n") {
		if len(line) > 75 || strings.Contains(line, "\n") {
			t.Fatalf("content line not folded: %q", line)
		}
	}
	cal, err := ics.ParseCalendar(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse %s: %v\n%s", url, err, body)
	}
	return cal
}

func prop(t *testing.T, e *ics.VEvent, p ics.ComponentProperty) string {
	t.Helper()
	v := e.GetProperty(p)
	if v == nil {
		t.Fatalf("event %s has no %s", e.Id(), p)
	}
	return v.Value
}

func sequence(t *testing.T, e *ics.VEvent) int {
	t.Helper()
	n, err := strconv.Atoi(prop(t, e, ics.ComponentPropertySequence))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func byUID(cal *ics.Calendar) map[string]*ics.VEvent {
	out := map[string]*ics.VEvent{}
	for _, e := range cal.Events() {
		out[e.Id()] = e
	}
	return out
}

func TestCalendarFeeds(t *testing.T) {
	s := newSetup(t)
	networkID := ids.New()
	description := "Tervetuloa! Ohjelma:\n12.00 Avaus; Oulun kaupunki, hyvinvointialue\n13.00 Työpajat \\ paneeli.\n" +
		strings.Repeat("Lapset, nuoret ja perheet – yhteistyö ylittää rajat. ", 6)
	seminar := s.published(networkOrganiser(networkID, "lape"), func(e *eventsv1.Event) {
		e.Description = &commonv1.LocalizedText{Fi: description}
		e.OnlineUrl = "https://teams.example.org/l/meetup-join/19%3ameeting_abc"
	})
	draft := s.create(s.admin, s.draft(networkOrganiser(networkID, "lape")))
	other := s.published(programmeOrganiser("ikaihmiset"))
	dropped := s.create(s.admin, s.draft(programmeOrganiser("lape")))
	if _, err := s.admin.CancelEvent(ctx, &eventsv1.CancelEventRequest{Id: dropped.GetId()}); err != nil {
		t.Fatal(err)
	}

	// One event's feed.
	cal := feed(t, s.URL+"/calendar/events/"+seminar.GetId()+".ics")
	if len(cal.Events()) != 1 {
		t.Fatalf("%d events in a single event's feed", len(cal.Events()))
	}
	ev := cal.Events()[0]
	if ev.Id() != seminar.GetId()+"@verkosto" {
		t.Fatalf("UID %q", ev.Id())
	}
	start, err := ev.GetStartAt()
	if err != nil || !start.Equal(seminar.GetStartTime().AsTime()) {
		t.Fatalf("DTSTART %v %v, want %v", start, err, seminar.GetStartTime().AsTime())
	}
	end, err := ev.GetEndAt()
	if err != nil || !end.Equal(seminar.GetEndTime().AsTime()) {
		t.Fatalf("DTEND %v %v", end, err)
	}
	if got := prop(t, ev, ics.ComponentPropertySummary); got != seminar.GetTitle().GetFi() {
		t.Fatalf("SUMMARY %q", got)
	}
	if got := prop(t, ev, ics.ComponentPropertyDescription); !strings.Contains(got, description) || !strings.Contains(got, seminar.GetDisplayTime()) {
		t.Fatalf("DESCRIPTION does not round-trip:\n%q", got)
	}
	if got := prop(t, ev, ics.ComponentPropertyLocation); got != "Oulun kaupungintalo, Torikatu 10, Oulu / "+seminar.GetOnlineUrl() {
		t.Fatalf("LOCATION %q", got)
	}
	if got := prop(t, ev, ics.ComponentPropertyUrl); got != s.URL+"/calendar/events/"+seminar.GetId()+".ics" {
		t.Fatalf("URL %q", got)
	}
	if got := prop(t, ev, ics.ComponentPropertyStatus); got != "CONFIRMED" {
		t.Fatalf("STATUS %q", got)
	}
	seq0 := sequence(t, ev)

	// Drafts, unknown events and events cancelled as drafts are not served.
	for _, id := range []string{draft.GetId(), dropped.GetId(), ids.New()} {
		if status, _, _ := get(t, s.URL+"/calendar/events/"+id+".ics"); status != 404 {
			t.Fatalf("feed of %s: %d", id, status)
		}
	}
	for _, path := range []string{"/calendar/events/x.ics", "/calendar/events/" + seminar.GetId(), "/calendar/organisers/person/" + networkID + ".ics",
		"/calendar/regions/Pohjois.ics"} {
		if status, _, _ := get(t, s.URL+path); status != 404 {
			t.Fatalf("%s: %d", path, status)
		}
	}

	// Region, region × programme and organiser feeds.
	regionFeed := byUID(feed(t, s.URL+"/calendar/regions/"+region+".ics"))
	if len(regionFeed) != 2 || regionFeed[seminar.GetId()+"@verkosto"] == nil || regionFeed[other.GetId()+"@verkosto"] == nil {
		t.Fatalf("region feed: %v", regionFeed)
	}
	lape := byUID(feed(t, s.URL+"/calendar/regions/"+region+"/lape.ics"))
	if len(lape) != 1 || lape[seminar.GetId()+"@verkosto"] == nil {
		t.Fatalf("lape feed: %v", lape)
	}
	network := byUID(feed(t, s.URL+"/calendar/organisers/network/"+networkID+".ics"))
	if len(network) != 1 || network[seminar.GetId()+"@verkosto"] == nil {
		t.Fatalf("network feed: %v", network)
	}
	if n := len(feed(t, s.URL+"/calendar/regions/lappi/lape.ics").Events()); n != 0 {
		t.Fatalf("lappi feed has %d events", n)
	}

	// A reschedule keeps the UID and raises the SEQUENCE.
	later := proto.CloneOf(seminar)
	later.StartTime = timestamppb.New(seminar.GetStartTime().AsTime().Add(2 * time.Hour))
	later.EndTime = timestamppb.New(seminar.GetEndTime().AsTime().Add(2 * time.Hour))
	if _, err := s.admin.UpdateEvent(ctx, &eventsv1.UpdateEventRequest{Event: later, UpdateMask: fieldMask("start_time", "end_time")}); err != nil {
		t.Fatal(err)
	}
	ev = byUID(feed(t, s.URL+"/calendar/regions/"+region+"/lape.ics"))[seminar.GetId()+"@verkosto"]
	if ev == nil || sequence(t, ev) <= seq0 {
		t.Fatalf("after reschedule: %v", ev)
	}
	seq1 := sequence(t, ev)
	if start, _ := ev.GetStartAt(); !start.Equal(later.GetStartTime().AsTime()) {
		t.Fatalf("DTSTART after reschedule %v", start)
	}

	// A cancellation stays in the feeds as STATUS:CANCELLED, with a higher SEQUENCE.
	if _, err := s.admin.CancelEvent(ctx, &eventsv1.CancelEventRequest{Id: seminar.GetId(), Reason: "Sairastapaus"}); err != nil {
		t.Fatal(err)
	}
	ev = byUID(feed(t, s.URL+"/calendar/organisers/network/"+networkID+".ics"))[seminar.GetId()+"@verkosto"]
	if ev == nil || prop(t, ev, ics.ComponentPropertyStatus) != "CANCELLED" || sequence(t, ev) <= seq1 {
		t.Fatalf("after cancel: %v", ev)
	}
	if !strings.HasPrefix(prop(t, ev, ics.ComponentPropertyDescription), "PERUTTU: Sairastapaus") {
		t.Fatalf("cancelled description: %q", prop(t, ev, ics.ComponentPropertyDescription))
	}
	single := feed(t, s.URL+"/calendar/events/"+seminar.GetId()+".ics").Events()[0]
	if single.Id() != seminar.GetId()+"@verkosto" || prop(t, single, ics.ComponentPropertyStatus) != "CANCELLED" {
		t.Fatalf("single after cancel: %v", single)
	}
}

// The feeds carry no personal data: registrants' names and emails never appear.
func TestCalendarFeedsCarryNoPersonalData(t *testing.T) {
	s := newSetup(t)
	e := s.published(programmeOrganiser("lape"), public)
	if _, err := s.anonymous().RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId(),
		DisplayName: "Salli Salainen", Email: "salli.salainen@example.org", DietaryNeeds: "laktoositon"}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/calendar/events/" + e.GetId() + ".ics", "/calendar/regions/" + region + ".ics", "/calendar/regions/" + region + "/lape.ics"} {
		_, _, body := get(t, s.URL+path)
		for _, secret := range []string{"Salli", "salli.salainen", "laktoositon"} {
			if strings.Contains(body, secret) {
				t.Fatalf("%s contains %q", path, secret)
			}
		}
	}
}
