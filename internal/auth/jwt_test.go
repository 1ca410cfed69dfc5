package auth_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/verkosto/verkosto/internal/auth"
)

func newVerifier(t *testing.T, cfg auth.OIDCConfig, c *clock) *auth.JWTVerifier {
	t.Helper()
	v, err := auth.NewJWTVerifier(cfg, c.Now, nil)
	if err != nil {
		t.Fatalf("verifier: %v", err)
	}
	return v
}

func wantRefused(t *testing.T, v *auth.JWTVerifier, token, why string) {
	t.Helper()
	p, err := v.Authenticate(context.Background(), token)
	if !errors.Is(err, auth.ErrInvalidCredential) {
		t.Errorf("%s: want ErrInvalidCredential, got principal %+v, err %v", why, p, err)
	}
}

// A valid token is accepted and its claims become the principal.
func TestJWTAcceptedAndMapped(t *testing.T) {
	p := newIDP(t)
	c := newClock()
	rk, ek := rsaKey(t), ecKey(t)
	p.publish("rsa-1", rk)
	p.publish("ec-1", ek)
	v := newVerifier(t, p.config(), c)

	claims := p.claims(c.Now(), "user-17", "coordinator:region=pohjois-pohjanmaa,programme=lape", "leader:network=0190f3a2-0000-7000-8000-000000000001")
	claims["name"] = "Maija Meikäläinen"
	claims[auth.DefaultPersonIDClaim] = "0190f3a2-0000-7000-8000-0000000000aa"
	got, err := v.Authenticate(context.Background(), sign(t, "rsa-1", rk, claims))
	if err != nil {
		t.Fatalf("RS256: %v", err)
	}
	want := []auth.Binding{
		{Role: auth.RoleCoordinator, Region: "pohjois-pohjanmaa", Programme: "lape"},
		{Role: auth.RoleLeader, Network: "0190f3a2-0000-7000-8000-000000000001"},
	}
	if !slices.Equal(got.Bindings, want) {
		t.Errorf("bindings %+v, want %+v", got.Bindings, want)
	}
	if got.Name != "Maija Meikäläinen" || got.PersonID != "0190f3a2-0000-7000-8000-0000000000aa" ||
		got.CredentialID != "oidc:"+p.URL()+"#user-17" {
		t.Errorf("principal %+v", got)
	}

	// ES256, a single binding as a string, the name from sub.
	claims = p.claims(c.Now(), "partner-system")
	claims[auth.DefaultBindingsClaim] = "partner:region=pohjois-pohjanmaa"
	got, err = v.Authenticate(context.Background(), sign(t, "ec-1", ek, claims))
	if err != nil {
		t.Fatalf("ES256: %v", err)
	}
	if got.Name != "partner-system" || !got.PartnerReads("pohjois-pohjanmaa", "lape") || got.PartnerReads("lappi", "lape") {
		t.Errorf("partner principal %+v", got)
	}

	// No bindings: authenticated, but every policy will deny it.
	got, err = v.Authenticate(context.Background(), sign(t, "rsa-1", rk, p.claims(c.Now(), "nobody")))
	if err != nil || len(got.Bindings) != 0 {
		t.Errorf("no bindings: %+v, %v", got, err)
	}

	// Within the leeway of exp and nbf.
	claims = p.claims(c.Now(), "skewed", "admin")
	claims["exp"] = c.Now().Add(-10 * time.Second).Unix()
	if _, err := v.Authenticate(context.Background(), sign(t, "rsa-1", rk, claims)); err != nil {
		t.Errorf("expired 10 s ago, within the leeway: %v", err)
	}
	claims = p.claims(c.Now(), "skewed", "admin")
	claims["nbf"] = c.Now().Add(10 * time.Second).Unix()
	claims["iat"] = c.Now().Add(10 * time.Second).Unix()
	if _, err := v.Authenticate(context.Background(), sign(t, "rsa-1", rk, claims)); err != nil {
		t.Errorf("valid in 10 s, within the leeway: %v", err)
	}

	// Configured claim names.
	cfg := p.config()
	cfg.BindingsClaim, cfg.PersonIDClaim = "roles", "pid"
	v2 := newVerifier(t, cfg, c)
	claims = p.claims(c.Now(), "user-18")
	claims["roles"] = []string{"admin"}
	claims["pid"] = "p-1"
	got, err = v2.Authenticate(context.Background(), sign(t, "rsa-1", rk, claims))
	if err != nil || !got.IsAdmin() || got.PersonID != "p-1" {
		t.Errorf("configured claims: %+v, %v", got, err)
	}
}

