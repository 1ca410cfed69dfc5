package events_test

import (
	"testing"
	"time"

	eventsv1 "github.com/verkosto/verkosto/gen/verkosto/events/v1"
	"github.com/verkosto/verkosto/internal/testenv"
	"github.com/verkosto/verkosto/services/events"
)

// Registrations of past events are pseudonymised once the retention has
// passed after the event: no name, email, organisation or needs remain.
func TestPastRegistrationsArePseudonymised(t *testing.T) {
	s := newSetup(t, testenv.Options{Settings: map[string]string{
		events.SettingRegistrationRetention: "720h",
		events.SettingRetentionInterval:     "50ms",
	}})
	e := s.published(programmeOrganiser("lape"), public)
	res, err := s.anonymous().RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId(),
		DisplayName: "Pia Public", Email: "pia@example.org", Organisation: "Oulun seutu", AccessibilityNeeds: "pyörätuoli"})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // the job runs, and keeps a future event's data
	if r := s.registrations(e.GetId()); r[0].GetEmail() != "pia@example.org" {
		t.Fatalf("pseudonymised before the retention: %v", r[0])
	}
	s.Clock.Advance(40 * 24 * time.Hour) // the event is past, and so is the retention
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := s.registrations(e.GetId())[0]
		if r.GetId() != res.GetRegistration().GetId() {
			t.Fatal("another registration")
		}
		if r.GetEmail() == "" && r.GetOrganisation() == "" && r.GetAccessibilityNeeds() == "" && r.GetDisplayName() != "Pia Public" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not pseudonymised: %v", r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
