package auth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"connectrpc.com/connect"
	healthv1 "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/verkosto/verkosto/internal/auth"
)

// fixed authenticates one secret.
type fixed struct{}

func (fixed) Authenticate(_ context.Context, secret string) (*auth.Principal, error) {
	if secret == "vk_good" {
		return &auth.Principal{CredentialID: "c1", Name: "good"}, nil
	}
	return nil, auth.ErrInvalidCredential
}

const (
	openProc   = "/test.v1.Open/Check"
	closedProc = "/test.v1.Closed/Check"
)

// TestPublicProcedures: only a procedure declared public runs without a
// credential, and then with no principal; a public procedure with a bad
// credential still fails; every other procedure stays UNAUTHENTICATED.
func TestPublicProcedures(t *testing.T) {
	public := auth.NewPublic()
	opts := connect.WithInterceptors(auth.Interceptor(fixed{}, public))
	handler := func(ctx context.Context, _ *healthv1.HealthCheckRequest) (*healthv1.HealthCheckResponse, error) {
		status := healthv1.HealthCheckResponse_NOT_SERVING // anonymous
		if auth.FromContext(ctx) != nil {
			status = healthv1.HealthCheckResponse_SERVING
		}
		return &healthv1.HealthCheckResponse{Status: status}, nil
	}
	mux := http.NewServeMux()
	mux.Handle(openProc, connect.NewUnaryHandlerSimple(openProc, handler, opts))
	mux.Handle(closedProc, connect.NewUnaryHandlerSimple(closedProc, handler, opts))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	// Declared after the handlers were built, as app.Build does.
	public.Allow(openProc)

	call := func(proc, secret string) (healthv1.HealthCheckResponse_ServingStatus, connect.Code) {
		t.Helper()
		var copts []connect.ClientOption
		if secret != "" {
			copts = append(copts, connect.WithInterceptors(auth.BearerToken(secret)))
		}
		c := connect.NewClient[healthv1.HealthCheckRequest, healthv1.HealthCheckResponse](srv.Client(), srv.URL+proc, copts...)
		res, err := c.CallUnary(context.Background(), connect.NewRequest(&healthv1.HealthCheckRequest{}))
		if err != nil {
			return 0, connect.CodeOf(err)
		}
		return res.Msg.GetStatus(), 0
	}

	if st, code := call(openProc, ""); code != 0 || st != healthv1.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("anonymous call of a public procedure: status %v code %v", st, code)
	}
	if st, code := call(openProc, "vk_good"); code != 0 || st != healthv1.HealthCheckResponse_SERVING {
		t.Fatalf("authenticated call of a public procedure: status %v code %v", st, code)
	}
	if _, code := call(openProc, "vk_bad"); code != connect.CodeUnauthenticated {
		t.Fatalf("bad credential on a public procedure: code %v, want unauthenticated", code)
	}
	if _, code := call(closedProc, ""); code != connect.CodeUnauthenticated {
		t.Fatalf("anonymous call of another procedure: code %v, want unauthenticated", code)
	}
	if st, code := call(closedProc, "vk_good"); code != 0 || st != healthv1.HealthCheckResponse_SERVING {
		t.Fatalf("authenticated call: status %v code %v", st, code)
	}
	if !public.Allows(openProc) || public.Allows(closedProc) {
		t.Fatal("Allows")
	}
}
