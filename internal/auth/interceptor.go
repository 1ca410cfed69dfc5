package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"connectrpc.com/connect"

	"github.com/verkosto/verkosto/internal/apierr"
	"github.com/verkosto/verkosto/internal/audit"
)

// Authenticator is what the interceptor asks to map a secret to a principal.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (*Principal, error)
}

// Interceptor authenticates every call of Verkosto's services and applies the
// procedure's policy: a call without a valid bearer credential ends
// UNAUTHENTICATED, one whose roles the policy does not list, or to a
// procedure without a policy, PERMISSION_DENIED, before any handler runs.
// The handler then checks the binding reaches the resource it touches.
type Interceptor struct {
	auth     Authenticator
	policies Policies
}

// NewInterceptor authenticates with a; set the policies before serving.
func NewInterceptor(a Authenticator) *Interceptor {
	return &Interceptor{auth: a, policies: Policies{}}
}

// SetPolicies installs the policies of every served procedure.
func (i *Interceptor) SetPolicies(p Policies) { i.policies = p }

func (i *Interceptor) authorize(ctx context.Context, procedure, header string) (context.Context, error) {
	pol, ok := i.policies[procedure]
	if !ok {
		return nil, apierr.PermissionDenied("no authorization policy for " + procedure)
	}
	if pol.Public && header == "" {
		return ctx, nil // anonymous: FromContext is nil
	}
	ctx, err := i.authenticate(ctx, header)
	if err != nil {
		return nil, err
	}
	p := FromContext(ctx)
	audit.NotePrincipal(ctx, p.CredentialID, p.Name)
	if !pol.Permits(p) {
		return nil, apierr.PermissionDenied(fmt.Sprintf("%s needs one of the roles: %s", procedure, pol.RoleNames()))
	}
	return ctx, nil
}

func (i *Interceptor) authenticate(ctx context.Context, header string) (context.Context, error) {
	secret, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || secret == "" {
		return nil, apierr.Unauthenticated("missing bearer credential: send \"Authorization: Bearer vk_...\"")
	}
	p, err := i.auth.Authenticate(ctx, strings.TrimSpace(secret))
	if errors.Is(err, ErrInvalidCredential) {
		return nil, apierr.Unauthenticated("invalid, expired or revoked credential")
	}
	if err != nil {
		return nil, apierr.Unavailable("cannot check credentials now; retry")
	}
	return WithPrincipal(ctx, p), nil
}

// WrapUnary implements connect.Interceptor.
func (i *Interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, err := i.authorize(ctx, req.Spec().Procedure, req.Header().Get("Authorization"))
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// WrapStreamingClient implements connect.Interceptor.
func (i *Interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// WrapStreamingHandler implements connect.Interceptor.
func (i *Interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := i.authorize(ctx, conn.Spec().Procedure, conn.RequestHeader().Get("Authorization"))
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

// BearerToken is a client interceptor that sends secret on every call.
func BearerToken(secret string) connect.Interceptor {
	return bearer(secret)
}

type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", "Bearer "+string(b))
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		return conn
	}
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}
