// Package changes is the change feed: every committed change of every
// service, in the total order of the JetStream stream, listed or watched from
// a cursor, within what the caller's credential may see.
package changes

import (
	"context"

	"github.com/verkosto/verkosto/gen/verkosto/changes/v1/changesv1connect"
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/server"
)

// Module registers the change feed. It owns no schema: the stream is its store.
func Module() app.Module {
	return app.Module{
		Name: "changes",
		New: func(ctx context.Context, deps app.Deps) (*app.Service, error) {
			s := &Service{js: deps.JS, logger: deps.Logger}
			path, h := changesv1connect.NewChangeFeedServiceHandler(s, deps.HandlerOptions...)
			return &app.Service{
				Names:  []string{changesv1connect.ChangeFeedServiceName},
				Mounts: []server.Mount{{Path: path, Handler: h}},
				Policies: auth.Policies{
					changesv1connect.ChangeFeedServiceListChangesProcedure: auth.Allow(
						"partners and coordinators for their regions × programmes, admins", auth.RoleAdmin, auth.RoleCoordinator, auth.RolePartner),
					changesv1connect.ChangeFeedServiceWatchChangesProcedure: auth.Allow(
						"partners and coordinators for their regions × programmes, admins", auth.RoleAdmin, auth.RoleCoordinator, auth.RolePartner),
				},
			}, nil
		},
	}
}
