package events

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	eventsv1 "github.com/verkosto/verkosto/gen/verkosto/events/v1"
)

func TestDisplayTime(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, helsinki)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct{ start, end, want string }{
		{"2027-03-19 12:00", "2027-03-19 15:30", "perjantai 19.3.2027 klo 12.00–15.30"},
		{"2027-06-07 09:05", "2027-06-07 10:00", "maanantai 7.6.2027 klo 9.05–10.00"}, // summer time
		{"2027-10-12 17:00", "2027-10-13 12:00", "tiistai 12.10.2027 klo 17.00 – keskiviikko 13.10.2027 klo 12.00"},
	} {
		// The times arrive in UTC, as from a Timestamp.
		if got := DisplayTime(at(c.start).UTC(), at(c.end).UTC()); got != c.want {
			t.Errorf("DisplayTime(%s, %s) = %q, want %q", c.start, c.end, got, c.want)
		}
	}
}

// Folding never splits a UTF-8 sequence and keeps lines at 75 octets.
func TestICalendarFolding(t *testing.T) {
	e := &eventsv1.Event{
		Id:          "0190aaaa-0000-7000-8000-000000000000",
		Title:       &commonv1.LocalizedText{Fi: strings.Repeat("ä", 100) + ";,\\"},
		Description: &commonv1.LocalizedText{Fi: strings.Repeat("–ö", 60) + "\r\nrivi"},
		StartTime:   timestamppb.New(time.Date(2027, 3, 19, 10, 0, 0, 0, time.UTC)),
		EndTime:     timestamppb.New(time.Date(2027, 3, 19, 13, 30, 0, 0, time.UTC)),
		CreateTime:  timestamppb.Now(), UpdateTime: timestamppb.Now(),
	}
	out := string(ICalendar("Testi", []*eventsv1.Event{e}, func(id string) string { return "https://example.org/" + id }))
	for _, line := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
		if len(line) > 75 || !utf8.ValidString(line) {
			t.Fatalf("bad line %q", line)
		}
	}
	unfolded := strings.ReplaceAll(out, "\r\n ", "")
	if !strings.Contains(unfolded, "SUMMARY:"+strings.Repeat("ä", 100)+`\;\,\\`+"\r\n") {
		t.Fatalf("summary not escaped:\n%s", unfolded)
	}
	if !strings.Contains(unfolded, `\nrivi`) || strings.Contains(unfolded, "\r\nrivi") {
		t.Fatalf("newline not escaped:\n%s", unfolded)
	}
	if !strings.Contains(unfolded, "DTSTART:20270319T100000Z\r\n") || !strings.Contains(unfolded, "UID:0190aaaa-0000-7000-8000-000000000000@verkosto\r\n") {
		t.Fatalf("times or UID:\n%s", unfolded)
	}
}
