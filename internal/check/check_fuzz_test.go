package check

import (
	"errors"
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"connectrpc.com/connect"
	"google.golang.org/genproto/googleapis/rpc/errdetails"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	"github.com/verkosto/verkosto/internal/apierr"
)

// flagged lists the fields of v's violations.
func flagged(t *testing.T, v *apierr.Violations) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	err := v.Err()
	if err == nil {
		return out
	}
	var ce *connect.Error
	if !errors.As(err, &ce) || ce.Code() != connect.CodeInvalidArgument {
		t.Fatalf("want invalid_argument, got %v", err)
	}
	for _, d := range ce.Details() {
		m, _ := d.Value()
		if br, ok := m.(*errdetails.BadRequest); ok {
			for _, fv := range br.GetFieldViolations() {
				out[fv.GetField()] = true
			}
		}
	}
	return out
}

// FuzzFields runs one input through every field check: none panics, and
// what each accepts has the form it promises.
func FuzzFields(f *testing.F) {
	for _, s := range []string{
		"", "info@example.org", "Maija <maija@example.org>", "a@b", "@", "https://esimerkki.fi/yhdistys", "http://", "javascript:alert(1)",
		"//example.org", "+358 40 123 4567", "pohjois-pohjanmaa", "-a", "a--b", "2026-01-31", "2026-02-30", "2026-1-1", "\xff\xfe", "ääkköset",
		strings.Repeat("x", 301),
	} {
		f.Add(s, uint8(10))
	}
	f.Fuzz(func(t *testing.T, s string, max uint8) {
		var v apierr.Violations
		Email(&v, "email", s)
		URL(&v, "url", s)
		Text(&v, "text", s, int(max))
		Localized(&v, "name", &commonv1.LocalizedText{Fi: s, Sv: s}, true, int(max))
		Phone(&v, "phone", s)
		OptionalSlug(&v, "slug", s)
		OptionalID(&v, "id", s)
		date := Date(&v, "date", s)
		got := flagged(t, &v)

		if s != "" && !got["email"] {
			a, err := mail.ParseAddress(s)
			if err != nil || a.Address != s || len(s) > 254 {
				t.Fatalf("email %q accepted", s)
			}
		}
		if s != "" && !got["url"] {
			u, err := url.Parse(s)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				t.Fatalf("url %q accepted", s)
			}
		}
		textBad := !utf8.ValidString(s) || utf8.RuneCountInString(s) > int(max)
		if got["text"] != textBad || got["name.sv"] != textBad {
			t.Fatalf("text %q (max %d): flagged %v, want %v", s, max, got["text"], textBad)
		}
		if got["name.fi"] != (textBad || strings.TrimSpace(s) == "") {
			t.Fatalf("required text %q: flagged %v", s, got["name.fi"])
		}
		if s != "" && !got["slug"] && !ValidSlug(s) {
			t.Fatalf("slug %q accepted", s)
		}
		if date != nil && FormatDate(date) != s {
			t.Fatalf("date %q accepted as %s", s, FormatDate(date))
		}
		if (date == nil) != (s == "" || got["date"]) {
			t.Fatalf("date %q: %v, flagged %v", s, date, got["date"])
		}
	})
}
