package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/ids"
)

// Schema owns the credentials.
const Schema = "auth"

//go:embed migrations/*.sql
var Migrations embed.FS

// tokenPrefix marks Verkosto secrets so secret scanners can find leaked ones.
const tokenPrefix = "vk_"

// ErrInvalidCredential is returned for unknown, expired and revoked secrets alike,
// so a caller cannot tell which.
var ErrInvalidCredential = errors.New("invalid credential")

// CacheTTL is how long Authenticate trusts a principal it looked up: a
// credential revoked (or changed) in another process, e.g. by `verkosto
// token revoke`, stops working within this time. Revoking through the same
// Store, and expiry, take effect at once.
const CacheTTL = 5 * time.Second

// cacheMax bounds the cached principals; beyond it the cache starts over.
const cacheMax = 10_000

// Store keeps credentials.
type Store struct {
	pool *pgxpool.Pool
	now  func() time.Time

	mu    sync.Mutex
	cache map[[sha256.Size]byte]cachedPrincipal
}

type cachedPrincipal struct {
	p       *Principal
	expires *time.Time // the credential's own expiry
	until   time.Time  // end of trust in the cached lookup
}

// NewStore returns a credential store over pool.
func NewStore(pool *pgxpool.Pool, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{pool: pool, now: now, cache: map[[sha256.Size]byte]cachedPrincipal{}}
}

func (s *Store) forget() {
	s.mu.Lock()
	clear(s.cache)
	s.mu.Unlock()
}

// NewCredential is what Create mints.
type NewCredential struct {
	Name     string
	Kind     string // "personal" (default) or "partner"
	PersonID string
	Bindings []Binding
	// TTL of the credential; zero means it does not expire.
	TTL time.Duration
	// ExpiresAt is when the credential expires, instead of a TTL.
	ExpiresAt time.Time
}

// Credential is a stored credential without its secret.
type Credential struct {
	ID        string
	Name      string
	Kind      string
	PersonID  string
	Bindings  []Binding
	CreatedAt time.Time
	ExpiresAt *time.Time
	RevokedAt *time.Time
}

// Create mints a credential and returns its id and secret; the secret is
// shown once and only its hash is kept.
func (s *Store) Create(ctx context.Context, c NewCredential) (id, secret string, err error) {
	if strings.TrimSpace(c.Name) == "" {
		return "", "", errors.New("credential name is required")
	}
	if c.Kind == "" {
		c.Kind = "personal"
	}
	if c.Kind != "personal" && c.Kind != "partner" {
		return "", "", fmt.Errorf("credential kind %q: want personal or partner", c.Kind)
	}
	if len(c.Bindings) == 0 {
		return "", "", errors.New("a credential needs at least one role binding")
	}
	for _, b := range c.Bindings {
		if err := b.Validate(); err != nil {
			return "", "", err
		}
		if (b.Role == RolePartner) != (c.Kind == "partner") {
			return "", "", errors.New("partner bindings belong to partner credentials only, and partner credentials have only partner bindings")
		}
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", "", fmt.Errorf("generate secret: %w", err)
	}
	secret = tokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	bindings, err := json.Marshal(c.Bindings)
	if err != nil {
		return "", "", fmt.Errorf("encode bindings: %w", err)
	}
	now := s.now()
	var expires *time.Time
	switch {
	case c.TTL > 0 && !c.ExpiresAt.IsZero():
		return "", "", errors.New("a credential takes a TTL or an expiry time, not both")
	case c.TTL > 0:
		t := now.Add(c.TTL)
		expires = &t
	case !c.ExpiresAt.IsZero():
		if !c.ExpiresAt.After(now) {
			return "", "", errors.New("a credential's expiry time must be in the future")
		}
		expires = &c.ExpiresAt
	}
	id = ids.New()
	_, err = s.pool.Exec(ctx, `INSERT INTO auth.credentials (id, name, kind, secret_hash, person_id, bindings, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, id, c.Name, c.Kind, hash(secret), c.PersonID, bindings, now, expires)
	if err != nil {
		return "", "", fmt.Errorf("store credential: %w", err)
	}
	return id, secret, nil
}

// Errors of Revoke and Get.
var (
	ErrCredentialNotFound = errors.New("credential not found")
	ErrAlreadyRevoked     = errors.New("credential already revoked")
)

// Revoke ends a credential at once: ErrCredentialNotFound when there is no
// such credential, ErrAlreadyRevoked when it was revoked before.
func (s *Store) Revoke(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE auth.credentials SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL`, id, s.now())
	if err != nil {
		return fmt.Errorf("revoke credential: %w", err)
	}
	s.forget()
	if tag.RowsAffected() == 0 {
		// Credentials are never deleted and revoked_at is never cleared:
		// a credential that exists now was revoked before.
		if _, err := s.Get(ctx, id); err != nil {
			return err
		}
		return fmt.Errorf("credential %s: %w", id, ErrAlreadyRevoked)
	}
	return nil
}

