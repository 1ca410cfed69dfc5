package credentials

import (
	"github.com/verkosto/verkosto/gen/verkosto/credentials/v1/credentialsv1connect"
	"github.com/verkosto/verkosto/internal/auth"
)

// Policies: credentials are for admins only; a credential can grant any
// role, so minting one is as strong as being an admin.
var Policies = auth.Policies{
	credentialsv1connect.CredentialsServiceCreateCredentialProcedure: auth.Allow("admins only", auth.RoleAdmin),
	credentialsv1connect.CredentialsServiceListCredentialsProcedure:  auth.Allow("admins only", auth.RoleAdmin),
	credentialsv1connect.CredentialsServiceRevokeCredentialProcedure: auth.Allow("admins only", auth.RoleAdmin),
}
