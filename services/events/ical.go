package events

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	eventsv1 "github.com/verkosto/verkosto/gen/verkosto/events/v1"
	"github.com/verkosto/verkosto/internal/ids"
)

// Calendar feeds (RFC 5545) over plain HTTP GET, without a credential:
// calendar applications cannot send one. They list published events (and
// those cancelled or completed after publication) and carry no personal
// data: no registrations, no contact details.
//
//	GET /calendar/events/{id}.ics                    one event
//	GET /calendar/organisers/network/{id}.ics        a network's events
//	GET /calendar/organisers/association/{id}.ics    an association's events
//	GET /calendar/regions/{region}.ics               a region's events
//	GET /calendar/regions/{region}/{programme}.ics   a region × programme's events (any organiser)
type calendar struct {
	pool *pgxpool.Pool
	now  func() time.Time
	// eventURL is the link back to an event, "{id}" replaced; empty: the
	// event's own feed on the serving host.
	eventURL string
}

// feedHistory is how long ended events stay in the feeds.
const feedHistory = 180 * 24 * time.Hour

// feedLimit bounds the events of one feed.
const feedLimit = 2000

// listed is the SQL condition of events the feeds show.
const listed = `(e.state IN ('PUBLISHED', 'COMPLETED') OR (e.state = 'CANCELLED' AND e.publish_time IS NOT NULL))`

func (c *calendar) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /calendar/events/{file}", func(w http.ResponseWriter, r *http.Request) {
		id, ok := icsName(r.PathValue("file"))
		if !ok || !ids.Valid(id) {
			http.NotFound(w, r)
			return
		}
		c.serve(w, r, "Verkosto", true, `e.id = $1`, id)
	})
	mux.HandleFunc("GET /calendar/organisers/{kind}/{file}", func(w http.ResponseWriter, r *http.Request) {
		id, ok := icsName(r.PathValue("file"))
		if !ok || !ids.Valid(id) {
			http.NotFound(w, r)
			return
		}
		switch r.PathValue("kind") {
		case "network":
			c.serve(w, r, "Verkosto: verkoston tapahtumat", false, `e.network_id = $1`, id)
		case "association":
			c.serve(w, r, "Verkosto: järjestön tapahtumat", false, `e.association_id = $1`, id)
		default:
			http.Error(w, "unknown organiser kind: use network or association", http.StatusNotFound)
		}
	})
	mux.HandleFunc("GET /calendar/regions/{file}", func(w http.ResponseWriter, r *http.Request) {
		region, ok := icsName(r.PathValue("file"))
		if !ok || !slugPattern.MatchString(region) {
			http.NotFound(w, r)
			return
		}
		c.serve(w, r, "Verkosto: "+region, false, `e.region = $1`, region)
	})
	mux.HandleFunc("GET /calendar/regions/{region}/{file}", func(w http.ResponseWriter, r *http.Request) {
		region := r.PathValue("region")
		programme, ok := icsName(r.PathValue("file"))
		if !ok || !slugPattern.MatchString(region) || !slugPattern.MatchString(programme) {
			http.NotFound(w, r)
			return
		}
		c.serve(w, r, "Verkosto: "+region+" / "+programme, false, `e.region = $1 AND e.programme = $2`, region, programme)
	})
	return mux
}

// icsName strips ".ics" from a file name.
func icsName(file string) (string, bool) {
	name, ok := strings.CutSuffix(file, ".ics")
	return name, ok && name != ""
}

// serve writes the feed of the listed events matching where, whose
// parameters are args ($1, ...). A feed of many events leaves out those that
// ended long ago; a single event's feed (single) answers 404 when it is not
// listed.
func (c *calendar) serve(w http.ResponseWriter, r *http.Request, name string, single bool, where string, args ...any) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	cond := listed + ` AND ` + where
	if !single {
		args = append(args, c.now().Add(-feedHistory))
		cond += ` AND e.end_time > $` + strconv.Itoa(len(args))
	}
	rows, err := c.pool.Query(ctx, `SELECT `+eventColumns+` FROM events.events e WHERE `+cond+
		` ORDER BY e.start_time, e.id LIMIT `+strconv.Itoa(feedLimit), args...)
	if err != nil {
		http.Error(w, "cannot read events now; retry", http.StatusServiceUnavailable)
		return
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*eventsv1.Event, error) { return scanEvent(r) })
	if err != nil {
		http.Error(w, "cannot read events now; retry", http.StatusServiceUnavailable)
		return
	}
	if single {
		if len(list) == 0 {
			http.NotFound(w, r)
			return
		}
		name = "Verkosto: " + list[0].GetTitle().GetFi()
	}
	body := ICalendar(name, list, func(id string) string { return c.link(r, id) })
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(body) //nolint:errcheck // the client went away
}

