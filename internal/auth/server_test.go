package auth_test

import (
	"context"
	"testing"
	"time"

	"connectrpc.com/connect"

	networksv1 "github.com/verkosto/verkosto/gen/verkosto/networks/v1"
	"github.com/verkosto/verkosto/gen/verkosto/networks/v1/networksv1connect"
	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/testenv"
	"github.com/verkosto/verkosto/services/networks"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func networksClient(e *testenv.Env, token string) networksv1connect.NetworksServiceClient {
	var opts []connect.ClientOption
	if token != "" {
		opts = append(opts, connect.WithInterceptors(auth.BearerToken(token)))
	}
	return networksv1connect.NewNetworksServiceClient(e.HTTPClient(), e.URL, opts...)
}

func wantCode(t *testing.T, err error, code connect.Code, what string) {
	t.Helper()
	if connect.CodeOf(err) != code {
		t.Errorf("%s: want %v, got %v", what, code, err)
	}
}

// A JWT of the configured provider calls an RPC as its principal; a bad one
// is UNAUTHENTICATED; a valid one of a role the policy leaves out is
// PERMISSION_DENIED.
func TestJWTThroughServer(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	rk, other := rsaKey(t), rsaKey(t)
	p.publish("rsa-1", rk)
	cfg := p.config()
	e := testenv.New(t, []app.Module{networks.Module()}, testenv.Options{OIDC: &cfg})
	ctx := context.Background()
	now := e.Clock.Now()

	partner := sign(t, "rsa-1", rk, p.claims(now, "partner-system", "partner:region=pohjois-pohjanmaa"))
	res, err := networksClient(e, partner).ListRegions(ctx, &networksv1.ListRegionsRequest{})
	if err != nil {
		t.Fatalf("ListRegions with a JWT: %v", err)
	}
	if len(res.GetRegions()) != 22 {
		t.Errorf("%d regions", len(res.GetRegions()))
	}
	wantCode(t, func() error {
		_, err := networksClient(e, partner).CreateProgramme(ctx, &networksv1.CreateProgrammeRequest{})
		return err
	}(), connect.CodePermissionDenied, "partner JWT on an admin RPC")

	admin := sign(t, "rsa-1", rk, p.claims(now, "admin-1", "admin"))
	if _, err := networksClient(e, admin).ListProgrammes(ctx, &networksv1.ListProgrammesRequest{}); err != nil {
		t.Errorf("admin JWT: %v", err)
	}

	bad := map[string]string{
		"signed by another key": sign(t, "rsa-1", other, p.claims(now, "x", "admin")),
		"wrong audience": sign(t, "rsa-1", rk, func() map[string]any {
			c := p.claims(now, "x", "admin")
			c["aud"] = "other"
			return c
		}()),
		"malformed": "eyJhbGciOiJub25lIn0.e30.",
	}
	for why, token := range bad {
		_, err := networksClient(e, token).ListRegions(ctx, &networksv1.ListRegionsRequest{})
		wantCode(t, err, connect.CodeUnauthenticated, why)
	}

	// The test clock drives expiry.
	e.Clock.Advance(11 * time.Minute)
	_, err = networksClient(e, admin).ListRegions(ctx, &networksv1.ListRegionsRequest{})
	wantCode(t, err, connect.CodeUnauthenticated, "expired JWT")
}

// Without an OIDC provider configured a JWT is UNAUTHENTICATED.
func TestJWTWithoutProvider(t *testing.T) {
	t.Parallel()
	p := newIDP(t)
	rk := rsaKey(t)
	p.publish("rsa-1", rk)
	e := testenv.New(t, []app.Module{networks.Module()})
	token := sign(t, "rsa-1", rk, p.claims(e.Clock.Now(), "admin-1", "admin"))
	_, err := networksClient(e, token).ListRegions(context.Background(), &networksv1.ListRegionsRequest{})
	wantCode(t, err, connect.CodeUnauthenticated, "JWT without a provider")
	if n := p.jwksHits.Load() + p.discovery.Load(); n != 0 {
		t.Errorf("provider contacted %d times", n)
	}
}

// Opaque credentials: an expired or revoked vk_ secret is UNAUTHENTICATED;
// an unknown one too.
func TestCredentialExpiryAndRevocation(t *testing.T) {
	t.Parallel()
	e := testenv.New(t, []app.Module{networks.Module()})
	ctx := context.Background()
	admin := []auth.Binding{{Role: auth.RoleAdmin}}
	_, expiring, err := e.Creds.Create(ctx, auth.NewCredential{Name: "expiring", Bindings: admin, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	revokedID, revoked, err := e.Creds.Create(ctx, auth.NewCredential{Name: "revoked", Bindings: admin})
	if err != nil {
		t.Fatal(err)
	}
	list := func(token string) error {
		_, err := networksClient(e, token).ListRegions(ctx, &networksv1.ListRegionsRequest{})
		return err
	}
	if err := list(expiring); err != nil {
		t.Fatalf("fresh credential: %v", err)
	}
	if err := list(revoked); err != nil {
		t.Fatalf("credential before revocation: %v", err)
	}
	e.Clock.Advance(59 * time.Minute)
	if err := list(expiring); err != nil {
		t.Fatalf("credential a minute before expiry: %v", err)
	}
	e.Clock.Advance(2 * time.Minute)
	wantCode(t, list(expiring), connect.CodeUnauthenticated, "expired credential")

	if err := e.Creds.Revoke(ctx, revokedID); err != nil {
		t.Fatal(err)
	}
	wantCode(t, list(revoked), connect.CodeUnauthenticated, "revoked credential")
	wantCode(t, list("vk_"+revoked[3:10]), connect.CodeUnauthenticated, "unknown credential")
	wantCode(t, list(""), connect.CodeUnauthenticated, "no credential")
}
