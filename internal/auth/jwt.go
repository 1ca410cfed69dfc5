package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults of OIDCConfig.
const (
	DefaultBindingsClaim = "verkosto_bindings"
	DefaultPersonIDClaim = "verkosto_person_id"
	// DefaultLeeway tolerates clock skew between Verkosto and the identity
	// provider on exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// DefaultRefetchInterval bounds how often the key set is fetched: a flood
	// of tokens with unknown key ids costs the provider at most one request
	// per interval.
	DefaultRefetchInterval = 30 * time.Second
	// DefaultKeysMaxAge is how long a fetched key set is used before it is
	// fetched again, so keys the provider withdrew stop working.
	DefaultKeysMaxAge = time.Hour
)

// DefaultAlgorithms are the signature algorithms accepted unless configured.
var DefaultAlgorithms = []string{"RS256", "ES256"}

// supportedAlgorithms are the asymmetric algorithms a key set can verify.
// "none" and the HMAC algorithms are never accepted: a verifier that holds
// only public keys must not treat one as a shared secret.
var supportedAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"}

const (
	maxTokenBytes    = 16 << 10
	maxDocumentBytes = 1 << 20
	maxKeyIDLength   = 256
	minRSABits       = 2048
	maxRSABits       = 8192
	fetchTimeout     = 10 * time.Second
)

// OIDCConfig lets a welfare region's own identity provider issue bearer
// tokens: JSON Web Tokens signed with a key of the provider's key set.
type OIDCConfig struct {
	// Issuer is the provider's issuer URL, exactly as in the tokens' iss.
	Issuer string
	// Audience must be one of the tokens' aud values.
	Audience string
	// JWKSURL is the key set; empty discovers it from
	// <Issuer>/.well-known/openid-configuration (jwks_uri).
	JWKSURL string
	// Algorithms accepted; empty is DefaultAlgorithms.
	Algorithms []string
	// BindingsClaim holds the role bindings, a list of strings like
	// "coordinator:region=pohjois-pohjanmaa,programme=lape"; empty is
	// DefaultBindingsClaim.
	BindingsClaim string
	// PersonIDClaim holds the person id; empty is DefaultPersonIDClaim.
	PersonIDClaim string
	// Leeway on exp, nbf and iat; zero is DefaultLeeway.
	Leeway time.Duration
	// RefetchInterval is the least time between two key set fetches; zero
	// is DefaultRefetchInterval.
	RefetchInterval time.Duration
	// KeysMaxAge: zero is DefaultKeysMaxAge.
	KeysMaxAge time.Duration
	// HTTPClient fetches discovery and keys; nil uses one with a timeout.
	HTTPClient *http.Client
}

// JWTVerifier authenticates JSON Web Tokens of one OIDC provider.
type JWTVerifier struct {
	cfg    OIDCConfig
	now    func() time.Time
	log    *slog.Logger
	parser *jwt.Parser

	mu        sync.RWMutex
	keys      map[string]publicKey
	loaded    bool
	fetchedAt time.Time

	fetchMu     sync.Mutex // held while fetching; guards the fields below
	lastAttempt time.Time
	jwksURL     string
}

type publicKey struct {
	key crypto.PublicKey
	alg string // the JWK's alg, when it names one
}

// errKeysUnavailable: the key set could not be fetched yet, so no token can
// be checked (the interceptor answers UNAVAILABLE, not UNAUTHENTICATED).
var errKeysUnavailable = errors.New("identity provider keys unavailable")

