package credentials

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"

	credentialsv1 "github.com/verkosto/verkosto/gen/verkosto/credentials/v1"
	"github.com/verkosto/verkosto/gen/verkosto/credentials/v1/credentialsv1connect"
	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/check"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/page"
)

// Service implements verkosto.credentials.v1.CredentialsService.
type Service struct {
	credentialsv1connect.UnimplementedCredentialsServiceHandler
	store  *auth.Store
	now    func() time.Time
	logger *slog.Logger
}

// admin refuses every caller but an admin (the policy already does; this
// keeps the handler safe on its own).
func admin(ctx context.Context) (*auth.Principal, error) {
	p := auth.Caller(ctx)
	if !p.IsAdmin() {
		return nil, apierr.Deny("only admins manage credentials")
	}
	return p, nil
}

// CreateCredential mints a credential and returns its secret once.
func (s *Service) CreateCredential(ctx context.Context, req *credentialsv1.CreateCredentialRequest) (*credentialsv1.CreateCredentialResponse, error) {
	p, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	nc, err := checkCreate(req, s.now())
	if err != nil {
		return nil, err
	}
	id, secret, err := s.store.Create(ctx, nc)
	if err != nil {
		return nil, apierr.Internal(err)
	}
	c, err := s.store.Get(ctx, id)
	if err != nil {
		return nil, apierr.Internal(err)
	}
	s.logger.Info("credential created", "credential", id, "name", c.Name, "kind", c.Kind, "bindings", bindingStrings(c.Bindings),
		"expires", c.ExpiresAt, "by", p.CredentialID)
	return &credentialsv1.CreateCredentialResponse{Credential: s.toProto(c), Secret: secret}, nil
}

// ListCredentials lists credentials, oldest first; never secrets or hashes.
func (s *Service) ListCredentials(ctx context.Context, req *credentialsv1.ListCredentialsRequest) (*credentialsv1.ListCredentialsResponse, error) {
	if _, err := admin(ctx); err != nil {
		return nil, err
	}
	size, err := page.Size(req.GetPageSize())
	if err != nil {
		return nil, err
	}
	filter := page.Fingerprint("credentials")
	after, err := page.Decode(req.GetPageToken(), filter)
	if err != nil {
		return nil, err
	}
	if after != "" && !ids.Valid(after) {
		return nil, apierr.InvalidArgument("page_token", "is not a valid page token")
	}
	list, err := s.store.ListAfter(ctx, after, size+1)
	if err != nil {
		return nil, apierr.Internal(err)
	}
	out := make([]*credentialsv1.Credential, len(list))
	for i, c := range list {
		out[i] = s.toProto(c)
	}
	out, next := page.Trim(out, size, filter)
	return &credentialsv1.ListCredentialsResponse{Credentials: out, NextPageToken: next}, nil
}

// RevokeCredential revokes a credential: NOT_FOUND when there is none,
// FAILED_PRECONDITION when it was revoked already.
func (s *Service) RevokeCredential(ctx context.Context, req *credentialsv1.RevokeCredentialRequest) (*credentialsv1.RevokeCredentialResponse, error) {
	p, err := admin(ctx)
	if err != nil {
		return nil, err
	}
	var v apierr.Violations
	check.ID(&v, "id", req.GetId())
	if err := v.Err(); err != nil {
		return nil, err
	}
	switch err := s.store.Revoke(ctx, req.GetId()); {
	case errors.Is(err, auth.ErrCredentialNotFound):
		return nil, apierr.NotFound("credential", req.GetId())
	case errors.Is(err, auth.ErrAlreadyRevoked):
		return nil, apierr.InvalidState("credential", req.GetId(), "revoked", "revoke")
	case err != nil:
		return nil, apierr.Internal(err)
	}
	c, err := s.store.Get(ctx, req.GetId())
	if err != nil {
		return nil, apierr.Internal(err)
	}
	s.logger.Info("credential revoked", "credential", c.ID, "name", c.Name, "by", p.CredentialID)
	return &credentialsv1.RevokeCredentialResponse{Credential: s.toProto(c)}, nil
}

func bindingStrings(bs []auth.Binding) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = b.String()
	}
	return out
}

// toProto renders a stored credential with its state now.
func (s *Service) toProto(c auth.Credential) *credentialsv1.Credential {
	out := &credentialsv1.Credential{
		Id:         c.ID,
		Name:       c.Name,
		PersonId:   c.PersonID,
		CreateTime: timestamppb.New(c.CreatedAt),
		State:      credentialsv1.Credential_STATE_ACTIVE,
	}
	for k, name := range kinds {
		if name == c.Kind {
			out.Kind = k
		}
	}
	for _, b := range c.Bindings {
		pb := &credentialsv1.Binding{Region: b.Region, Programme: b.Programme, NetworkId: b.Network, AssociationId: b.Association}
		for r, role := range roles {
			if role == b.Role {
				pb.Role = r
			}
		}
		out.Bindings = append(out.Bindings, pb)
	}
	if c.ExpiresAt != nil {
		out.ExpireTime = timestamppb.New(*c.ExpiresAt)
		if !c.ExpiresAt.After(s.now()) {
			out.State = credentialsv1.Credential_STATE_EXPIRED
		}
	}
	if c.RevokedAt != nil {
		out.RevokeTime = timestamppb.New(*c.RevokedAt)
		out.State = credentialsv1.Credential_STATE_REVOKED
	}
	return out
}
