package auth_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/verkosto/verkosto/internal/auth"
)

const testAudience = "verkosto"

// idp is an OpenID provider for tests: discovery, a key set whose keys the
// test publishes and withdraws, and a counter of key set requests.
type idp struct {
	t         testing.TB
	srv       *httptest.Server
	mu        sync.Mutex
	published map[string]crypto.Signer
	jwksHits  atomic.Int64
	discovery atomic.Int64
	// issuerInDiscovery overrides the issuer the discovery document names.
	issuerInDiscovery string
}

func newIDP(t testing.TB) *idp {
	t.Helper()
	p := &idp{t: t, published: map[string]crypto.Signer{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		p.discovery.Add(1)
		iss := p.srv.URL
		p.mu.Lock()
		if p.issuerInDiscovery != "" {
			iss = p.issuerInDiscovery
		}
		p.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]string{"issuer": iss, "jwks_uri": p.srv.URL + "/keys"}) //nolint:errcheck
	})
	mux.HandleFunc("/keys", func(w http.ResponseWriter, _ *http.Request) {
		p.jwksHits.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
		keys := []map[string]string{}
		for kid, k := range p.published {
			keys = append(keys, jwkOf(kid, k.Public()))
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"keys": keys}) //nolint:errcheck
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the issuer.
func (p *idp) URL() string { return p.srv.URL }

// publish adds a key to the key set.
func (p *idp) publish(kid string, k crypto.Signer) {
	p.mu.Lock()
	p.published[kid] = k
	p.mu.Unlock()
}

// withdraw removes a key from the key set.
func (p *idp) withdraw(kid string) {
	p.mu.Lock()
	delete(p.published, kid)
	p.mu.Unlock()
}

// config is a verifier configuration for this provider (keys discovered).
func (p *idp) config() auth.OIDCConfig {
	return auth.OIDCConfig{Issuer: p.URL(), Audience: testAudience}
}

func jwkOf(kid string, pub crypto.PublicKey) map[string]string {
	enc := base64.RawURLEncoding.EncodeToString
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "n": enc(k.N.Bytes()), "e": enc(big.NewInt(int64(k.E)).Bytes())}
	case *ecdsa.PublicKey:
		raw, err := k.Bytes() // 0x04 || X || Y
		if err != nil {
			panic(err)
		}
		size := (len(raw) - 1) / 2
		return map[string]string{"kty": "EC", "kid": kid, "crv": k.Curve.Params().Name, "x": enc(raw[1 : 1+size]), "y": enc(raw[1+size:])}
	}
	panic("unsupported key")
}

func rsaKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// claims are valid claims of this provider at now, for subject sub.
func (p *idp) claims(now time.Time, sub string, bindings ...string) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss": p.URL(),
		"aud": []string{testAudience},
		"sub": sub,
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(10 * time.Minute).Unix(),
	}
	if len(bindings) > 0 {
		c[auth.DefaultBindingsClaim] = bindings
	}
	return c
}

// sign signs claims with the key under kid, choosing the algorithm by key type.
func sign(t testing.TB, kid string, key crypto.Signer, claims jwt.MapClaims) string {
	t.Helper()
	method := jwt.SigningMethod(jwt.SigningMethodRS256)
	if _, ok := key.(*ecdsa.PrivateKey); ok {
		method = jwt.SigningMethodES256
	}
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Now()} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}