// NewJWTVerifier checks cfg and returns a verifier; keys are fetched on first
// use. now and logger may be nil.
func NewJWTVerifier(cfg OIDCConfig, now func() time.Time, logger *slog.Logger) (*JWTVerifier, error) {
	if now == nil {
		now = time.Now
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Issuer == "" {
		return nil, errors.New("oidc: issuer is required")
	}
	if err := checkProviderURL(cfg.Issuer); err != nil {
		return nil, fmt.Errorf("oidc: issuer: %w", err)
	}
	if strings.TrimSpace(cfg.Audience) == "" {
		return nil, errors.New("oidc: audience is required")
	}
	if cfg.JWKSURL != "" {
		if err := checkProviderURL(cfg.JWKSURL); err != nil {
			return nil, fmt.Errorf("oidc: jwks url: %w", err)
		}
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = DefaultAlgorithms
	}
	for _, alg := range cfg.Algorithms {
		if !slices.Contains(supportedAlgorithms, alg) {
			return nil, fmt.Errorf("oidc: algorithm %q is not accepted (one of %s; never none or HMAC)", alg, strings.Join(supportedAlgorithms, ", "))
		}
	}
	cfg.Algorithms = slices.Clone(cfg.Algorithms)
	if cfg.BindingsClaim == "" {
		cfg.BindingsClaim = DefaultBindingsClaim
	}
	if cfg.PersonIDClaim == "" {
		cfg.PersonIDClaim = DefaultPersonIDClaim
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultLeeway
	}
	if cfg.Leeway < 0 || cfg.Leeway > 5*time.Minute {
		return nil, errors.New("oidc: leeway must be between 0 and 5 minutes")
	}
	if cfg.RefetchInterval <= 0 {
		cfg.RefetchInterval = DefaultRefetchInterval
	}
	if cfg.KeysMaxAge <= 0 {
		cfg.KeysMaxAge = DefaultKeysMaxAge
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: fetchTimeout}
	}
	return &JWTVerifier{
		cfg: cfg,
		now: now,
		log: logger.With("oidc_issuer", cfg.Issuer),
		parser: jwt.NewParser(
			jwt.WithValidMethods(cfg.Algorithms),
			jwt.WithIssuer(cfg.Issuer),
			jwt.WithAudience(cfg.Audience),
			jwt.WithExpirationRequired(),
			jwt.WithIssuedAt(),
			jwt.WithLeeway(cfg.Leeway),
			jwt.WithTimeFunc(now),
		),
	}, nil
}

// checkProviderURL accepts https URLs, and http ones on the loopback
// interface only (a provider on the same host, tests).
func checkProviderURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", s)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("%q must not have a query or fragment", s)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return fmt.Errorf("%q must be https (http only on the loopback interface)", s)
}

// Authenticate verifies a token and maps its claims to a principal. A token
// that is malformed, badly signed, expired, not yet valid, for another issuer
// or audience, or whose bindings do not parse is ErrInvalidCredential.
func (v *JWTVerifier) Authenticate(ctx context.Context, token string) (*Principal, error) {
	p, err := v.verify(ctx, token)
	if err != nil {
		if errors.Is(err, errKeysUnavailable) {
			return nil, err
		}
		v.log.Debug("bearer token refused", "err", err)
		return nil, fmt.Errorf("%w: %v", ErrInvalidCredential, err)
	}
	return p, nil
}

func (v *JWTVerifier) verify(ctx context.Context, token string) (*Principal, error) {
	if len(token) > maxTokenBytes {
		return nil, errors.New("token too long")
	}
	claims := jwt.MapClaims{}
	if _, err := v.parser.ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) { return v.keyFor(ctx, t) }); err != nil {
		return nil, err
	}
	return v.principal(claims)
}

// keyFor finds the key that must have signed t: by its kid, of a type that
// fits its alg.
func (v *JWTVerifier) keyFor(ctx context.Context, t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	if kid == "" || len(kid) > maxKeyIDLength {
		return nil, errors.New("token has no usable kid")
	}
	alg := t.Method.Alg()
	k, err := v.key(ctx, kid)
	if err != nil {
		return nil, err
	}
	if k.alg != "" && k.alg != alg {
		return nil, fmt.Errorf("key %q is for %s, token says %s", kid, k.alg, alg)
	}
	if !keyFits(k.key, alg) {
		return nil, fmt.Errorf("key %q does not fit algorithm %s", kid, alg)
	}
	return k.key, nil
}

