package app

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/verkosto/verkosto/internal/audit"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/consume"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/outbox"
	"github.com/verkosto/verkosto/internal/reqid"
	"github.com/verkosto/verkosto/internal/server"
)

// Config is what an App is built from.
type Config struct {
	Modules []Module
	Pool    *pgxpool.Pool
	NATS    *nats.Conn
	Logger  *slog.Logger
	Now     func() time.Time
	// Settings are passed to the modules (see Deps.Settings).
	Settings map[string]string
	// StreamReplicas of the changes stream (3 on a NATS cluster).
	StreamReplicas int
	// StreamMaxAge bounds how long JetStream keeps changes (0: forever).
	StreamMaxAge time.Duration
	// OutboxRetention is how long sent outbox rows are kept.
	OutboxRetention time.Duration
	// Limits bound each caller (rate, unary deadline); zero is no limit.
	Limits server.Limits
	// ReconcileInterval is how often relays check the stream still holds
	// what it acknowledged (0: the relay's default).
	ReconcileInterval time.Duration
	// AfterPublish is passed to every relay (tests crash relays with it).
	AfterPublish func(ctx context.Context, changeIDs []string) error
	// OIDC, when set, also accepts JWTs of that identity provider.
	OIDC *auth.OIDCConfig
}

// App is a set of modules built and ready to serve.
type App struct {
	cfg      Config
	js       jetstream.JetStream
	services []*Service
	wakers   []*outbox.Waker // by module; nil without a schema
	handler  http.Handler
	Registry *prometheus.Registry
	// Policies of every served procedure.
	Policies auth.Policies
	// Trail is the audit trail.
	Trail *audit.Trail
	// Credentials is the credential store authentication reads (and caches).
	Credentials *auth.Store
}

// platformMigrations are created in every service schema: its outbox and its
// request ids.
var platformMigrations = []db.Migration{
	{Version: 1, Name: "0001_outbox_and_request_ids.sql", SQL: outbox.Migration + reqid.Migration},
	{Version: 2, Name: "0002_outbox_positions.sql", SQL: outbox.PositionsMigration},
	{Version: 3, Name: "0003_processed_changes.sql", SQL: consume.Migration},
	{Version: 4, Name: "0004_outbox_xid_index.sql", SQL: outbox.XidIndexMigration},
	{Version: 5, Name: "0005_outbox_wake_after_commit.sql", SQL: outbox.WakeMigration},
}

