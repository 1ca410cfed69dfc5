// Package nominations is the nominations service: representation requests
// (a working group of Verkosto or a body outside it asks a network for
// representatives), the nominations the network's leaders make from its
// member associations, the nominee's consent, the requester's confirmation,
// and the terms on the seats (ended at term end, on resignation or on
// replacement). Leaders, memberships and persons come from the networks
// service's changes through a durable JetStream consumer (projection.go);
// a background job (terms.go) sends term-ending notices, ends expired terms
// and closes requests whose deadline passed.
package nominations

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/verkosto/verkosto/gen/verkosto/nominations/v1/nominationsv1connect"
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/server"
	"github.com/verkosto/verkosto/internal/writer"
)

// Schema is the PostgreSQL schema the service owns.
const Schema = "nominations"

// Settings of the service (app.Deps.Settings), as Go durations ("720h").
const (
	// SettingTermNotice is how long before a term ends the
	// nomination.term_ending change is sent, and from when a seat shows as
	// needing a new nomination. Default 720h (30 days).
	SettingTermNotice = "nominations.term_notice"
	// SettingTermJobInterval is how often the term job runs. Default 24h.
	SettingTermJobInterval = "nominations.term_job_interval"
)

const (
	defaultTermNotice      = 720 * time.Hour
	defaultTermJobInterval = 24 * time.Hour
)

//go:embed migrations/*.sql
var migrations embed.FS

// Module registers the nominations service.
func Module() app.Module {
	ms, err := db.LoadMigrations(migrations, "migrations")
	if err != nil {
		panic(err) // embedded files: a broken name is a build mistake
	}
	return app.Module{
		Name:       "nominations",
		Schema:     Schema,
		Migrations: ms,
		New: func(ctx context.Context, deps app.Deps) (*app.Service, error) {
			s, err := newService(deps)
			if err != nil {
				return nil, err
			}
			p := NewProjection(deps.Pool, deps.JS, deps.Logger.With("worker", "nominations:networks"))
			job := &TermJob{s: s}
			path, h := nominationsv1connect.NewNominationsServiceHandler(s, deps.HandlerOptions...)
			return &app.Service{
				Names:    []string{nominationsv1connect.NominationsServiceName},
				Mounts:   []server.Mount{{Path: path, Handler: h}},
				Policies: Policies,
				Workers: []app.Worker{
					{Name: "networks", Run: p.Run},
					{Name: "terms", Run: job.Run},
				},
			}, nil
		},
	}
}

// newService builds the service on deps, reading its settings.
func newService(deps app.Deps) (*Service, error) {
	notice, err := duration(deps.Settings, SettingTermNotice, defaultTermNotice)
	if err != nil {
		return nil, err
	}
	interval, err := duration(deps.Settings, SettingTermJobInterval, defaultTermJobInterval)
	if err != nil {
		return nil, err
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	logger := deps.Logger
	if logger == nil {
		logger = discardLogger
	}
	return &Service{
		pool: deps.Pool, now: now, w: writer.New(deps.Pool, "nominations", Schema, now, deps.WakeRelay),
		notice: notice, interval: interval, logger: logger,
	}, nil
}

// duration reads a positive duration setting.
func duration(settings map[string]string, name string, def time.Duration) (time.Duration, error) {
	v, ok := settings[name]
	if !ok || v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("setting %s=%q: want a positive duration such as %q", name, v, def.String())
	}
	return d, nil
}
