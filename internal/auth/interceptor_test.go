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
		return &auth.Principal{CredentialID: "c1", Name: "good", Bindings: []auth.Binding{{Role: auth.RoleAdmin}}}, nil
	}
	if secret == "vk_partner" {
		return &auth.Principal{CredentialID: "c2", Name: "partner", Bindings: []auth.Binding{{Role: auth.RolePartner}}}, nil
	}
	return nil, auth.ErrInvalidCredential
}

const (
	openProc   = "/test.v1.Open/Check"
	closedProc = "/test.v1.Closed/Check"
	noPolicy   = "/test.v1.Forgotten/Check"
)

// TestPolicies: only a procedure whose policy is public runs without a
// credential, and then with no principal; a public procedure with a bad
// credential still fails; every other procedure stays UNAUTHENTICATED; a
// role outside the policy and a procedure without a policy are refused.
func TestPolicies(t *testing.T) {
	interceptor := auth.NewInterceptor(fixed{})
	opts := connect.WithInterceptors(interceptor)
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
	mux.Handle(noPolicy, connect.NewUnaryHandlerSimple(noPolicy, handler, opts))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	// Set after the handlers were built, as app.Build does.
	interceptor.SetPolicies(auth.Policies{
		openProc:   auth.AllowPublic("anyone"),
		closedProc: auth.Allow("admins", auth.RoleAdmin),
	})

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
	if _, code := call(closedProc, "vk_partner"); code != connect.CodePermissionDenied {
		t.Fatalf("role outside the policy: code %v, want permission_denied", code)
	}
	if _, code := call(noPolicy, "vk_good"); code != connect.CodePermissionDenied {
		t.Fatalf("procedure without a policy: code %v, want permission_denied", code)
	}
}
