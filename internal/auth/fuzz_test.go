package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/verkosto/verkosto/internal/auth"
)

// FuzzParseBinding: never panics; a binding that parses is valid, and its
// String() parses back to the same binding.
func FuzzParseBinding(f *testing.F) {
	for _, s := range []string{
		"admin", "coordinator:region=pohjois-pohjanmaa,programme=lape", "leader:network=0190f3a2-0000-7000-8000-000000000001",
		"association:association=a1", "partner", "partner:region=lappi", "partner:programme=lape,region=kainuu",
		"coordinator:region=a=b,programme=c", " coordinator : region = x , programme = y ", "admin:region=x", "partner:",
		"leader:network=", "x:y", ":", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := auth.ParseBinding(s)
		if err != nil {
			return
		}
		if err := b.Validate(); err != nil {
			t.Fatalf("%q parsed to an invalid binding %+v: %v", s, b, err)
		}
		again, err := auth.ParseBinding(b.String())
		if err != nil || again != b {
			t.Fatalf("%q parsed to %+v; its String() %q parses to %+v, %v", s, b, b.String(), again, err)
		}
	})
}

// forgedTokens are seeds for FuzzJWTVerify: tokens that name the fuzz
// provider's key ids but were signed by other keys, or not at all.
func forgedTokens(f *testing.F, p *idp) []string {
	now := time.Now()
	valid := p.claims(now, "user-1", "admin")
	rs := sign(f, "rsa-1", rsaKey(f), valid)
	es := sign(f, "ec-1", ecKey(f), valid)
	none := jwt.NewWithClaims(jwt.SigningMethodNone, valid)
	none.Header["kid"] = "rsa-1"
	noneToken, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, valid)
	hs.Header["kid"] = "rsa-1"
	hsToken, _ := hs.SignedString([]byte("secret"))
	return []string{rs, es, noneToken, hsToken, "a.b.c", "..", "e30.e30.", "eyJhbGciOiJSUzI1NiIsImtpZCI6InJzYS0xIn0.e30.AAAA"}
}

// FuzzJWTVerify: the verifier never panics and never accepts a token it
// did not see signed by the provider's keys (fresh on every run, so no
// input can carry a valid signature).
func FuzzJWTVerify(f *testing.F) {
	p := newIDP(f)
	p.publish("rsa-1", rsaKey(f))
	p.publish("ec-1", ecKey(f))
	v, err := auth.NewJWTVerifier(p.config(), nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, tok := range forgedTokens(f, p) {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, token string) {
		pr, err := v.Authenticate(context.Background(), token)
		if err == nil {
			t.Fatalf("accepted %q as %+v", token, pr)
		}
		if !errors.Is(err, auth.ErrInvalidCredential) {
			t.Fatalf("%q: want ErrInvalidCredential, got %v", token, err)
		}
	})
}

// FuzzJWTClaims signs arbitrary claims with the provider's key: the
// verifier never panics, and what it accepts has the provider's issuer,
// the audience, a sub, a live exp and valid bindings.
func FuzzJWTClaims(f *testing.F) {
	p := newIDP(f)
	key := ecKey(f)
	p.publish("ec-1", key)
	now := time.Unix(1_800_000_000, 0)
	v, err := auth.NewJWTVerifier(p.config(), func() time.Time { return now }, nil)
	if err != nil {
		f.Fatal(err)
	}
	// Seeds name the issuer as ISSUER: the provider's URL changes per run.
	for _, c := range []string{
		`{"iss":"ISSUER","aud":"verkosto","sub":"u1","exp":1800000600,"verkosto_bindings":["admin"]}`,
		`{"iss":"ISSUER","aud":["other","verkosto"],"sub":"u1","exp":1800000600,"nbf":1800000000,"iat":1800000000,"verkosto_bindings":"partner:region=lappi","verkosto_person_id":"p1","name":"N"}`,
		`{"iss":"ISSUER","aud":"verkosto","sub":"u1","exp":1799999999}`,
		`{"iss":"ISSUER","aud":"verkosto","sub":"","exp":1800000600}`,
		`{"iss":"ISSUER","aud":"verkosto","sub":"u1","exp":"1800000600"}`,
		`{"iss":"ISSUER","aud":"verkosto","sub":"u1","exp":1e400}`,
		`{"iss":"ISSUER","aud":"verkosto","sub":"u1","exp":1800000600,"verkosto_bindings":["partner","admin"]}`,
		`{"iss":"ISSUER","aud":"verkosto","sub":"u1","exp":1800000600,"verkosto_bindings":[null,{}]}`,
		`[]`, `null`, `{"iss":"ISSUER"`,
	} {
		f.Add([]byte(c))
	}
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"ES256","kid":"ec-1","typ":"JWT"}`))
	f.Fuzz(func(t *testing.T, claims []byte) {
		claims = []byte(strings.ReplaceAll(string(claims), "ISSUER", p.URL()))
		signing := header + "." + enc.EncodeToString(claims)
		digest := sha256.Sum256([]byte(signing))
		r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		pr, err := v.Authenticate(context.Background(), signing+"."+enc.EncodeToString(sig))
		if err != nil {
			if !errors.Is(err, auth.ErrInvalidCredential) {
				t.Fatalf("want ErrInvalidCredential, got %v", err)
			}
			return
		}
		var c jwt.MapClaims
		if err := json.Unmarshal(claims, &c); err != nil {
			t.Fatalf("accepted claims that do not parse: %v", err)
		}
		iss, _ := c.GetIssuer()
		aud, _ := c.GetAudience()
		exp, _ := c.GetExpirationTime()
		sub, _ := c.GetSubject()
		switch {
		case iss != p.URL():
			t.Fatalf("accepted issuer %q", iss)
		case !slices.Contains(aud, testAudience):
			t.Fatalf("accepted audience %v", aud)
		case exp == nil || exp.Add(auth.DefaultLeeway).Before(now):
			t.Fatalf("accepted exp %v at %v", exp, now)
		case sub == "" || pr.CredentialID != "oidc:"+iss+"#"+sub:
			t.Fatalf("accepted sub %q as %q", sub, pr.CredentialID)
		}
		partners := 0
		for _, b := range pr.Bindings {
			if err := b.Validate(); err != nil {
				t.Fatalf("accepted invalid binding %+v", b)
			}
			if b.Role == auth.RolePartner {
				partners++
			}
		}
		if partners > 0 && partners != len(pr.Bindings) {
			t.Fatalf("accepted partner bindings mixed with others: %+v", pr.Bindings)
		}
	})
}
