// Package workinggroups is the working groups service: the working groups
// (työryhmät) and sub-working groups (alatyöryhmät) programme coordinators
// run in a region × programme, their members, and the seats reserved for the
// representatives association networks nominate. Nominated members arrive
// from the nominations service's changes through a durable JetStream
// consumer (consumer.go).
package workinggroups

import (
	"context"
	"embed"

	"github.com/verkosto/verkosto/gen/verkosto/workinggroups/v1/workinggroupsv1connect"
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/server"
	"github.com/verkosto/verkosto/internal/writer"
)

// Schema is the PostgreSQL schema the service owns.
const Schema = "workinggroups"

//go:embed migrations/*.sql
var migrations embed.FS

// Module registers the working groups service.
func Module() app.Module {
	ms, err := db.LoadMigrations(migrations, "migrations")
	if err != nil {
		panic(err) // embedded files: a broken name is a build mistake
	}
	return app.Module{
		Name:       "workinggroups",
		Schema:     Schema,
		Migrations: ms,
		New: func(ctx context.Context, deps app.Deps) (*app.Service, error) {
			s := &Service{pool: deps.Pool, now: deps.Now, w: writer.New(deps.Pool, "workinggroups", Schema, deps.Now, deps.WakeRelay)}
			c := s.nominationConsumer(deps.JS, deps.Logger.With("worker", "workinggroups:nominations"))
			path, h := workinggroupsv1connect.NewWorkingGroupsServiceHandler(s, deps.HandlerOptions...)
			return &app.Service{
				Names:    []string{workinggroupsv1connect.WorkingGroupsServiceName},
				Mounts:   []server.Mount{{Path: path, Handler: h}},
				Policies: Policies,
				Workers: []app.Worker{
					{Name: "nominations", Run: c.Run},
					{Name: "erasures", Run: s.erasureConsumer(deps.JS, deps.Logger.With("worker", "workinggroups:erasures")).Run},
				},
			}, nil
		},
	}
}
