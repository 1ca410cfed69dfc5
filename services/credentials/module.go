// Package credentials is the credentials service: admins mint, list and
// revoke the bearer credentials ("vk_...") of people and partner systems
// over RPC, as `verkosto token` does on the command line. It has no schema
// of its own: credentials live in the auth schema, through auth.Store.
package credentials

import (
	"context"

	"github.com/verkosto/verkosto/gen/verkosto/credentials/v1/credentialsv1connect"
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/server"
)

// Module registers the credentials service.
func Module() app.Module {
	return app.Module{
		Name: "credentials",
		New: func(_ context.Context, deps app.Deps) (*app.Service, error) {
			s := &Service{store: deps.Credentials, now: deps.Now, logger: deps.Logger.With("service", "credentials")}
			path, h := credentialsv1connect.NewCredentialsServiceHandler(s, deps.HandlerOptions...)
			return &app.Service{
				Names:    []string{credentialsv1connect.CredentialsServiceName},
				Mounts:   []server.Mount{{Path: path, Handler: h}},
				Policies: Policies,
			}, nil
		},
	}
}
