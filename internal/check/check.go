// Package check validates request fields into apierr.Violations, so every
// service words the same mistakes the same way and names the field.
package check

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/ids"
)

var (
	slugPattern  = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	phonePattern = regexp.MustCompile(`^\+?[0-9 ()-]{5,30}$`)
)

// ID requires a UUID.
func ID(v *apierr.Violations, field, id string) {
	switch {
	case id == "":
		v.Add(field, "is required")
	case !ids.Valid(id):
		v.Add(field, "must be a UUID")
	}
}

// OptionalID accepts "" or a UUID.
func OptionalID(v *apierr.Violations, field, id string) {
	if id != "" && !ids.Valid(id) {
		v.Add(field, "must be a UUID")
	}
}

// Text bounds a free text.
func Text(v *apierr.Violations, field, s string, maxLen int) {
	if !utf8.ValidString(s) {
		v.Add(field, "must be valid UTF-8")
		return
	}
	if utf8.RuneCountInString(s) > maxLen {
		v.Addf(field, "must be at most %d characters", maxLen)
	}
}

// Localized bounds each language of a text; required needs the Finnish one.
func Localized(v *apierr.Violations, field string, t *commonv1.LocalizedText, required bool, maxLen int) {
	if required && strings.TrimSpace(t.GetFi()) == "" {
		v.Add(field+".fi", "is required")
	}
	Text(v, field+".fi", t.GetFi(), maxLen)
	Text(v, field+".sv", t.GetSv(), maxLen)
	Text(v, field+".en", t.GetEn(), maxLen)
}

// Email accepts "" or one plain address.
func Email(v *apierr.Violations, field, s string) {
	if s == "" {
		return
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || len(s) > 254 {
		v.Add(field, "must be an email address like name@example.org")
	}
}

// URL accepts "" or an http(s) URL.
func URL(v *apierr.Violations, field, s string) {
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(s) > 500 {
		v.Add(field, "must be an http or https URL")
	}
}

// Phone accepts "" or a phone number.
func Phone(v *apierr.Violations, field, s string) {
	if s != "" && !phonePattern.MatchString(s) {
		v.Add(field, "must be a phone number like +358 40 123 4567")
	}
}

// ValidSlug reports a lower-case slug such as "pohjois-pohjanmaa".
func ValidSlug(s string) bool { return len(s) <= 64 && slugPattern.MatchString(s) }

// Slug requires a slug; example goes into the message.
func Slug(v *apierr.Violations, field, s, example string) {
	switch {
	case s == "":
		v.Add(field, "is required")
	case !ValidSlug(s):
		v.Addf(field, "must be a slug of lower-case letters, digits and single hyphens, e.g. %q", example)
	}
}

// OptionalSlug accepts "" or a slug.
func OptionalSlug(v *apierr.Violations, field, s string) {
	if s != "" && !ValidSlug(s) {
		v.Add(field, "must be a slug of lower-case letters, digits and single hyphens")
	}
}

// Owned is a server-owned field and whether the request set it.
type Owned struct {
	name string
	set  bool
}

// Set names a server-owned field and whether the request set it.
func Set(name string, set bool) Owned { return Owned{name: name, set: set} }

// ServerOwned rejects fields only the server sets: silently ignoring them
// would hide a client's mistake (mass assignment).
func ServerOwned(v *apierr.Violations, prefix string, fields ...Owned) {
	for _, f := range fields {
		if f.set {
			v.Add(fmt.Sprintf("%s.%s", prefix, f.name), "is set by the server and must be empty")
		}
	}
}

// DateLayout is the form of calendar dates in requests.
const DateLayout = "2006-01-02"

// Date reads an optional "YYYY-MM-DD"; "" is no date.
func Date(v *apierr.Violations, field, s string) *time.Time {
	if s == "" {
		return nil
	}
	d, err := time.Parse(DateLayout, s)
	if err != nil {
		v.Addf(field, "must be a date like %q", "2026-01-31")
		return nil
	}
	return &d
}

// FormatDate renders an optional date.
func FormatDate(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(DateLayout)
}
