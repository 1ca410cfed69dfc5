package events

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	eventsv1 "github.com/verkosto/verkosto/gen/verkosto/events/v1"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/ids"
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

func checkSlug(v *apierr.Violations, field, s string, required bool) {
	switch {
	case s == "":
		if required {
			v.Add(field, "is required")
		}
	case len(s) > 64 || !slugPattern.MatchString(s):
		v.Add(field, "must be a slug like \"pohjois-pohjanmaa\" (lower case letters, digits, hyphens)")
	}
}

func checkID(v *apierr.Violations, field, id string) {
	switch {
	case id == "":
		v.Add(field, "is required")
	case !ids.Valid(id):
		v.Add(field, "must be a UUID")
	}
}

func checkOptionalID(v *apierr.Violations, field, id string) {
	if id != "" && !ids.Valid(id) {
		v.Add(field, "must be a UUID")
	}
}

func checkText(v *apierr.Violations, field, s string, maxLen int) {
	if utf8.RuneCountInString(s) > maxLen {
		v.Addf(field, "must be at most %d characters", maxLen)
	}
	if !utf8.ValidString(s) {
		v.Add(field, "must be valid UTF-8")
	}
}

func checkLocalized(v *apierr.Violations, field string, t *commonv1.LocalizedText, required bool, maxLen int) {
	if required && strings.TrimSpace(t.GetFi()) == "" {
		v.Add(field+".fi", "is required")
	}
	checkText(v, field+".fi", t.GetFi(), maxLen)
	checkText(v, field+".sv", t.GetSv(), maxLen)
	checkText(v, field+".en", t.GetEn(), maxLen)
}

func checkEmail(v *apierr.Violations, field, s string) {
	if s == "" {
		return
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		v.Add(field, "must be an email address like name@example.org")
	}
}

func checkURL(v *apierr.Violations, field, s string) {
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(s) > 500 {
		v.Add(field, "must be an http or https URL")
	}
}

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
	checkSlug(v, f+".region", o.GetRegion(), true)
	mustBeEmpty := func(field, value, why string) {
		if value != "" {
			v.Add(f+"."+field, "must be empty for "+why)
		}
	}
	switch o.GetKind() {
	case eventsv1.Organiser_KIND_PROGRAMME:
		checkSlug(v, f+".programme", o.GetProgramme(), true)
		mustBeEmpty("network_id", o.GetNetworkId(), "a programme organiser")
		mustBeEmpty("association_id", o.GetAssociationId(), "a programme organiser")
	case eventsv1.Organiser_KIND_NETWORK:
		checkID(v, f+".network_id", o.GetNetworkId())
		checkSlug(v, f+".programme", o.GetProgramme(), true)
		mustBeEmpty("association_id", o.GetAssociationId(), "a network organiser")
	case eventsv1.Organiser_KIND_ASSOCIATION:
		checkID(v, f+".association_id", o.GetAssociationId())
		checkSlug(v, f+".programme", o.GetProgramme(), false)
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
		checkLocalized(v, "event.title", e.GetTitle(), true, maxTitle)
	}
	if paths["description"] {
		checkLocalized(v, "event.description", e.GetDescription(), false, maxDescription)
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
		checkText(v, "event.place.address", e.GetPlace().GetAddress(), 300)
		checkText(v, "event.place.municipality", e.GetPlace().GetMunicipality(), 100)
	}
	if paths["online_url"] {
		checkURL(v, "event.online_url", e.GetOnlineUrl())
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

// serverOwned rejects fields only the server sets; silently ignoring them
// would hide a client's mistake (mass assignment).
func serverOwned(v *apierr.Violations, prefix string, fields ...owned) {
	for _, f := range fields {
		if f.set {
			v.Add(fmt.Sprintf("%s.%s", prefix, f.name), "is set by the server and must be empty")
		}
	}
}

type owned struct {
	name string
	set  bool
}