// keyFits reports whether key is of the kind alg verifies with.
func keyFits(key crypto.PublicKey, alg string) bool {
	switch k := key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		switch alg {
		case "ES256":
			return k.Curve == elliptic.P256()
		case "ES384":
			return k.Curve == elliptic.P384()
		case "ES512":
			return k.Curve == elliptic.P521()
		}
	}
	return false
}

// key returns the key with the id, fetching the key set when it was never
// fetched, is older than KeysMaxAge, or lacks the id (at most once per
// RefetchInterval).
func (v *JWTVerifier) key(ctx context.Context, kid string) (publicKey, error) {
	v.mu.RLock()
	k, ok := v.keys[kid]
	fresh := v.loaded && v.now().Sub(v.fetchedAt) < v.cfg.KeysMaxAge
	v.mu.RUnlock()
	if ok && fresh {
		return k, nil
	}
	if ok {
		// A stale key still verifies while another call refreshes the set.
		if !v.fetchMu.TryLock() {
			return k, nil
		}
		v.refreshLocked(ctx)
		v.fetchMu.Unlock()
	} else {
		v.refresh(ctx)
	}
	v.mu.RLock()
	k, ok = v.keys[kid]
	loaded := v.loaded
	v.mu.RUnlock()
	switch {
	case ok:
		return k, nil
	case !loaded:
		return publicKey{}, errKeysUnavailable
	}
	return publicKey{}, fmt.Errorf("unknown kid %q", kid)
}

// refresh fetches the key set unless one was fetched (or tried) within
// RefetchInterval. Concurrent callers wait for one fetch.
func (v *JWTVerifier) refresh(ctx context.Context) {
	v.fetchMu.Lock()
	defer v.fetchMu.Unlock()
	v.refreshLocked(ctx)
}

// refreshLocked is refresh with fetchMu held.
func (v *JWTVerifier) refreshLocked(ctx context.Context) {
	now := v.now()
	if !v.lastAttempt.IsZero() && now.Sub(v.lastAttempt) < v.cfg.RefetchInterval {
		return
	}
	v.lastAttempt = now
	// The caller may give up; the fetch serves every caller after it.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), fetchTimeout)
	defer cancel()
	keys, err := v.fetch(ctx)
	if err != nil {
		v.log.Warn("cannot fetch the identity provider's keys; retrying after the refetch interval",
			"err", err, "interval", v.cfg.RefetchInterval)
		return
	}
	v.mu.Lock()
	v.keys, v.loaded, v.fetchedAt = keys, true, now
	v.mu.Unlock()
	v.log.Debug("identity provider keys fetched", "keys", len(keys))
}

// fetch reads the key set, discovering its URL first when needed. Called
// with fetchMu held.
func (v *JWTVerifier) fetch(ctx context.Context) (map[string]publicKey, error) {
	jwksURL := v.cfg.JWKSURL
	if jwksURL == "" {
		if v.jwksURL == "" {
			u, err := v.discover(ctx)
			if err != nil {
				return nil, err
			}
			v.jwksURL = u
		}
		jwksURL = v.jwksURL
	}
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := v.getJSON(ctx, jwksURL, &set); err != nil {
		v.jwksURL = "" // discover again next time: the provider may have moved it
		return nil, fmt.Errorf("key set: %w", err)
	}
	keys := map[string]publicKey{}
	for i, raw := range set.Keys {
		kid, k, err := parseJWK(raw, v.cfg.Algorithms)
		if err != nil {
			v.log.Debug("key of the key set skipped", "index", i, "err", err)
			continue
		}
		if _, dup := keys[kid]; dup {
			v.log.Warn("key set lists a kid twice; using the first", "kid", kid)
			continue
		}
		keys[kid] = k
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("key set at %s has no usable signing key", jwksURL)
	}
	return keys, nil
}

