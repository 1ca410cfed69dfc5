package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	natsserver "github.com/nats-io/nats-server/v2/server"

	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/embedded/pgserver"
	"github.com/verkosto/verkosto/internal/natsd"
	"github.com/verkosto/verkosto/internal/server"
)

// config is the shared configuration of the commands that reach the database.
type config struct {
	addr        string
	dataDir     string
	services    string
	natsListen  string
	databaseURL string
	natsURL     string
	logLevel    string
	replicas    int
	streamAge   time.Duration
	outboxKeep  time.Duration
	limits      server.Limits
	settings    settings
	oidc        auth.OIDCConfig
}

// settings are service settings given as --setting name=value (repeatable)
// or VERKOSTO_SETTINGS="name=value,name=value", e.g.
// nominations.term_notice=720h.
type settings map[string]string

func (s settings) String() string {
	var parts []string
	for k, v := range s {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, ",")
}

// envSettings adds the settings of VERKOSTO_SETTINGS that no --setting gave.
func (c *config) envSettings() error {
	for _, kv := range splitList(os.Getenv("VERKOSTO_SETTINGS")) {
		k, _, _ := strings.Cut(kv, "=")
		if _, given := c.settings[strings.TrimSpace(k)]; given {
			continue
		}
		if err := c.settings.Set(kv); err != nil {
			return fmt.Errorf("VERKOSTO_SETTINGS: %w", err)
		}
	}
	return nil
}

func (s settings) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	if k = strings.TrimSpace(k); !ok || k == "" || !strings.Contains(k, ".") {
		return fmt.Errorf("want <service>.<name>=<value>, e.g. nominations.term_notice=720h; got %q", kv)
	}
	s[k] = strings.TrimSpace(v)
	return nil
}

// flags registers the flags; each also reads VERKOSTO_<NAME> from the
// environment (e.g. VERKOSTO_ADDR), and DATABASE_URL / NATS_URL as is.
func (c *config) flags(fs *flag.FlagSet, withServer bool) {
	fs.StringVar(&c.dataDir, "data-dir", env("VERKOSTO_DATA_DIR", ".verkosto"), "where the embedded PostgreSQL and NATS keep their data")
	fs.StringVar(&c.databaseURL, "database-url", os.Getenv("DATABASE_URL"), "PostgreSQL URL; empty starts a private PostgreSQL in --data-dir (env DATABASE_URL)")
	fs.StringVar(&c.logLevel, "log-level", env("VERKOSTO_LOG_LEVEL", "info"), "debug, info, warn or error")
	fs.StringVar(&c.services, "services", env("VERKOSTO_SERVICES", "all"), "services to run: all, or names separated by commas")
	if withServer {
		fs.StringVar(&c.addr, "addr", env("VERKOSTO_ADDR", "127.0.0.1:8080"), "RPC listen address (Connect, gRPC, gRPC-Web)")
		fs.StringVar(&c.natsListen, "nats-listen", env("VERKOSTO_NATS_LISTEN", "127.0.0.1:4222"), "listen address of the embedded NATS server")
		fs.StringVar(&c.natsURL, "nats-url", os.Getenv("NATS_URL"), "NATS URL; empty starts an embedded NATS server (env NATS_URL)")
		fs.IntVar(&c.replicas, "stream-replicas", envInt("VERKOSTO_STREAM_REPLICAS", 1), "replicas of the changes stream (3 on a NATS cluster)")
		fs.DurationVar(&c.streamAge, "stream-max-age", envDuration("VERKOSTO_STREAM_MAX_AGE", 30*24*time.Hour),
			"how long the changes stream keeps changes: the oldest cursor the change feed accepts")
		fs.Float64Var(&c.limits.PerSecond, "rate-limit", envFloat("VERKOSTO_RATE_LIMIT", server.DefaultLimits.PerSecond),
			"calls per second each credential (anonymous: each address) may make; 0 = unlimited")
		fs.IntVar(&c.limits.Burst, "rate-burst", envInt("VERKOSTO_RATE_BURST", server.DefaultLimits.Burst), "calls a credential may make at once above the rate")
		fs.DurationVar(&c.limits.UnaryTimeout, "call-timeout", envDuration("VERKOSTO_CALL_TIMEOUT", server.DefaultLimits.UnaryTimeout),
			"longest a unary call may run, database queries included")
		c.settings = settings{}
		fs.Var(c.settings, "setting", "a service setting name=value, repeatable (env VERKOSTO_SETTINGS, comma-separated), "+
			"e.g. nominations.term_notice=720h, nominations.term_job_interval=24h")
		fs.DurationVar(&c.outboxKeep, "outbox-retention", envDuration("VERKOSTO_OUTBOX_RETENTION", 7*24*time.Hour),
			"how long published changes stay in the outbox, from where a lost stream tail is republished")
		fs.StringVar(&c.oidc.Issuer, "oidc-issuer", os.Getenv("VERKOSTO_OIDC_ISSUER"), "issuer URL of an OIDC provider whose JWTs are accepted as bearer tokens; empty accepts only vk_ credentials")
		fs.StringVar(&c.oidc.Audience, "oidc-audience", os.Getenv("VERKOSTO_OIDC_AUDIENCE"), "audience the OIDC provider's tokens must name")
		fs.StringVar(&c.oidc.JWKSURL, "oidc-jwks-url", os.Getenv("VERKOSTO_OIDC_JWKS_URL"), "the provider's key set; empty discovers it from the issuer")
	}
}