// RevokeByName revokes every live credential with the given name.
func (s *Store) RevokeByName(ctx context.Context, name string) error {
	_, err := s.pool.Exec(ctx, `UPDATE auth.credentials SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL`, name, s.now())
	if err != nil {
		return fmt.Errorf("revoke credentials named %q: %w", name, err)
	}
	s.forget()
	return nil
}

// Authenticate maps a secret to its principal. A principal found is trusted
// for CacheTTL without asking the database again (the lookup was a query on
// every call); unknown secrets are always looked up.
func (s *Store) Authenticate(ctx context.Context, secret string) (*Principal, error) {
	if !strings.HasPrefix(secret, tokenPrefix) {
		return nil, ErrInvalidCredential
	}
	key := sha256.Sum256([]byte(secret))
	now := s.now()
	s.mu.Lock()
	c, ok := s.cache[key]
	s.mu.Unlock()
	if ok && now.Before(c.until) && (c.expires == nil || c.expires.After(now)) {
		return c.p, nil
	}
	var (
		p        Principal
		bindings []byte
		expires  *time.Time
	)
	err := s.pool.QueryRow(ctx, `SELECT id::text, name, person_id, bindings, expires_at FROM auth.credentials
		WHERE secret_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)`,
		key[:], now).Scan(&p.CredentialID, &p.Name, &p.PersonID, &bindings, &expires)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrInvalidCredential
	}
	if err != nil {
		return nil, fmt.Errorf("look up credential: %w", err)
	}
	if err := json.Unmarshal(bindings, &p.Bindings); err != nil {
		return nil, fmt.Errorf("decode bindings of credential %s: %w", p.CredentialID, err)
	}
	s.mu.Lock()
	if len(s.cache) >= cacheMax {
		clear(s.cache)
	}
	s.cache[key] = cachedPrincipal{p: &p, expires: expires, until: now.Add(CacheTTL)}
	s.mu.Unlock()
	return &p, nil
}

const credentialColumns = `id::text, name, kind, person_id, bindings, created_at, expires_at, revoked_at`

func scanCredential(row pgx.Row) (Credential, error) {
	var c Credential
	var b []byte
	if err := row.Scan(&c.ID, &c.Name, &c.Kind, &c.PersonID, &b, &c.CreatedAt, &c.ExpiresAt, &c.RevokedAt); err != nil {
		return c, err
	}
	return c, json.Unmarshal(b, &c.Bindings)
}

// List returns all credentials, newest first.
func (s *Store) List(ctx context.Context) ([]Credential, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+credentialColumns+` FROM auth.credentials ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Credential, error) { return scanCredential(row) })
}

// ListAfter returns up to limit credentials with ids after the given one
// ("" from the first), oldest first.
func (s *Store) ListAfter(ctx context.Context, after string, limit int) ([]Credential, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+credentialColumns+` FROM auth.credentials
		WHERE $1::uuid IS NULL OR id > $1::uuid ORDER BY id LIMIT $2`, db.Null(after), limit)
	if err != nil {
		return nil, fmt.Errorf("list credentials: %w", err)
	}
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (Credential, error) { return scanCredential(row) })
}

// Get returns one credential, or ErrCredentialNotFound.
func (s *Store) Get(ctx context.Context, id string) (Credential, error) {
	c, err := scanCredential(s.pool.QueryRow(ctx, `SELECT `+credentialColumns+` FROM auth.credentials WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("credential %s: %w", id, ErrCredentialNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("get credential: %w", err)
	}
	return c, nil
}

func hash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}