// discover reads jwks_uri from the provider's OpenID configuration.
func (v *JWTVerifier) discover(ctx context.Context) (string, error) {
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	u := strings.TrimSuffix(v.cfg.Issuer, "/") + "/.well-known/openid-configuration"
	if err := v.getJSON(ctx, u, &doc); err != nil {
		return "", fmt.Errorf("discovery: %w", err)
	}
	if doc.Issuer != v.cfg.Issuer {
		return "", fmt.Errorf("discovery: %s names issuer %q, not %q", u, doc.Issuer, v.cfg.Issuer)
	}
	if err := checkProviderURL(doc.JWKSURI); err != nil {
		return "", fmt.Errorf("discovery: jwks_uri: %w", err)
	}
	return doc.JWKSURI, nil
}

func (v *JWTVerifier) getJSON(ctx context.Context, u string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	res, err := v.cfg.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, res.Status)
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, maxDocumentBytes+1))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if len(body) > maxDocumentBytes {
		return fmt.Errorf("GET %s: larger than %d bytes", u, maxDocumentBytes)
	}
	if err := json.Unmarshal(body, into); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}

// jwk is the part of a JSON Web Key (RFC 7517, 7518) Verkosto reads.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWK reads one public signing key: RSA (n, e) or EC (crv, x, y).
func parseJWK(raw []byte, algorithms []string) (string, publicKey, error) {
	var j jwk
	if err := json.Unmarshal(raw, &j); err != nil {
		return "", publicKey{}, err
	}
	if j.Kid == "" || len(j.Kid) > maxKeyIDLength {
		return "", publicKey{}, errors.New("no usable kid")
	}
	if j.Use != "" && j.Use != "sig" {
		return "", publicKey{}, fmt.Errorf("key %q is for %q, not signatures", j.Kid, j.Use)
	}
	if j.Alg != "" && !slices.Contains(algorithms, j.Alg) {
		return "", publicKey{}, fmt.Errorf("key %q is for algorithm %q, which is not accepted", j.Kid, j.Alg)
	}
	var (
		key crypto.PublicKey
		err error
	)
	switch j.Kty {
	case "RSA":
		key, err = rsaKey(j)
	case "EC":
		key, err = ecKey(j)
	default:
		err = fmt.Errorf("key type %q is not supported", j.Kty)
	}
	if err != nil {
		return "", publicKey{}, fmt.Errorf("key %q: %w", j.Kid, err)
	}
	if j.Alg != "" && !keyFits(key, j.Alg) {
		return "", publicKey{}, fmt.Errorf("key %q does not fit its algorithm %s", j.Kid, j.Alg)
	}
	return j.Kid, publicKey{key: key, alg: j.Alg}, nil
}

func rsaKey(j jwk) (*rsa.PublicKey, error) {
	n, err := base64.RawURLEncoding.DecodeString(j.N)
	if err != nil {
		return nil, fmt.Errorf("n: %w", err)
	}
	e, err := base64.RawURLEncoding.DecodeString(j.E)
	if err != nil {
		return nil, fmt.Errorf("e: %w", err)
	}
	modulus := new(big.Int).SetBytes(n)
	if bits := modulus.BitLen(); bits < minRSABits || bits > maxRSABits {
		return nil, fmt.Errorf("RSA modulus of %d bits (want %d to %d)", bits, minRSABits, maxRSABits)
	}
	exp := new(big.Int).SetBytes(e)
	if !exp.IsInt64() || exp.Int64() < 3 || exp.Int64() > 1<<31-1 || exp.Bit(0) == 0 {
		return nil, errors.New("RSA exponent must be odd, at least 3 and fit 31 bits")
	}
	return &rsa.PublicKey{N: modulus, E: int(exp.Int64())}, nil
}