// oidcConfig is the OIDC provider to accept JWTs of; nil when no --oidc-* flag is set.
func (c *config) oidcConfig() *auth.OIDCConfig {
	if c.oidc.Issuer == "" && c.oidc.Audience == "" && c.oidc.JWKSURL == "" {
		return nil
	}
	return &c.oidc
}

func env(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func envInt(name string, def int) int {
	var v int
	if _, err := fmt.Sscan(os.Getenv(name), &v); err == nil {
		return v
	}
	return def
}

func envFloat(name string, def float64) float64 {
	var v float64
	if _, err := fmt.Sscan(os.Getenv(name), &v); err == nil {
		return v
	}
	return def
}

func envDuration(name string, def time.Duration) time.Duration {
	if d, err := time.ParseDuration(os.Getenv(name)); err == nil {
		return d
	}
	return def
}

func (c *config) logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// database returns a pool: DATABASE_URL's, or a private PostgreSQL started in
// the data directory. stop ends what was started.
func (c *config) database(ctx context.Context, logger *slog.Logger) (pool *pgxpool.Pool, stop func(), err error) {
	url := c.databaseURL
	stop = func() {}
	if url == "" {
		dir, err := filepath.Abs(filepath.Join(c.dataDir, "postgres"))
		if err != nil {
			return nil, nil, err
		}
		pg, err := pgserver.Start(ctx, pgserver.Options{Dir: dir, Logger: logger})
		if err != nil {
			return nil, nil, err
		}
		stop = func() {
			sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := pg.Stop(sctx); err != nil {
				logger.Warn("stop PostgreSQL", "err", err)
			}
		}
		if err := ensureDatabase(ctx, pg.URL("postgres"), "verkosto"); err != nil {
			stop()
			return nil, nil, err
		}
		url = pg.URL("verkosto")
		logger.Info("embedded PostgreSQL", "dir", dir, "url", url)
	}
	pool, err = db.Open(ctx, url)
	if err != nil {
		stop()
		return nil, nil, err
	}
	stopServer := stop
	return pool, func() { pool.Close(); stopServer() }, nil
}

func ensureDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect embedded PostgreSQL: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if !exists {
		if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize()); err != nil {
			return fmt.Errorf("create database %s: %w", name, err)
		}
	}
	return nil
}

// natsServer starts the embedded NATS server unless NATS_URL is set, and
// returns the URL to connect to.
func (c *config) natsServer(logger *slog.Logger) (url string, stop func(), err error) {
	if c.natsURL != "" {
		return c.natsURL, func() {}, nil
	}
	dir, err := filepath.Abs(filepath.Join(c.dataDir, "nats"))
	if err != nil {
		return "", nil, err
	}
	var ns *natsserver.Server
	ns, err = natsd.Start(natsd.Options{Listen: c.natsListen, StoreDir: dir, Logger: logger})
	if err != nil {
		return "", nil, err
	}
	return ns.ClientURL(), func() { ns.Shutdown(); ns.WaitForShutdown() }, nil
}

// checkDatabaseSetup fails at once, before anything slow, when neither
// DATABASE_URL nor PostgreSQL's binaries are there.
func (c *config) checkDatabaseSetup() error {
	if c.databaseURL != "" {
		return nil
	}
	if err := pgserver.CheckBinaries(context.Background()); err != nil {
		if errors.Is(err, pgserver.ErrBinariesMissing) {
			return err
		}
		return fmt.Errorf("check PostgreSQL binaries: %w", err)
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