// Every way a token can be wrong is refused as an invalid credential.
func TestJWTRefused(t *testing.T) {
	p := newIDP(t)
	c := newClock()
	rk, ek, other := rsaKey(t), ecKey(t), rsaKey(t)
	p.publish("rsa-1", rk)
	p.publish("ec-1", ek)
	v := newVerifier(t, p.config(), c)
	now := c.Now()
	valid := func() jwt.MapClaims { return p.claims(now, "user-1", "admin") }
	with := func(k string, val any) jwt.MapClaims {
		cl := valid()
		if val == nil {
			delete(cl, k)
		} else {
			cl[k] = val
		}
		return cl
	}

	pubDER, err := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hmacWith := func(secret []byte) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, valid())
		tok.Header["kid"] = "rsa-1"
		s, err := tok.SignedString(secret)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	none := jwt.NewWithClaims(jwt.SigningMethodNone, valid())
	none.Header["kid"] = "rsa-1"
	noneToken, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	// An ES256 token that names the RSA key: the key must fit the algorithm.
	mismatch := jwt.NewWithClaims(jwt.SigningMethodES256, valid())
	mismatch.Header["kid"] = "rsa-1"
	mismatchToken, err := mismatch.SignedString(ek)
	if err != nil {
		t.Fatal(err)
	}
	// RS384 is a fine algorithm, but not in the default allowlist.
	rs384 := jwt.NewWithClaims(jwt.SigningMethodRS384, valid())
	rs384.Header["kid"] = "rsa-1"
	rs384Token, err := rs384.SignedString(rk)
	if err != nil {
		t.Fatal(err)
	}
	good := sign(t, "rsa-1", rk, valid())
	noKid := jwt.NewWithClaims(jwt.SigningMethodRS256, valid())
	noKidToken, err := noKid.SignedString(rk)
	if err != nil {
		t.Fatal(err)
	}

	cases := map[string]string{
		"expired":                        sign(t, "rsa-1", rk, with("exp", now.Add(-2*time.Minute).Unix())),
		"not yet valid":                  sign(t, "rsa-1", rk, with("nbf", now.Add(5*time.Minute).Unix())),
		"issued in the future":           sign(t, "rsa-1", rk, with("iat", now.Add(5*time.Minute).Unix())),
		"without exp":                    sign(t, "rsa-1", rk, with("exp", nil)),
		"signed by another key":          sign(t, "rsa-1", other, valid()),
		"alg none":                       noneToken,
		"HS256 with the RSA key as PEM":  hmacWith(pubPEM),
		"HS256 with the RSA key as DER":  hmacWith(pubDER),
		"HS256 with the RSA modulus":     hmacWith(rk.N.Bytes()),
		"ES256 naming an RSA key":        mismatchToken,
		"algorithm outside allowlist":    rs384Token,
		"wrong audience":                 sign(t, "rsa-1", rk, with("aud", []string{"another-service"})),
		"without audience":               sign(t, "rsa-1", rk, with("aud", nil)),
		"wrong issuer":                   sign(t, "rsa-1", rk, with("iss", "https://idp.example.org")),
		"issuer with a trailing slash":   sign(t, "rsa-1", rk, with("iss", p.URL()+"/")),
		"without sub":                    sign(t, "rsa-1", rk, with("sub", nil)),
		"without kid":                    noKidToken,
		"bad binding":                    sign(t, "rsa-1", rk, with(auth.DefaultBindingsClaim, []string{"coordinator:region=lappi"})),
		"unknown role":                   sign(t, "rsa-1", rk, with(auth.DefaultBindingsClaim, []string{"root"})),
		"bindings not strings":           sign(t, "rsa-1", rk, with(auth.DefaultBindingsClaim, []any{1, 2})),
		"bindings an object":             sign(t, "rsa-1", rk, with(auth.DefaultBindingsClaim, map[string]any{"role": "admin"})),
		"partner mixed with association": sign(t, "rsa-1", rk, with(auth.DefaultBindingsClaim, []string{"partner", "association:association=a1"})),
		"person id not a string":         sign(t, "rsa-1", rk, with(auth.DefaultPersonIDClaim, 42)),
		"signature cut off":              good[:len(good)-10],
		"payload swapped":                swapPayload(good, sign(t, "rsa-1", other, with("sub", "intruder"))),
		"garbage":                        "a.b.c",
	}
	for why, token := range cases {
		wantRefused(t, v, token, why)
	}
	if _, err := v.Authenticate(context.Background(), good); err != nil {
		t.Fatalf("the valid token: %v", err)
	}
}

// swapPayload puts the payload of b into a, keeping a's header and signature.
func swapPayload(a, b string) string {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	return pa[0] + "." + pb[1] + "." + pa[2]
}

