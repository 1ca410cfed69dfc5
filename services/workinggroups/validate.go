package workinggroups

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/ids"
)

var slugPattern = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// validSlug reports a lower-case slug such as "pohjois-pohjanmaa". Regions
// and programmes belong to the networks service; this service checks their
// form only and does not read the networks schema.
func validSlug(s string) bool { return len(s) <= 64 && slugPattern.MatchString(s) }

func checkSlug(v *apierr.Violations, field, s, example string) {
	switch {
	case s == "":
		v.Add(field, "is required")
	case !validSlug(s):
		v.Addf(field, "must be a slug of lower-case letters, digits and single hyphens, e.g. %q", example)
	}
}

func checkOptionalSlug(v *apierr.Violations, field, s string) {
	if s != "" && !validSlug(s) {
		v.Add(field, "must be a slug of lower-case letters, digits and single hyphens")
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
	if !utf8.ValidString(s) {
		v.Add(field, "must be valid UTF-8")
		return
	}
	if utf8.RuneCountInString(s) > maxLen {
		v.Addf(field, "must be at most %d characters", maxLen)
	}
}

func checkLocalized(v *apierr.Violations, field string, t *commonv1.LocalizedText, maxLen int) {
	if strings.TrimSpace(t.GetFi()) == "" {
		v.Add(field+".fi", "is required")
	}
	checkText(v, field+".fi", t.GetFi(), maxLen)
	checkText(v, field+".sv", t.GetSv(), maxLen)
	checkText(v, field+".en", t.GetEn(), maxLen)
}

// dateLayout is the form of start_date and end_date.
const dateLayout = "2006-01-02"

// parseDate reads an optional "YYYY-MM-DD"; "" is no date.
func parseDate(v *apierr.Violations, field, s string) *time.Time {
	if s == "" {
		return nil
	}
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		v.Addf(field, "must be a date like %q", "2026-01-31")
		return nil
	}
	return &d
}

func formatDate(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(dateLayout)
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
