package auth

import (
	"context"
	"errors"
	"strings"

	"connectrpc.com/connect"

	"github.com/verkosto/verkosto/internal/apierr"
)

// Authenticator is what the interceptor asks to map a secret to a principal.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (*Principal, error)
}

// Interceptor authenticates every call of Verkosto's services: a call without
// a valid bearer credential ends UNAUTHENTICATED before any handler runs.
// Authorization is then each handler's job, against the resource it touches.
func Interceptor(a Authenticator) connect.Interceptor {
	return &interceptor{auth: a}
}

type interceptor struct{ auth Authenticator }

func (i *interceptor) authenticate(ctx context.Context, header string) (context.Context, error) {
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

func (i *interceptor) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, err := i.authenticate(ctx, req.Header().Get("Authorization"))
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (i *interceptor) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

func (i *interceptor) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := i.authenticate(ctx, conn.RequestHeader().Get("Authorization"))
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
