// Package app is Verkosto's module registry: each service is a Module that
// declares its schema, migrations and constructor; App starts the selected
// modules on shared plumbing (database pool, NATS, auth, HTTP server) and runs
// their background workers and outbox relays.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"connectrpc.com/connect"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/server"
)

// Module is one service of the binary.
type Module struct {
	// Name is what --services selects, e.g. "networks".
	Name string
	// Schema is the PostgreSQL schema the service owns; its outbox and
	// request id tables are created there too.
	Schema string
	// Migrations of the schema, in order.
	Migrations []db.Migration
	// New builds the service on the shared dependencies.
	New func(ctx context.Context, deps Deps) (*Service, error)
}

// Deps are what a service is built on.
type Deps struct {
	Pool   *pgxpool.Pool
	NATS   *nats.Conn
	JS     jetstream.JetStream
	Logger *slog.Logger
	// Now is the clock; tests inject their own.
	Now func() time.Time
	// HandlerOptions carry the shared interceptors and limits; pass them to
	// every generated NewXServiceHandler.
	HandlerOptions []connect.HandlerOption
	// Settings holds service settings by "<module>.<name>" (e.g.
	// "nominations.term_notice"), from flags or tests.
	Settings map[string]string
	// WakeRelay wakes the relay of the module's schema: call it after every
	// transaction that appended to the outbox has committed. Without it the
	// relay finds the changes only when it next polls (outbox.Relay.Poll).
	WakeRelay func()
	// Credentials is the store authentication uses: revoking through it
	// takes effect at once in this process (others: within auth.CacheTTL).
	Credentials *auth.Store
}

// Service is what a module contributes to the running process.
type Service struct {
	// Names are the fully qualified protobuf service names served.
	Names   []string
	Mounts  []server.Mount
	Workers []Worker
	// Policies say who may call each RPC of the service; every RPC needs one.
	Policies auth.Policies
}

// Worker is a background loop: a NATS consumer, a daily job. It runs until
// its context ends; an error is logged and the worker restarted.
type Worker struct {
	Name string
	Run  func(ctx context.Context) error
}

// Select resolves a --services value ("all", or names separated by commas)
// against the known modules, keeping the registry's order.
func Select(known []Module, spec string) ([]Module, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" || spec == "all" {
		return known, nil
	}
	var names []string
	for _, n := range strings.Split(spec, ",") {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if !slices.ContainsFunc(known, func(m Module) bool { return m.Name == n }) {
			return nil, fmt.Errorf("unknown service %q in --services (known: all, %s)", n, strings.Join(moduleNames(known), ", "))
		}
		names = append(names, n)
	}
	var out []Module
	for _, m := range known {
		if slices.Contains(names, m.Name) {
			out = append(out, m)
		}
	}
	return out, nil
}

func moduleNames(ms []Module) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name
	}
	return out
}
