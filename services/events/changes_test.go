package events_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	eventsv1 "github.com/verkosto/verkosto/gen/verkosto/events/v1"
	"github.com/verkosto/verkosto/internal/ids"
)

// Registration changes carry the registration's id, event, state, position,
// person and display name only: never an email, organisation or needs.
func TestRegistrationChangesCarryNoContactDetails(t *testing.T) {
	s := newSetup(t)
	changes := s.WatchChanges()
	const email, organisation, diet, access = "maija.meikalainen@example.org", "Salainen Osakeyhtiö", "gluteeniton ruokavalio", "pyörätuoli"
	e := s.published(programmeOrganiser("lape"), public, capacity(1))
	anon := s.anonymous()
	first, err := s.admin.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId(), PersonId: ids.New(), DisplayName: "Eka Ensimmäinen",
		DietaryNeeds: diet + " 1", Organisation: organisation + " 1"})
	if err != nil {
		t.Fatal(err)
	}
	public, err := anon.RegisterForEvent(ctx, &eventsv1.RegisterForEventRequest{EventId: e.GetId(), DisplayName: "Maija Meikäläinen", Email: email,
		Organisation: organisation, DietaryNeeds: diet, AccessibilityNeeds: access})
	if err != nil {
		t.Fatal(err)
	}
	if r := public.GetRegistration(); r.GetState() != eventsv1.Registration_STATE_WAITLISTED || r.GetWaitlistPosition() != 1 || r.GetEmail() != email {
		t.Fatalf("public registration: %v", r)
	}
	// The first cancels; the public registrant is promoted; then cancels with the token.
	if _, err := s.admin.CancelRegistration(ctx, &eventsv1.CancelRegistrationRequest{Id: first.GetRegistration().GetId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := anon.CancelRegistration(ctx, &eventsv1.CancelRegistrationRequest{Id: public.GetRegistration().GetId(),
		CancellationToken: public.GetCancellationToken()}); err != nil {
		t.Fatal(err)
	}
	// An association's event without a programme routes to "_".
	s.published(associationOrganiser(ids.New()))

	waitChanges(t, changes, func(list []testenvReceived) bool {
		return countSubject(list, "verkosto.changes."+region+"._.event.published") == 1
	})
	waitChanges(t, changes, func(list []testenvReceived) bool { return countSubject(list, subjectOf("registration_cancelled")) == 2 })
	var mine []string
	for _, r := range changes.All() {
		b, err := proto.Marshal(r.Change)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{email, organisation, diet, access} {
			if bytes.Contains(b, []byte(secret)) {
				t.Fatalf("change %s carries %q", r.Subject, secret)
			}
		}
		if !strings.Contains(r.Subject, ".event.registration_") {
			continue
		}
		var p eventsv1.RegistrationChange
		if err := r.Change.GetPayload().UnmarshalTo(&p); err != nil {
			t.Fatalf("payload of %s is not a RegistrationChange: %v", r.Subject, err)
		}
		if p.GetEventId() != e.GetId() || p.GetRegistrationId() != r.Change.GetAggregateId() {
			t.Fatalf("payload %v", &p)
		}
		if p.GetRegistrationId() == public.GetRegistration().GetId() {
			if p.GetDisplayName() != "Maija Meikäläinen" || r.Change.GetActor().GetId() == "" {
				t.Fatalf("payload %v actor %v", &p, r.Change.GetActor())
			}
			mine = append(mine, strings.TrimPrefix(r.Subject, subjectOf("")))
		}
	}
	want := []string{"registration_waitlisted", "registration_promoted", "registration_cancelled"}
	if strings.Join(mine, " ") != strings.Join(want, " ") {
		t.Fatalf("changes of the public registration %v, want %v", mine, want)
	}
}

func TestExportRegistrations(t *testing.T) {
	s := newSetup(t)
	e := s.published(programmeOrganiser("lape"), public, capacity(2))
	coord := s.as(coordinator("lape"))
	for _, r := range []*eventsv1.RegisterForEventRequest{
		{PersonId: ids.New(), DisplayName: "Aino Ahonen", Organisation: "MLL Pohjois-Pohjanmaa", DietaryNeeds: "kasvis"},
		{DisplayName: "Bertta Björk, \"Bea\"", Email: "bertta@example.org", Organisation: "Oulun ensi- ja turvakoti", AccessibilityNeeds: "induktiosilmukka"},
		{DisplayName: "=HYPERLINK(\"http://evil\")", Email: "c@example.org"},
	} {
		r.EventId = e.GetId()
		if _, err := coord.RegisterForEvent(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	res, err := coord.ExportRegistrations(ctx, &eventsv1.ExportRegistrationsRequest{EventId: e.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(res.GetCsv(), []byte("\ufeff")) || !strings.HasSuffix(res.GetFilename(), ".csv") {
		t.Fatalf("export %q %q", res.GetFilename(), res.GetCsv())
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.GetCsv(), []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"name", "email", "organisation", "dietary_needs", "accessibility_needs", "state", "waitlist_position"},
		{"Aino Ahonen", "", "MLL Pohjois-Pohjanmaa", "kasvis", "", "CONFIRMED", ""},
		{"Bertta Björk, \"Bea\"", "bertta@example.org", "Oulun ensi- ja turvakoti", "", "induktiosilmukka", "CONFIRMED", ""},
		{"'=HYPERLINK(\"http://evil\")", "c@example.org", "", "", "", "WAITLISTED", "1"},
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows: %v", len(rows), rows)
	}
	for i, w := range want {
		if strings.Join(rows[i][:7], "|") != strings.Join(w, "|") || len(rows[i]) != 8 {
			t.Fatalf("row %d: %q, want %q", i, rows[i], w)
		}
	}
}