// PlatformFingerprint identifies the migrations every database gets besides
// the modules' own: the credentials and audit schemas, and the outbox,
// request id and processed change tables of each service schema.
func PlatformFingerprint() string {
	h := sha256.New()
	for _, m := range platformMigrations {
		fmt.Fprintf(h, "%d %s\n", m.Version, m.SQL)
	}
	for _, fsys := range []fs.FS{auth.Migrations, audit.Migrations} {
		ms, _ := db.LoadMigrations(fsys, "migrations")
		for _, m := range ms {
			fmt.Fprintf(h, "%d %s\n", m.Version, m.SQL)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Migrate brings the credentials schema and each module's schema up to date.
func Migrate(ctx context.Context, pool *pgxpool.Pool, modules []Module) error {
	authMigrations, err := db.LoadMigrations(auth.Migrations, "migrations")
	if err != nil {
		return err
	}
	if err := db.Migrate(ctx, pool, auth.Schema, auth.Schema, authMigrations); err != nil {
		return err
	}
	auditMigrations, err := db.LoadMigrations(audit.Migrations, "migrations")
	if err != nil {
		return err
	}
	if err := db.Migrate(ctx, pool, audit.Schema, audit.Schema, auditMigrations); err != nil {
		return err
	}
	for _, m := range modules {
		if m.Schema == "" {
			continue
		}
		if err := db.Migrate(ctx, pool, m.Schema, m.Schema+"/platform", platformMigrations); err != nil {
			return err
		}
		if err := db.Migrate(ctx, pool, m.Schema, m.Schema, m.Migrations); err != nil {
			return err
		}
	}
	return nil
}

// Build constructs the modules' services and the HTTP handler.
func Build(ctx context.Context, cfg Config) (*App, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	js, err := jetstream.New(cfg.NATS)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	reg := prometheus.NewRegistry()
	metrics := server.NewMetrics(reg)
	credentials := auth.NewStore(cfg.Pool, cfg.Now)
	authenticator, err := auth.NewAuthenticator(credentials, cfg.OIDC, cfg.Now, cfg.Logger)
	if err != nil {
		return nil, err
	}
	authn := auth.NewInterceptor(authenticator)
	trail := audit.NewTrail(cfg.Pool, cfg.Logger, cfg.Now)
	deps := Deps{
		Pool:           cfg.Pool,
		NATS:           cfg.NATS,
		JS:             js,
		Logger:         cfg.Logger,
		Now:            cfg.Now,
		HandlerOptions: server.HandlerOptions(cfg.Logger, metrics, cfg.Limits, trail.Interceptor(), authn),
		Settings:       cfg.Settings,
		Credentials:    credentials,
	}
	a := &App{cfg: cfg, js: js, Registry: reg, Trail: trail, Credentials: credentials}
	var names []string
	var mounts []server.Mount
	policies := auth.Policies{}
	for _, m := range cfg.Modules {
		var waker *outbox.Waker
		deps.WakeRelay = func() {}
		if m.Schema != "" {
			waker = outbox.NewWaker(cfg.Pool, m.Schema)
			deps.WakeRelay = waker.Wake
		}
		a.wakers = append(a.wakers, waker)
		svc, err := m.New(ctx, deps)
		if err != nil {
			return nil, fmt.Errorf("start service %s: %w", m.Name, err)
		}
		a.services = append(a.services, svc)
		if err := policies.Merge(svc.Policies); err != nil {
			return nil, fmt.Errorf("service %s: %w", m.Name, err)
		}
		names = append(names, svc.Names...)
		mounts = append(mounts, svc.Mounts...)
	}
	authn.SetPolicies(policies)
	a.Policies = policies
	a.handler = server.Handler(server.Config{
		Logger:   cfg.Logger,
		Services: names,
		Mounts:   mounts,
		Ready:    a.ready,
		Registry: reg,
	})
	return a, nil
}

// ServiceNames are the protobuf services served.
func (a *App) ServiceNames() []string {
	var out []string
	for _, s := range a.services {
		out = append(out, s.Names...)
	}
	return out
}

// Handler serves every module's RPCs, health, reflection, metrics and readiness.
func (a *App) Handler() http.Handler { return a.handler }

func (a *App) ready(ctx context.Context) error {
	if err := a.cfg.Pool.Ping(ctx); err != nil {
		return fmt.Errorf("database: %w", err)
	}
	if !a.cfg.NATS.IsConnected() {
		return fmt.Errorf("nats: not connected")
	}
	return nil
}

// RunBackground starts every module's outbox relay and workers; they stop
// when ctx ends, and the returned wait blocks until they have.
func (a *App) RunBackground(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	run := func(name string, fn func(context.Context) error) {
		wg.Go(func() {
			for ctx.Err() == nil {
				err := fn(ctx)
				if ctx.Err() != nil {
					return
				}
				a.cfg.Logger.Error("worker stopped; restarting in 1s", "worker", name, "err", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
		})
	}
	run("audit trail", a.Trail.Run)
	for i, m := range a.cfg.Modules {
		if m.Schema != "" {
			relay := &outbox.Relay{
				Pool:         a.cfg.Pool,
				Schema:       m.Schema,
				JS:           a.js,
				Logger:       a.cfg.Logger.With("relay", m.Schema),
				Stream:       outbox.StreamConfig(a.cfg.StreamReplicas, a.cfg.StreamMaxAge),
				Retention:    a.cfg.OutboxRetention,
				Reconcile:    a.cfg.ReconcileInterval,
				AfterPublish: a.cfg.AfterPublish,
				Wake:         a.wakers[i].C(),
			}
			a.wakers[i].LocalLeads = relay.Leading
			run("relay:"+m.Schema, relay.Run)
			run("wake:"+m.Schema, a.wakers[i].Run)
		}
		for _, w := range a.services[i].Workers {
			run(m.Name+":"+w.Name, w.Run)
		}
	}
	return wg.Wait
}
