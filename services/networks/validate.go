package networks

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/ids"
)

var (
	businessIDPattern = regexp.MustCompile(`^[0-9]{7}-[0-9]$`)
	slugPattern       = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
)

// ValidBusinessID checks a Finnish business ID (Y-tunnus): seven digits, a
// hyphen and a check digit computed with weights 7, 9, 10, 5, 8, 4, 2 modulo 11.
func ValidBusinessID(s string) bool {
	if !businessIDPattern.MatchString(s) {
		return false
	}
	weights := [7]int{7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(s[i]-'0') * w
	}
	check := 0
	switch r := sum % 11; r {
	case 0:
	case 1:
		return false
	default:
		check = 11 - r
	}
	return int(s[8]-'0') == check
}

// ValidSlug reports a lower-case slug such as "pohjois-pohjanmaa".
func ValidSlug(s string) bool { return len(s) <= 64 && slugPattern.MatchString(s) }

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
	if t == nil || strings.TrimSpace(t.GetFi()) == "" {
		if required {
			v.Add(field+".fi", "is required")
		}
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

var phonePattern = regexp.MustCompile(`^\+?[0-9 ()-]{5,30}$`)

func checkPhone(v *apierr.Violations, field, s string) {
	if s != "" && !phonePattern.MatchString(s) {
		v.Add(field, "must be a phone number like +358 40 123 4567")
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