// An unknown kid refetches the key set once; more unknown kids within the
// refetch interval, even a flood of them at once, do not reach the provider.
func TestJWTUnknownKidRefetchIsBounded(t *testing.T) {
	p := newIDP(t)
	c := newClock()
	rk, stranger := rsaKey(t), rsaKey(t)
	p.publish("rsa-1", rk)
	v := newVerifier(t, p.config(), c)
	ctx := context.Background()

	if _, err := v.Authenticate(ctx, sign(t, "rsa-1", rk, p.claims(c.Now(), "u", "admin"))); err != nil {
		t.Fatal(err)
	}
	if n := p.jwksHits.Load(); n != 1 {
		t.Fatalf("key set fetched %d times after the first token, want 1", n)
	}
	c.Advance(31 * time.Second)
	wantRefused(t, v, sign(t, "unknown-1", stranger, p.claims(c.Now(), "u", "admin")), "unknown kid")
	if n := p.jwksHits.Load(); n != 2 {
		t.Fatalf("key set fetched %d times after an unknown kid, want 2 (one refetch)", n)
	}
	wantRefused(t, v, sign(t, "unknown-2", stranger, p.claims(c.Now(), "u", "admin")), "second unknown kid")
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			tok := sign(t, fmt.Sprintf("flood-%d", i), stranger, p.claims(c.Now(), "u", "admin"))
			if _, err := v.Authenticate(ctx, tok); !errors.Is(err, auth.ErrInvalidCredential) {
				t.Errorf("flood token: %v", err)
			}
		})
	}
	wg.Wait()
	if n := p.jwksHits.Load(); n != 2 {
		t.Fatalf("key set fetched %d times after a flood of unknown kids within the interval, want 2", n)
	}
	// Known keys keep working meanwhile.
	if _, err := v.Authenticate(ctx, sign(t, "rsa-1", rk, p.claims(c.Now(), "u", "admin"))); err != nil {
		t.Fatal(err)
	}
	c.Advance(31 * time.Second)
	wantRefused(t, v, sign(t, "unknown-3", stranger, p.claims(c.Now(), "u", "admin")), "unknown kid after the interval")
	if n := p.jwksHits.Load(); n != 3 {
		t.Fatalf("key set fetched %d times, want 3: one more after the interval", n)
	}
	if n := p.discovery.Load(); n != 1 {
		t.Errorf("discovery fetched %d times, want 1", n)
	}
}

// Key rotation: a newly published kid is fetched and accepted; a withdrawn
// key stops working once the cached key set is refreshed.
func TestJWTKeyRotation(t *testing.T) {
	p := newIDP(t)
	c := newClock()
	old, next := rsaKey(t), ecKey(t)
	p.publish("2026-01", old)
	v := newVerifier(t, p.config(), c)
	ctx := context.Background()
	if _, err := v.Authenticate(ctx, sign(t, "2026-01", old, p.claims(c.Now(), "u", "admin"))); err != nil {
		t.Fatal(err)
	}
	p.publish("2026-02", next)
	// Within the refetch interval of the first fetch the new kid is not
	// known yet: that is the price of the bound.
	c.Advance(5 * time.Second)
	wantRefused(t, v, sign(t, "2026-02", next, p.claims(c.Now(), "u", "admin")), "new kid within the interval")
	c.Advance(30 * time.Second)
	if _, err := v.Authenticate(ctx, sign(t, "2026-02", next, p.claims(c.Now(), "u", "admin"))); err != nil {
		t.Fatalf("token of the rotated key: %v", err)
	}
	if _, err := v.Authenticate(ctx, sign(t, "2026-01", old, p.claims(c.Now(), "u", "admin"))); err != nil {
		t.Fatalf("token of the old key, still published: %v", err)
	}
	p.withdraw("2026-01")
	c.Advance(auth.DefaultKeysMaxAge)
	wantRefused(t, v, sign(t, "2026-01", old, p.claims(c.Now(), "u", "admin")), "withdrawn key")
	if _, err := v.Authenticate(ctx, sign(t, "2026-02", next, p.claims(c.Now(), "u", "admin"))); err != nil {
		t.Fatalf("token of the current key: %v", err)
	}
}

