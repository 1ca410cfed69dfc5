// Package events is the events service: seminars, trainings, workshops and
// network meetings held by a programme of a region, a network or an
// association; registrations to them with capacity and a waitlist; and their
// iCalendar feeds.
package events

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/verkosto/verkosto/gen/verkosto/events/v1/eventsv1connect"
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/server"
	"github.com/verkosto/verkosto/internal/writer"
)

// Schema is the PostgreSQL schema the service owns.
const Schema = "events"

// SettingEventURL is the setting ("events.event_url") of the link back to an
// event in calendar feeds: a URL in which "{id}" is replaced by the event
// id. Unset, the link is the event's own feed on the serving host.
const SettingEventURL = "events.event_url"

//go:embed migrations/*.sql
var migrations embed.FS

// Module registers the events service.
func Module() app.Module {
	ms, err := db.LoadMigrations(migrations, "migrations")
	if err != nil {
		panic(err) // embedded files: a broken name is a build mistake
	}
	return app.Module{
		Name:       "events",
		Schema:     Schema,
		Migrations: ms,
		New: func(ctx context.Context, deps app.Deps) (*app.Service, error) {
			s := &Service{pool: deps.Pool, now: deps.Now, w: writer.New(deps.Pool, "events", Schema, deps.Now, deps.WakeRelay)}
			path, h := eventsv1connect.NewEventsServiceHandler(s, deps.HandlerOptions...)
			retention := defaultRetention
			if v := deps.Settings[SettingRegistrationRetention]; v != "" {
				d, err := time.ParseDuration(v)
				if err != nil || d <= 0 {
					return nil, fmt.Errorf("%s: %q is not a positive duration", SettingRegistrationRetention, v)
				}
				retention = d
			}
			interval := time.Hour
			if v := deps.Settings[SettingRetentionInterval]; v != "" {
				d, err := time.ParseDuration(v)
				if err != nil || d <= 0 {
					return nil, fmt.Errorf("%s: %q is not a positive duration", SettingRetentionInterval, v)
				}
				interval = d
			}
			feeds := &calendar{pool: deps.Pool, now: deps.Now, eventURL: deps.Settings[SettingEventURL]}
			return &app.Service{
				Names: []string{eventsv1connect.EventsServiceName},
				Mounts: []server.Mount{
					{Path: path, Handler: h},
					{Path: "GET /calendar/", Handler: feeds.handler()},
				},
				Policies: Policies,
				Workers: []app.Worker{
					{Name: "erasures", Run: s.erasureConsumer(deps.JS, deps.Logger.With("worker", "events:erasures")).Run},
					{Name: "registration retention", Run: s.retentionJob(retention, interval, deps.Logger.With("worker", "events:retention"))},
				},
			}, nil
		},
	}
}
