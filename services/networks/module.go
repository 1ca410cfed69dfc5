// Package networks is the networks service: regions and programmes, the
// associations and persons, and each region × programme network with its
// member associations and leaders (veturit).
package networks

import (
	"context"
	"embed"

	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/server"
	"github.com/verkosto/verkosto/internal/writer"
)

// Schema is the PostgreSQL schema the service owns.
const Schema = "networks"

//go:embed migrations/*.sql
var migrations embed.FS

// Module registers the networks service.
func Module() app.Module {
	ms, err := db.LoadMigrations(migrations, "migrations")
	if err != nil {
		panic(err) // embedded files: a broken name is a build mistake
	}
	return app.Module{
		Name:       "networks",
		Schema:     Schema,
		Migrations: ms,
		New: func(ctx context.Context, deps app.Deps) (*app.Service, error) {
			s := &Service{pool: deps.Pool, now: deps.Now, w: writer.New(deps.Pool, "networks", Schema, deps.Now, deps.WakeRelay)}
			path, h := networksv1connect.NewNetworksServiceHandler(s, deps.HandlerOptions...)
			return &app.Service{
				Names:    []string{networksv1connect.NetworksServiceName},
				Mounts:   []server.Mount{{Path: path, Handler: h}},
				Policies: Policies,
			}, nil
		},
	}
}