// A configured JWKS URL is used without discovery; discovery that names
// another issuer is not trusted; a provider that cannot be reached makes
// tokens uncheckable (not invalid), so callers see UNAVAILABLE.
func TestJWTKeySetSources(t *testing.T) {
	p := newIDP(t)
	c := newClock()
	rk := rsaKey(t)
	p.publish("rsa-1", rk)
	ctx := context.Background()

	cfg := p.config()
	cfg.JWKSURL = p.URL() + "/keys"
	v := newVerifier(t, cfg, c)
	if _, err := v.Authenticate(ctx, sign(t, "rsa-1", rk, p.claims(c.Now(), "u", "admin"))); err != nil {
		t.Fatal(err)
	}
	if n := p.discovery.Load(); n != 0 {
		t.Errorf("discovery fetched %d times with a configured JWKS URL", n)
	}

	p.mu.Lock()
	p.issuerInDiscovery = "https://evil.example.org"
	p.mu.Unlock()
	v = newVerifier(t, p.config(), c)
	_, err := v.Authenticate(ctx, sign(t, "rsa-1", rk, p.claims(c.Now(), "u", "admin")))
	if err == nil || errors.Is(err, auth.ErrInvalidCredential) {
		t.Errorf("discovery naming another issuer: want an unavailable error, got %v", err)
	}

	cfg = p.config()
	cfg.JWKSURL = p.URL() + "/missing"
	v = newVerifier(t, cfg, c)
	_, err = v.Authenticate(ctx, sign(t, "rsa-1", rk, p.claims(c.Now(), "u", "admin")))
	if err == nil || errors.Is(err, auth.ErrInvalidCredential) {
		t.Errorf("key set not found: want an unavailable error, got %v", err)
	}
}

func TestOIDCConfigChecked(t *testing.T) {
	ok := auth.OIDCConfig{Issuer: "https://tunnistus.example.fi/realms/pohde", Audience: "verkosto"}
	if _, err := auth.NewJWTVerifier(ok, nil, nil); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	bad := map[string]func(*auth.OIDCConfig){
		"no issuer":          func(c *auth.OIDCConfig) { c.Issuer = "" },
		"no audience":        func(c *auth.OIDCConfig) { c.Audience = "" },
		"http issuer":        func(c *auth.OIDCConfig) { c.Issuer = "http://tunnistus.example.fi" },
		"relative issuer":    func(c *auth.OIDCConfig) { c.Issuer = "tunnistus.example.fi" },
		"http jwks":          func(c *auth.OIDCConfig) { c.JWKSURL = "http://tunnistus.example.fi/keys" },
		"alg none":           func(c *auth.OIDCConfig) { c.Algorithms = []string{"RS256", "none"} },
		"HMAC":               func(c *auth.OIDCConfig) { c.Algorithms = []string{"HS256"} },
		"huge leeway":        func(c *auth.OIDCConfig) { c.Leeway = time.Hour },
		"issuer with query":  func(c *auth.OIDCConfig) { c.Issuer = "https://tunnistus.example.fi/?x=1" },
		"unknown algorithm":  func(c *auth.OIDCConfig) { c.Algorithms = []string{"EdDSA"} },
		"blank audience":     func(c *auth.OIDCConfig) { c.Audience = "  " },
		"issuer with a hash": func(c *auth.OIDCConfig) { c.Issuer = "https://tunnistus.example.fi/#x" },
	}
	for name, change := range bad {
		cfg := ok
		change(&cfg)
		if _, err := auth.NewJWTVerifier(cfg, nil, nil); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// stub authenticates every secret as one principal.
type stub struct{ name string }

func (s stub) Authenticate(context.Context, string) (*auth.Principal, error) {
	return &auth.Principal{Name: s.name}, nil
}

// Tokens sends vk_ secrets to the store and dotted ones to the verifier,
// when there is one.
func TestTokensRouting(t *testing.T) {
	ctx := context.Background()
	both := auth.Tokens{Credentials: stub{"store"}, JWT: stub{"jwt"}}
	storeOnly := auth.Tokens{Credentials: stub{"store"}}
	for _, tc := range []struct {
		a      auth.Tokens
		secret string
		want   string
	}{
		{both, "vk_abc", "store"},
		{both, "vk_a.b.c", "store"},
		{both, "eyJ.eyJ.sig", "jwt"},
		{both, "a.b", ""},
		{both, "a.b.c.d", ""},
		{both, "token", ""},
		{storeOnly, "eyJ.eyJ.sig", ""},
		{storeOnly, "vk_abc", "store"},
	} {
		p, err := tc.a.Authenticate(ctx, tc.secret)
		switch {
		case tc.want == "" && !errors.Is(err, auth.ErrInvalidCredential):
			t.Errorf("%q: want ErrInvalidCredential, got %v %v", tc.secret, p, err)
		case tc.want != "" && (err != nil || p.Name != tc.want):
			t.Errorf("%q: want %s, got %v %v", tc.secret, tc.want, p, err)
		}
	}
}
