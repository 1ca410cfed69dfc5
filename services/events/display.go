package events

import (
	"fmt"
	"time"

	// Helsinki time must work on hosts without system time zone data.
	_ "time/tzdata"
)

// helsinki is the time zone events are shown in.
var helsinki = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		panic(err) // embedded by time/tzdata
	}
	return loc
}()

var weekdays = [...]string{"sunnuntai", "maanantai", "tiistai", "keskiviikko", "torstai", "perjantai", "lauantai"}

// finnishDay is e.g. "perjantai 19.3.2027".
func finnishDay(t time.Time) string {
	return fmt.Sprintf("%s %d.%d.%d", weekdays[t.Weekday()], t.Day(), int(t.Month()), t.Year())
}

// finnishClock is e.g. "9.05" or "15.30".
func finnishClock(t time.Time) string { return fmt.Sprintf("%d.%02d", t.Hour(), t.Minute()) }

// DisplayTime renders an event's time in Finnish, Helsinki time:
// "perjantai 19.3.2027 klo 12.00–15.30", or for an event over several days
// "perjantai 19.3.2027 klo 12.00 – lauantai 20.3.2027 klo 15.30".
func DisplayTime(start, end time.Time) string {
	s, e := start.In(helsinki), end.In(helsinki)
	if s.Year() == e.Year() && s.YearDay() == e.YearDay() {
		return fmt.Sprintf("%s klo %s–%s", finnishDay(s), finnishClock(s), finnishClock(e))
	}
	return fmt.Sprintf("%s klo %s – %s klo %s", finnishDay(s), finnishClock(s), finnishDay(e), finnishClock(e))
}
