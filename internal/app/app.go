package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/verkosto/verkosto/internal/auth"
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
	// ReconcileInterval is how often relays check the stream still holds
	// what it acknowledged (0: the relay's default).
	ReconcileInterval time.Duration
	// AfterPublish is passed to every relay (tests crash relays with it).
	AfterPublish func(ctx context.Context, changeIDs []string) error
}

// App is a set of modules built and ready to serve.
type App struct {
	cfg      Config
	js       jetstream.JetStream
	services []*Service
	wakers   []*outbox.Waker // by module; nil without a schema
	handler  http.Handler
	Registry *prometheus.Registry
}

// platformMigrations are created in every service schema: its outbox and its
// request ids.
var platformMigrations = []db.Migration{
	{Version: 1, Name: "0001_outbox_and_request_ids.sql", SQL: outbox.Migration + reqid.Migration},
	{Version: 2, Name: "0002_outbox_positions.sql", SQL: outbox.PositionsMigration},
	{Version: 3, Name: "0003_outbox_xid_index.sql", SQL: outbox.XidIndexMigration},
	{Version: 4, Name: "0004_outbox_wake_after_commit.sql", SQL: outbox.WakeMigration},
}

// PlatformMigrations are the steps of the platform tables in every service
// schema (test harnesses fingerprint their templates with them).
func PlatformMigrations() []db.Migration { return platformMigrations }

// Migrate brings the credentials schema and each module's schema up to date.
func Migrate(ctx context.Context, pool *pgxpool.Pool, modules []Module) error {
	authMigrations, err := db.LoadMigrations(auth.Migrations, "migrations")
	if err != nil {
		return err
	}
	if err := db.Migrate(ctx, pool, auth.Schema, auth.Schema, authMigrations); err != nil {
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
	authn := auth.Interceptor(auth.NewStore(cfg.Pool, cfg.Now))
	deps := Deps{
		Pool:           cfg.Pool,
		NATS:           cfg.NATS,
		JS:             js,
		Logger:         cfg.Logger,
		Now:            cfg.Now,
		HandlerOptions: server.HandlerOptions(cfg.Logger, metrics, authn),
		Settings:       cfg.Settings,
	}
	a := &App{cfg: cfg, js: js, Registry: reg}
	var names []string
	var mounts []server.Mount
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
		names = append(names, svc.Names...)
		mounts = append(mounts, svc.Mounts...)
	}
	a.handler = server.Handler(server.Config{
		Logger:   cfg.Logger,
		Services: names,
		Mounts:   mounts,
		Ready:    a.ready,
		Registry: reg,
	})
	return a, nil
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
