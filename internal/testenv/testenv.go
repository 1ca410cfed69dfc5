// Package testenv gives each test a real Verkosto: its own PostgreSQL
// database cloned from a migrated template, its own embedded NATS server with
// JetStream, and the services behind a real HTTP server that speaks Connect,
// gRPC and gRPC-Web.
package testenv

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/auth"
	"github.com/verkosto/verkosto/internal/db"
	"github.com/verkosto/verkosto/internal/embedded/pgserver"
	"github.com/verkosto/verkosto/internal/ids"
	"github.com/verkosto/verkosto/internal/natsd"
	"github.com/verkosto/verkosto/internal/server"
)

// adminURL is the database server all test databases are created on: set
// by Main from TEST_DATABASE_URL, or when the first test needs a database.
var (
	adminURL   string
	serverOnce sync.Once
	serverErr  error
	stopServer = func() {}
)

// Main runs a package's tests. With TEST_DATABASE_URL set they use that
// server; otherwise a private PostgreSQL cluster is started for the package
// from the installed binaries when the first test needs a database, and
// stopped afterwards. Tests that need none (fuzz workers, unit tests) start
// none.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	adminURL = os.Getenv("TEST_DATABASE_URL")
	defer func() { stopServer() }()
	return m.Run()
}

// ensureServer starts the package's private cluster once, unless
// TEST_DATABASE_URL names a server.
func ensureServer(t testing.TB) {
	t.Helper()
	serverOnce.Do(func() {
		if adminURL != "" {
			return
		}
		ctx := context.Background()
		reapClusters(ctx)
		dir, err := os.MkdirTemp("", fmt.Sprintf("verkosto-testpg-%d-*", os.Getpid()))
		if err != nil {
			serverErr = err
			return
		}
		pg, err := pgserver.Start(ctx, pgserver.Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			os.RemoveAll(dir)
			serverErr = fmt.Errorf("start PostgreSQL: %w", err)
			return
		}
		adminURL = pg.URL("postgres")
		stopServer = func() {
			pg.Stop(ctx) //nolint:errcheck
			os.RemoveAll(dir)
		}
	})
	if serverErr != nil {
		t.Fatalf("testenv: %v", serverErr)
	}
}

// reapClusters stops the private clusters of test processes that died
// without stopping them (a panic, a kill): PostgreSQL outlives its parent.
func reapClusters(ctx context.Context) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "verkosto-testpg-*-*"))
	for _, dir := range dirs {
		var pid int
		if _, err := fmt.Sscanf(filepath.Base(dir), "verkosto-testpg-%d-", &pid); err != nil || pid <= 0 {
			continue
		}
		if syscall.Kill(pid, 0) == nil {
			continue // its process still runs
		}
		if pg, err := pgserver.Start(ctx, pgserver.Options{Dir: dir, Logger: slog.New(slog.DiscardHandler)}); err == nil {
			pg.Stop(ctx) //nolint:errcheck
		}
		os.RemoveAll(dir)
	}
}

var templates sync.Map // template name -> *sync.Once-guarded error

type templateResult struct {
	once sync.Once
	err  error
}

// templateFor migrates (once per process and module set) a template database.
func templateFor(t testing.TB, modules []app.Module) string {
	t.Helper()
	h := sha256.New()
	// The platform's own migrations shape every template too.
	fmt.Fprintf(h, "platform %s\n", app.PlatformFingerprint())
	for _, m := range modules {
		fmt.Fprintf(h, "%s/%s\n", m.Name, m.Schema)
		for _, mig := range m.Migrations {
			fmt.Fprintf(h, "%d %s\n", mig.Version, mig.SQL)
		}
	}
	name := "verkosto_tmpl_" + hex.EncodeToString(h.Sum(nil))[:16]
	v, _ := templates.LoadOrStore(name, &templateResult{})
	r := v.(*templateResult)
	r.once.Do(func() { r.err = createTemplate(name, modules) })
	if r.err != nil {
		t.Fatalf("template database: %v", r.err)
	}
	return name
}

func createTemplate(name string, modules []app.Module) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return fmt.Errorf("connect %s: %w", adminURL, err)
	}
	defer conn.Close(ctx)
	// Packages run in parallel processes against one server: serialize
	// template creation across them.
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, db.LockKey("testenv-template")); err != nil {
		return err
	}
	defer conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, db.LockKey("testenv-template")) //nolint:errcheck
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	building := name + "_building"
	conn.Exec(ctx, `DROP DATABASE IF EXISTS `+building) //nolint:errcheck
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+building); err != nil {
		return err
	}
	pool, err := db.Open(ctx, withDatabase(adminURL, building))
	if err != nil {
		return err
	}
	err = app.Migrate(ctx, pool, modules)
	pool.Close()
	if err != nil {
		return fmt.Errorf("migrate template: %w", err)
	}
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+building+` RENAME TO `+name); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, `ALTER DATABASE `+name+` WITH IS_TEMPLATE true`)
	return err
}

// withDatabase replaces the database name of a postgres:// URL.
func withDatabase(url, database string) string {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		panic(err)
	}
	rest := ""
	if i := strings.Index(url, "?"); i >= 0 {
		rest = url[i:]
	}
	user := cfg.User
	if cfg.Password != "" {
		user += ":" + cfg.Password
	}
	return fmt.Sprintf("postgres://%s@%s:%d/%s%s", user, cfg.Host, cfg.Port, database, rest)
}