func ecKey(j jwk) (*ecdsa.PublicKey, error) {
	var (
		curve elliptic.Curve
		size  int
	)
	switch j.Crv {
	case "P-256":
		curve, size = elliptic.P256(), 32
	case "P-384":
		curve, size = elliptic.P384(), 48
	case "P-521":
		curve, size = elliptic.P521(), 66
	default:
		return nil, fmt.Errorf("curve %q is not supported", j.Crv)
	}
	x, err := base64.RawURLEncoding.DecodeString(j.X)
	if err != nil {
		return nil, fmt.Errorf("x: %w", err)
	}
	y, err := base64.RawURLEncoding.DecodeString(j.Y)
	if err != nil {
		return nil, fmt.Errorf("y: %w", err)
	}
	if len(x) != size || len(y) != size {
		return nil, fmt.Errorf("%s coordinates must be %d bytes", j.Crv, size)
	}
	point := append(append([]byte{4}, x...), y...)
	// Checks that the point is on the curve.
	return ecdsa.ParseUncompressedPublicKey(curve, point)
}

// principal maps verified claims to a principal: bindings from
// BindingsClaim, the person from PersonIDClaim, the name from name or sub.
func (v *JWTVerifier) principal(claims jwt.MapClaims) (*Principal, error) {
	sub, _ := claims["sub"].(string)
	if sub == "" {
		return nil, errors.New("token has no sub")
	}
	iss, _ := claims["iss"].(string)
	p := &Principal{CredentialID: "oidc:" + iss + "#" + sub, Name: sub}
	if name, ok := claims["name"].(string); ok && strings.TrimSpace(name) != "" {
		p.Name = name
	}
	if raw, present := claims[v.cfg.PersonIDClaim]; present {
		id, ok := raw.(string)
		if !ok {
			return nil, fmt.Errorf("claim %s must be a string", v.cfg.PersonIDClaim)
		}
		p.PersonID = id
	}
	var list []string
	switch raw := claims[v.cfg.BindingsClaim].(type) {
	case nil:
	case string: // providers render a one-value list as a string
		list = []string{raw}
	case []any:
		for _, item := range raw {
			s, ok := item.(string)
			if !ok {
				return nil, fmt.Errorf("claim %s must list strings", v.cfg.BindingsClaim)
			}
			list = append(list, s)
		}
	default:
		return nil, fmt.Errorf("claim %s must be a list of strings", v.cfg.BindingsClaim)
	}
	partner := 0
	for _, s := range list {
		b, err := ParseBinding(s)
		if err != nil {
			return nil, fmt.Errorf("claim %s: binding %q: %w", v.cfg.BindingsClaim, s, err)
		}
		if b.Role == RolePartner {
			partner++
		}
		p.Bindings = append(p.Bindings, b)
	}
	// As with stored credentials: a partner is only a partner, or its
	// other bindings would let it read every region.
	if partner > 0 && partner < len(p.Bindings) {
		return nil, fmt.Errorf("claim %s mixes partner and other bindings", v.cfg.BindingsClaim)
	}
	return p, nil
}

// Tokens authenticates both kinds of bearer tokens: Verkosto credentials
// ("vk_...") with the credential store, JSON Web Tokens (three dotted parts)
// with the OIDC verifier when one is configured.
type Tokens struct {
	Credentials Authenticator
	// JWT is nil when no OIDC provider is configured: every JWT is refused.
	JWT Authenticator
}

// Authenticate implements Authenticator.
func (t Tokens) Authenticate(ctx context.Context, secret string) (*Principal, error) {
	switch {
	case strings.HasPrefix(secret, tokenPrefix):
		return t.Credentials.Authenticate(ctx, secret)
	case strings.Count(secret, ".") == 2 && t.JWT != nil:
		return t.JWT.Authenticate(ctx, secret)
	}
	return nil, ErrInvalidCredential
}

// NewAuthenticator authenticates with the credential store and, when oidc is
// set, with JWTs of that provider.
func NewAuthenticator(store *Store, oidc *OIDCConfig, now func() time.Time, logger *slog.Logger) (Authenticator, error) {
	t := Tokens{Credentials: store}
	if oidc != nil {
		v, err := NewJWTVerifier(*oidc, now, logger)
		if err != nil {
			return nil, err
		}
		t.JWT = v
	}
	return t, nil
}
