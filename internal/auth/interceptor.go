package auth

import (
	"context"
	"errors"
	"strings"
	"sync"

	"connectrpc.com/connect"

	"github.com/verkosto/verkosto/internal/apierr"
)

// Authenticator is what the interceptor asks to map a secret to a principal.
type Authenticator interface {
	Authenticate(ctx context.Context, secret string) (*Principal, error)
}

// Interceptor authenticates every call of Verkosto's services: a call without
// a valid bearer credential ends UNAUTHENTICATED before any handler runs.
// The one exception is a procedure in public called without any
// Authorization header: it runs with no principal (FromContext is nil). A
// public procedure called with a header is authenticated as any other, so a
// bad credential is never silently dropped. Authorization is then each
// handler's job, against the resource it touches.
func Interceptor(a Authenticator, public *Public) connect.Interceptor {
	if public == nil {
		public = NewPublic()
	}
	return &interceptor{auth: a, public: public}
}

type interceptor struct {
	auth   Authenticator
	public *Public
}

// Public is the set of procedures (e.g.
// "/verkosto.events.v1.EventsService/RegisterForEvent") that admit anonymous
// callers. Modules declare theirs (app.Service.Public); app.Build adds them
// before the server serves.
type Public struct {
	mu  sync.RWMutex
	set map[string]bool
}

// NewPublic returns a set holding procedures.
func NewPublic(procedures ...string) *Public {
	p := &Public{set: map[string]bool{}}
	p.Allow(procedures...)
	return p
}

// Allow adds procedures to the set.
func (p *Public) Allow(procedures ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, proc := range procedures {
		p.set[proc] = true
	}
}

// Allows reports whether procedure admits anonymous callers.
func (p *Public) Allows(procedure string) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.set[procedure]
}

// anonymous reports a call the interceptor lets through without a principal.
func (i *interceptor) anonymous(procedure, header string) bool {
	return header == "" && i.public.Allows(procedure)
}

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
		header := req.Header().Get("Authorization")
		if i.anonymous(req.Spec().Procedure, header) {
			return next(ctx, req)
		}
		ctx, err := i.authenticate(ctx, header)
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
		header := conn.RequestHeader().Get("Authorization")
		if i.anonymous(conn.Spec().Procedure, header) {
			return next(ctx, conn)
		}
		ctx, err := i.authenticate(ctx, header)
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
