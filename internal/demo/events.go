package demo

import (
	"context"
	"fmt"
	"net/http"
	"time"
	// Helsinki time must work on hosts without system time zone data.
	_ "time/tzdata"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/timestamppb"

	commonv1 "github.com/verkosto/verkosto/gen/verkosto/common/v1"
	eventsv1 "github.com/verkosto/verkosto/gen/verkosto/events/v1"
	"github.com/verkosto/verkosto/gen/verkosto/events/v1/eventsv1connect"
	"github.com/verkosto/verkosto/internal/auth"
)

// helsinki is the time zone of the demo events.
var helsinki = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		panic(err)
	}
	return loc
}()

// at is day's date at hour:minute, Helsinki time.
func at(day time.Time, hour, minute int) time.Time {
	y, m, d := day.In(helsinki).Date()
	return time.Date(y, m, d, hour, minute, 0, 0, helsinki)
}

// nextMarch19 is the next 19 March after now (from 2026-11-23: Friday 19.3.2027).
func nextMarch19(now time.Time) time.Time {
	now = now.In(helsinki)
	d := time.Date(now.Year(), time.March, 19, 0, 0, 0, 0, helsinki)
	if !d.After(now) {
		d = d.AddDate(1, 0, 0)
	}
	return d
}

// nextWeekday is the first day strictly after from that falls on wd.
func nextWeekday(from time.Time, wd time.Weekday) time.Time {
	d := from.In(helsinki).AddDate(0, 0, 1)
	for d.Weekday() != wd {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// firstWeekdayOfMonth is the first wd of the month of t.
func firstWeekdayOfMonth(t time.Time, wd time.Weekday) time.Time {
	d := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, helsinki)
	for d.Weekday() != wd {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// workday moves a day off a fixed-date public holiday (and the days
// between Christmas and New Year) to the same weekday a week later.
func workday(d time.Time) time.Time {
	for {
		_, m, day := d.Date()
		holiday := (m == time.January && (day == 1 || day == 6)) || (m == time.May && day == 1) ||
			(m == time.December && (day == 6 || day >= 24))
		if !holiday {
			return d
		}
		d = d.AddDate(0, 0, 7)
	}
}

// demoEvent is one event of the demo data, with a key for its request id.
type demoEvent struct {
	key   string
	event *eventsv1.Event
}

// demoEvents are the upcoming events of the demo region at now; networks
// maps programme slugs to network ids.
func demoEvents(now time.Time, networks map[string]string) []demoEvent {
	programme := func(p string) *eventsv1.Organiser {
		return &eventsv1.Organiser{Kind: eventsv1.Organiser_KIND_PROGRAMME, Region: Region, Programme: p}
	}
	network := func(p string) *eventsv1.Organiser {
		if id := networks[p]; id != "" {
			return &eventsv1.Organiser{Kind: eventsv1.Organiser_KIND_NETWORK, Region: Region, Programme: p, NetworkId: id}
		}
		return programme(p)
	}
	var out []demoEvent

	seminarDay := nextMarch19(now)
	out = append(out, demoEvent{"lape-seminaari", &eventsv1.Event{
		Organiser: programme("lape"),
		Title: &commonv1.LocalizedText{
			Fi: "Monialaisesti kohti yhteistä parasta",
			Sv: "Tvärsektoriellt mot det gemensamma bästa",
			En: "Together across sectors for the common good",
		},
		Description: &commonv1.LocalizedText{
			Fi: "Pohjois-Pohjanmaan LAPE-järjestöverkoston ja hyvinvointialueen yhteinen seminaari lasten, nuorten ja perheiden " +
				"palvelujen monialaisesta yhteistyöstä. Ohjelmassa ajankohtaiskatsaus perhekeskustyöhön, järjestöjen ja " +
				"hyvinvointialueen yhteistyön hyviä käytäntöjä sekä työpajat. Seminaariin voi osallistua paikan päällä tai etänä.",
			En: "A joint seminar of the North Ostrobothnia LAPE network of organisations and the wellbeing services county on " +
				"multi-professional work with children, young people and families. On site or online.",
		},
		Kind:                     eventsv1.Event_KIND_SEMINAR,
		StartTime:                timestamppb.New(at(seminarDay, 12, 0)),
		EndTime:                  timestamppb.New(at(seminarDay, 15, 30)),
		Place:                    &eventsv1.Place{Address: "Oulun kaupungintalo, Torikatu 10", Municipality: "Oulu"},
		OnlineUrl:                "https://teams.example.org/lape-seminaari",
		Audiences:                []eventsv1.Event_Audience{eventsv1.Event_AUDIENCE_PROFESSIONALS, eventsv1.Event_AUDIENCE_ASSOCIATIONS, eventsv1.Event_AUDIENCE_PUBLIC},
		Capacity:                 150,
		RegistrationDeadlineTime: timestamppb.New(at(seminarDay.AddDate(0, 0, -7), 16, 0)),
	}})

	trainingDay := workday(nextWeekday(now.AddDate(0, 0, 49), time.Tuesday))
	out = append(out, demoEvent{"puheeksiotto-koulutus", &eventsv1.Event{
		Organiser: network("mielenterveys"),
		Title: &commonv1.LocalizedText{
			Fi: "Puheeksioton ja kohtaamisen koulutus järjestötoimijoille",
			En: "Training in raising concerns and encountering people, for association workers",
		},
		Description: &commonv1.LocalizedText{
			Fi: "Käytännönläheinen koulutuspäivä siitä, miten mielenterveys- ja päihdeasiat otetaan puheeksi ja miten " +
				"ihminen ohjataan tarvittaessa hyvinvointialueen palveluihin. Hinta sisältää lounaan ja kahvit sekä koulutusmateriaalin.",
		},
		Kind:                     eventsv1.Event_KIND_TRAINING,
		StartTime:                timestamppb.New(at(trainingDay, 9, 0)),
		EndTime:                  timestamppb.New(at(trainingDay, 15, 30)),
		Place:                    &eventsv1.Place{Address: "Järjestötalo, Isokatu 47", Municipality: "Oulu"},
		Audiences:                []eventsv1.Event_Audience{eventsv1.Event_AUDIENCE_ASSOCIATIONS, eventsv1.Event_AUDIENCE_PROFESSIONALS},
		Capacity:                 24,
		PriceCents:               9500,
		RegistrationDeadlineTime: timestamppb.New(at(trainingDay.AddDate(0, 0, -10), 23, 59)),
	}})

	// The network of older people's organisations meets online on the first
	// Wednesday of every month; the next three meetings.
	month := time.Date(now.In(helsinki).Year(), now.In(helsinki).Month(), 1, 0, 0, 0, 0, helsinki)
	for n := 0; n < 3; {
		month = month.AddDate(0, 1, 0)
		day := workday(firstWeekdayOfMonth(month, time.Wednesday))
		if !at(day, 13, 0).After(now) {
			continue
		}
		n++
		out = append(out, demoEvent{fmt.Sprintf("ikaihmiset-tapaaminen-%d", n), &eventsv1.Event{
			Organiser: network("ikaihmiset"),
			Title:     &commonv1.LocalizedText{Fi: "Ikäihmisten järjestöverkoston verkostotapaaminen", Sv: "Nätverksträff för organisationer för äldre"},
			Description: &commonv1.LocalizedText{
				Fi: "Verkoston kuukausittainen tapaaminen: kuulumiset, hyvinvointialueen ajankohtaiset asiat ja yhteiset hankkeet. " +
					"Asialista lähetetään ilmoittautuneille viikkoa ennen.",
			},
			Kind:      eventsv1.Event_KIND_NETWORK_MEETING,
			StartTime: timestamppb.New(at(day, 13, 0)),
			EndTime:   timestamppb.New(at(day, 14, 30)),
			OnlineUrl: "https://teams.example.org/ikaihmiset-verkosto",
			Audiences: []eventsv1.Event_Audience{eventsv1.Event_AUDIENCE_ASSOCIATIONS},
		}})
	}
	return out
}

// loadEvents creates and publishes the demo region's upcoming events: the
// LAPE seminar "Monialaisesti kohti yhteistä parasta", a paid training and
// the ikäihmiset network's monthly meetings. networks maps programme slugs
// to network ids. Without the events service running it does nothing.
func loadEvents(ctx context.Context, baseURL, adminToken string, networks map[string]string) error {
	client := eventsv1connect.NewEventsServiceClient(http.DefaultClient, baseURL, connect.WithInterceptors(auth.BearerToken(adminToken)))
	for _, d := range demoEvents(time.Now(), networks) {
		key := d.key
		res, err := client.CreateEvent(ctx, &eventsv1.CreateEventRequest{Event: d.event, RequestId: "demo-" + key})
		if connect.CodeOf(err) == connect.CodeUnimplemented {
			return nil // the events service is not selected
		}
		if err != nil {
			return fmt.Errorf("create event %s: %w", key, err)
		}
		if res.GetEvent().GetState() != eventsv1.Event_STATE_DRAFT {
			continue // published by an earlier run
		}
		if _, err := client.PublishEvent(ctx, &eventsv1.PublishEventRequest{Id: res.GetEvent().GetId()}); err != nil {
			return fmt.Errorf("publish event %s: %w", key, err)
		}
	}
	return nil
}