// link is the URL back to an event.
func (c *calendar) link(r *http.Request, id string) string {
	if c.eventURL != "" {
		return strings.ReplaceAll(c.eventURL, "{id}", id)
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/calendar/events/" + id + ".ics"
}

// UID is an event's stable iCalendar UID.
func UID(eventID string) string { return eventID + "@verkosto" }

// ICalendar renders events as an RFC 5545 calendar named name; link gives
// each event's URL.
func ICalendar(name string, events []*eventsv1.Event, link func(id string) string) []byte {
	var b icsWriter
	b.line("BEGIN", "VCALENDAR")
	b.line("VERSION", "2.0")
	b.line("PRODID", "-//Verkosto//Tapahtumat//FI")
	b.line("CALSCALE", "GREGORIAN")
	b.line("METHOD", "PUBLISH")
	b.line("X-WR-CALNAME", escapeText(name))
	b.line("X-WR-TIMEZONE", "Europe/Helsinki")
	for _, e := range events {
		b.line("BEGIN", "VEVENT")
		b.line("UID", UID(e.GetId()))
		b.line("DTSTAMP", icsTime(e.GetUpdateTime().AsTime()))
		b.line("CREATED", icsTime(e.GetCreateTime().AsTime()))
		b.line("LAST-MODIFIED", icsTime(e.GetUpdateTime().AsTime()))
		b.line("SEQUENCE", strconv.Itoa(int(e.GetSequence())))
		b.line("DTSTART", icsTime(e.GetStartTime().AsTime()))
		b.line("DTEND", icsTime(e.GetEndTime().AsTime()))
		b.line("SUMMARY", escapeText(e.GetTitle().GetFi()))
		b.line("DESCRIPTION", escapeText(icsDescription(e)))
		if loc := icsLocation(e); loc != "" {
			b.line("LOCATION", escapeText(loc))
		}
		b.line("URL", link(e.GetId()))
		b.line("CATEGORIES", escapeText(enumName(e.GetKind(), "KIND_")))
		status := "CONFIRMED"
		if e.GetState() == eventsv1.Event_STATE_CANCELLED {
			status = "CANCELLED"
		}
		b.line("STATUS", status)
		b.line("CLASS", "PUBLIC")
		b.line("TRANSP", "OPAQUE")
		b.line("END", "VEVENT")
	}
	b.line("END", "VCALENDAR")
	return b.Bytes()
}

func icsTime(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

func icsLocation(e *eventsv1.Event) string {
	var parts []string
	for _, s := range []string{e.GetPlace().GetAddress(), e.GetPlace().GetMunicipality()} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	place := strings.Join(parts, ", ")
	switch {
	case place != "" && e.GetOnlineUrl() != "":
		return place + " / " + e.GetOnlineUrl()
	case place != "":
		return place
	}
	return e.GetOnlineUrl()
}

func icsDescription(e *eventsv1.Event) string {
	var b strings.Builder
	if e.GetState() == eventsv1.Event_STATE_CANCELLED {
		b.WriteString("PERUTTU")
		if e.GetCancelReason() != "" {
			b.WriteString(": " + e.GetCancelReason())
		}
		b.WriteString("\n\n")
	}
	if d := e.GetDescription().GetFi(); d != "" {
		b.WriteString(d + "\n\n")
	}
	b.WriteString(e.GetDisplayTime())
	if e.GetOnlineUrl() != "" {
		b.WriteString("\nEtäyhteys: " + e.GetOnlineUrl())
	}
	if e.GetPriceCents() > 0 {
		fmt.Fprintf(&b, "\nHinta: %d,%02d €", e.GetPriceCents()/100, e.GetPriceCents()%100)
	} else {
		b.WriteString("\nMaksuton")
	}
	return b.String()
}

// escapeText escapes a TEXT value (RFC 5545 3.3.11).
func escapeText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.NewReplacer(`\`, `\\`, `;`, `\;`, `,`, `\,`, "\n", `\n`).Replace(s)
}

// icsWriter writes content lines folded at 75 octets (RFC 5545 3.1), never
// inside a UTF-8 sequence, ended with CRLF.
type icsWriter struct{ bytes.Buffer }

func (w *icsWriter) line(name, value string) {
	// Control characters other than HTAB are not allowed in values.
	value = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return -1
		}
		return r
	}, value)
	s := name + ":" + value
	limit := 75
	for len(s) > limit {
		cut := limit
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		w.WriteString(s[:cut])
		w.WriteString("\r\n ")
		s = s[cut:]
		limit = 74 // the leading space counts
	}
	w.WriteString(s)
	w.WriteString("\r\n")
}
