package events

import (
	"fmt"
	"regexp"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	eventsv1 "github.com/verkosto/verkosto/gen/verkosto/events/v1"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/check"
)

// Limits of an event's fields.
const (
	maxTitle        = 300
	maxDescription  = 10000
	maxCapacity     = 100000
	maxPriceCents   = 100000000 // one million euros
	maxDuration     = 31 * 24 * time.Hour
	maxNameLength   = 200
	maxNeedsLength  = 1000
	maxOrganisation = 300
)

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

func checkTime(v *apierr.Violations, field string, t *timestamppb.Timestamp, required bool) {
	if t == nil {
		if required {
			v.Add(field, "is required")
		}
		return
	}
	if err := t.CheckValid(); err != nil {
		v.Add(field, "is not a valid timestamp")
	}
}

// checkOrganiser: which fields an organiser needs depends on its kind.
func checkOrganiser(v *apierr.Violations, o *eventsv1.Organiser) {
	const f = "event.organiser"
	if o == nil {
		v.Add(f, "is required: a programme of a region, a network or an association")
		return
	}
	check.Slug(v, f+".region", o.GetRegion(), "pohjois-pohjanmaa")
	mustBeEmpty := func(field, value, why string) {
		if value != "" {
			v.Add(f+"."+field, "must be empty for "+why)
		}
	}
	switch o.GetKind() {
	case eventsv1.Organiser_KIND_PROGRAMME:
		check.Slug(v, f+".programme", o.GetProgramme(), "pohjois-pohjanmaa")
		mustBeEmpty("network_id", o.GetNetworkId(), "a programme organiser")
		mustBeEmpty("association_id", o.GetAssociationId(), "a programme organiser")
	case eventsv1.Organiser_KIND_NETWORK:
		check.ID(v, f+".network_id", o.GetNetworkId())
		check.Slug(v, f+".programme", o.GetProgramme(), "pohjois-pohjanmaa")
		mustBeEmpty("association_id", o.GetAssociationId(), "a network organiser")
	case eventsv1.Organiser_KIND_ASSOCIATION:
		check.ID(v, f+".association_id", o.GetAssociationId())
		check.OptionalSlug(v, f+".programme", o.GetProgramme())
		mustBeEmpty("network_id", o.GetNetworkId(), "an association organiser")
	default:
		v.Add(f+".kind", "is required: KIND_PROGRAMME, KIND_NETWORK or KIND_ASSOCIATION")
	}
}

// eventPaths are the update mask paths of an event.
var eventPaths = []string{"title", "description", "kind", "start_time", "end_time", "place", "online_url",
	"audiences", "capacity", "registration_open_time", "registration_deadline_time", "price_cents"}

// checkEventFields checks each field named in paths on its own.
func checkEventFields(v *apierr.Violations, e *eventsv1.Event, paths map[string]bool) {
	if paths["title"] {
		check.Localized(v, "event.title", e.GetTitle(), true, maxTitle)
	}
	if paths["description"] {
		check.Localized(v, "event.description", e.GetDescription(), false, maxDescription)
	}
	if paths["kind"] {
		if _, ok := eventsv1.Event_Kind_name[int32(e.GetKind())]; !ok || e.GetKind() == eventsv1.Event_KIND_UNSPECIFIED {
			v.Add("event.kind", "is required: KIND_SEMINAR, KIND_TRAINING, KIND_WORKSHOP, KIND_NETWORK_MEETING or KIND_OTHER")
		}
	}
	if paths["start_time"] {
		checkTime(v, "event.start_time", e.GetStartTime(), true)
	}
	if paths["end_time"] {
		checkTime(v, "event.end_time", e.GetEndTime(), true)
	}
	if paths["place"] {
		check.Text(v, "event.place.address", e.GetPlace().GetAddress(), 300)
		check.Text(v, "event.place.municipality", e.GetPlace().GetMunicipality(), 100)
	}
	if paths["online_url"] {
		check.URL(v, "event.online_url", e.GetOnlineUrl())
	}
	if paths["audiences"] {
		if len(e.GetAudiences()) == 0 {
			v.Add("event.audiences", "is required: one or more of AUDIENCE_PROFESSIONALS, AUDIENCE_ASSOCIATIONS, AUDIENCE_PUBLIC")
		}
		seen := map[eventsv1.Event_Audience]bool{}
		for i, a := range e.GetAudiences() {
			if _, ok := eventsv1.Event_Audience_name[int32(a)]; !ok || a == eventsv1.Event_AUDIENCE_UNSPECIFIED {
				v.Addf(fmt.Sprintf("event.audiences[%d]", i), "is not an audience")
			} else if seen[a] {
				v.Addf(fmt.Sprintf("event.audiences[%d]", i), "repeats %s", a)
			}
			seen[a] = true
		}
	}
	if paths["capacity"] && (e.GetCapacity() < 0 || e.GetCapacity() > maxCapacity) {
		v.Addf("event.capacity", "must be between 0 (unlimited) and %d", maxCapacity)
	}
	if paths["registration_open_time"] {
		checkTime(v, "event.registration_open_time", e.GetRegistrationOpenTime(), false)
	}
	if paths["registration_deadline_time"] {
		checkTime(v, "event.registration_deadline_time", e.GetRegistrationDeadlineTime(), false)
	}
	if paths["price_cents"] && (e.GetPriceCents() < 0 || e.GetPriceCents() > maxPriceCents) {
		v.Addf("event.price_cents", "must be between 0 (free) and %d", maxPriceCents)
	}
}

// checkEventWhole checks the rules between fields, on the event as it would
// be stored.
func checkEventWhole(v *apierr.Violations, e *eventsv1.Event) {
	start, end := e.GetStartTime().AsTime(), e.GetEndTime().AsTime()
	if !end.After(start) {
		v.Add("event.end_time", "must be after start_time")
	} else if end.Sub(start) > maxDuration {
		v.Add("event.end_time", "must be at most 31 days after start_time")
	}
	if e.GetPlace().GetAddress() == "" && e.GetPlace().GetMunicipality() == "" && e.GetOnlineUrl() == "" {
		v.Add("event.place", "give a place (address, municipality) or an online_url, or both")
	}
	open, deadline := e.GetRegistrationOpenTime(), e.GetRegistrationDeadlineTime()
	if deadline != nil && deadline.AsTime().After(end) {
		v.Add("event.registration_deadline_time", "must not be after end_time")
	}
	if open != nil && !open.AsTime().Before(end) {
		v.Add("event.registration_open_time", "must be before end_time")
	}
	if open != nil && deadline != nil && !open.AsTime().Before(deadline.AsTime()) {
		v.Add("event.registration_open_time", "must be before registration_deadline_time")
	}
}