// NewDatabase creates a database cloned from the migrated template of
// modules, dropped when the test ends.
func NewDatabase(t testing.TB, modules []app.Module) (url string) {
	t.Helper()
	ensureServer(t)
	tmpl := templateFor(t, modules)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	name := "verkosto_test_" + strings.ReplaceAll(ids.New(), "-", "")[:24]
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+name+` TEMPLATE `+tmpl); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("keeping database %s of the failed test", name)
			return
		}
		c, err := pgx.Connect(context.Background(), adminURL)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		c.Exec(context.Background(), `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`) //nolint:errcheck
	})
	return withDatabase(adminURL, name)
}

// NewNATS starts an embedded NATS server with JetStream on a random port
// with its own store, shut down when the test ends.
func NewNATS(t testing.TB) *natsserver.Server {
	t.Helper()
	ns, err := natsd.Start(natsd.Options{Listen: "127.0.0.1:0", StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("start NATS: %v", err)
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// Env is one test's running Verkosto.
type Env struct {
	t     testing.TB
	URL   string
	DBURL string
	Pool  *pgxpool.Pool
	NATS  *natsserver.Server
	// NATSDir is the embedded NATS server's store, kept across RestartNATS.
	NATSDir  string
	natsAddr string
	NC       *nats.Conn
	JS       jetstream.JetStream
	App      *app.App
	Clock    *Clock
	Creds    *auth.Store
	Server   *httptest.Server
	cancel   context.CancelFunc
}

// Options adjust an Env.
type Options struct {
	// Settings passed to the modules.
	Settings map[string]string
	// AfterPublish is passed to the relays.
	AfterPublish func(ctx context.Context, changeIDs []string) error
	// Limits bound each caller (none by default).
	Limits server.Limits
	// ReconcileInterval is passed to the relays.
	ReconcileInterval time.Duration
	// NoBackground skips relays and workers (tests that run them themselves).
	NoBackground bool
	// OIDC is passed to the app: JWTs of that provider are accepted too.
	OIDC *auth.OIDCConfig
}

// New starts the modules for one test.
func New(t testing.TB, modules []app.Module, opts ...Options) *Env {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Env{t: t, Clock: NewClock(), cancel: cancel}
	e.DBURL = NewDatabase(t, modules)
	pool, err := db.Open(ctx, e.DBURL)
	if err != nil {
		t.Fatalf("open pool: %v", err)
	}
	e.Pool = pool
	e.NATSDir = t.TempDir()
	e.NATS, err = natsd.Start(natsd.Options{Listen: "127.0.0.1:0", StoreDir: e.NATSDir})
	if err != nil {
		t.Fatalf("start NATS: %v", err)
	}
	e.natsAddr = e.NATS.Addr().String()
	t.Cleanup(func() { e.NATS.Shutdown() })
	e.NC, err = nats.Connect(e.NATS.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatalf("connect NATS: %v", err)
	}
	e.JS, _ = jetstream.New(e.NC)
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	e.App, err = app.Build(ctx, app.Config{
		Modules: modules, Pool: pool, NATS: e.NC, Logger: logger, Now: e.Clock.Now,
		Settings: o.Settings, AfterPublish: o.AfterPublish, ReconcileInterval: o.ReconcileInterval, Limits: o.Limits, OIDC: o.OIDC,
	})
	if err != nil {
		t.Fatalf("build app: %v", err)
	}
	e.Server = httptest.NewUnstartedServer(e.App.Handler())
	e.Server.EnableHTTP2 = false
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	e.Server.Config.Protocols = &protocols
	e.Server.Start()
	e.URL = e.Server.URL
	var wait func()
	if !o.NoBackground {
		wait = e.App.RunBackground(ctx)
	}
	e.Creds = e.App.Credentials
	t.Cleanup(func() {
		e.Server.Close()
		cancel()
		if wait != nil {
			wait()
		}
		e.NC.Close()
		pool.Close()
	})
	return e
}

// StopNATS shuts the NATS server down, as a crash of it would.
func (e *Env) StopNATS() {
	e.NATS.Shutdown()
	e.NATS.WaitForShutdown()
}

// StartNATS starts the NATS server again on the same address and store.
func (e *Env) StartNATS() {
	e.t.Helper()
	ns, err := natsd.Start(natsd.Options{Listen: e.natsAddr, StoreDir: e.NATSDir})
	if err != nil {
		e.t.Fatalf("restart NATS: %v", err)
	}
	e.NATS = ns
}

// Token mints a credential with the given bindings and returns its secret.
func (e *Env) Token(bindings ...auth.Binding) string {
	e.t.Helper()
	return e.TokenFor("", bindings...)
}

// TokenFor mints a credential of a person.
func (e *Env) TokenFor(personID string, bindings ...auth.Binding) string {
	e.t.Helper()
	kind := "personal"
	if len(bindings) > 0 && bindings[0].Role == auth.RolePartner {
		kind = "partner"
	}
	_, secret, err := e.Creds.Create(context.Background(), auth.NewCredential{
		Name: "test " + bindings[0].String(), Kind: kind, PersonID: personID, Bindings: bindings,
	})
	if err != nil {
		e.t.Fatalf("mint token: %v", err)
	}
	return secret
}

// Admin mints an admin credential.
func (e *Env) Admin() string { return e.Token(auth.Binding{Role: auth.RoleAdmin}) }

// HTTPClient speaks HTTP/1.1 and unencrypted HTTP/2: Connect and gRPC-Web clients.
func (e *Env) HTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
}

// H2Client speaks only unencrypted HTTP/2, as gRPC needs.
func (e *Env) H2Client() *http.Client {
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: &protocols}}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
