// Package pgserver runs a private PostgreSQL cluster from the locally
// installed server binaries. Verkosto uses it when no DATABASE_URL is set,
// and the test harness uses it to get a throwaway server.
//
// The postmaster is detached from the calling process (pg_ctl puts it in its
// own session), so it outlives a crash of the caller; the next Start on the
// same directory finds it running and reuses it.
package pgserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// superuser is the role initdb creates; with trust auth on loopback it needs
// no password.
const superuser = "verkosto"

// Options configure a private cluster.
type Options struct {
	// Dir holds the cluster (created if missing); a second Start on the same
	// Dir reuses the data.
	Dir string
	// Port 0 picks a free loopback port on first start, then reuses the one
	// recorded in Dir while it is still free.
	Port int
	// Logger nil means slog.Default().
	Logger *slog.Logger
}

// Server is a running private cluster.
type Server struct {
	bin  string // holds initdb and pg_ctl
	dir  string // absolute Options.Dir
	data string
	port int
	acct *account // non-nil when we are root and must run PostgreSQL as someone else
	log  *slog.Logger
}

// Start initialises the cluster in opts.Dir if needed and starts it, or
// reuses the postmaster already running there.
func Start(ctx context.Context, opts Options) (*Server, error) {
	// Missing binaries is the usual failure on a fresh machine: report it
	// before doing anything slow.
	bin, err := findBinDir(binDirs(ctx))
	if err != nil {
		if d := os.Getenv("PG_BINDIR"); d != "" {
			err = fmt.Errorf("PG_BINDIR=%s: %w", d, err)
		}
		return nil, err
	}
	if opts.Dir == "" {
		return nil, errors.New("pgserver: Options.Dir is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	// pg_ctl hands the data and log paths to /bin/sh inside double quotes.
	if strings.ContainsAny(dir, "\"$`\\\n") {
		return nil, fmt.Errorf("pgserver: directory %q contains characters pg_ctl cannot quote", dir)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	acct, err := serviceAccount()
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir, data: filepath.Join(dir, "data"), acct: acct, log: log}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pgserver: %w", err)
	}
	if acct != nil {
		if err := acct.own(dir); err != nil {
			return nil, fmt.Errorf("pgserver: %w", err)
		}
	}

	if s.running(ctx) {
		if s.port = s.runningPort(); s.port == 0 {
			return nil, fmt.Errorf("pgserver: PostgreSQL is running in %s but its port is unknown; stop it with pg_ctl -D %s stop", dir, s.data)
		}
		if opts.Port != 0 && opts.Port != s.port {
			log.Warn("PostgreSQL already running on another port than requested", "dir", dir, "port", s.port, "requested", opts.Port)
		}
		log.Info("reusing running PostgreSQL", "dir", dir, "port", s.port)
		if err := waitTCP(ctx, s.port, 10*time.Second); err != nil {
			return nil, fmt.Errorf("pgserver: reuse PostgreSQL in %s: %w", dir, err)
		}
		return s, nil
	}

	if err := s.initdb(ctx); err != nil {
		return nil, err
	}
	if s.port, err = choosePort(dir, opts.Port); err != nil {
		return nil, fmt.Errorf("pgserver: pick a port: %w", err)
	}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// URL returns the connection URL for database as the cluster's superuser.
func (s *Server) URL(database string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, s.port, url.PathEscape(database))
}

// Port is the loopback TCP port the cluster listens on.
func (s *Server) Port() int { return s.port }

// Stop shuts the cluster down (fast mode: open sessions are cut off) and
// waits for it. Stopping a cluster that is not running is not an error.
func (s *Server) Stop(ctx context.Context) error {
	if !s.running(ctx) {
		return nil
	}
	out, err := s.command(ctx, "pg_ctl", "-D", s.data, "-m", "fast", "-w", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgserver: stop PostgreSQL in %s: %w\n%s", s.dir, err, bytes.TrimSpace(out))
	}
	s.log.Info("stopped PostgreSQL", "dir", s.dir, "port", s.port)
	return nil
}

// command prepares a PostgreSQL binary to run as the cluster's owner.
func (s *Server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, name), args...)
	// The owner may not be allowed into our working directory, and
	// postgres complains when it cannot return to it.
	cmd.Dir = s.dir
	// Safety net should a child ever keep our output pipe open.
	cmd.WaitDelay = 5 * time.Second
	if s.acct != nil {
		s.acct.apply(cmd, s.dir)
	}
	return cmd
}

// running asks pg_ctl rather than trusting postmaster.pid, which a crash
// leaves behind.
func (s *Server) running(ctx context.Context) bool {
	if _, err := os.Stat(filepath.Join(s.data, "postmaster.pid")); err != nil {
		return false
	}
	return s.command(ctx, "pg_ctl", "-D", s.data, "status").Run() == nil
}

// runningPort prefers the port the postmaster itself wrote into
// postmaster.pid (4th line) over the one we recorded.
func (s *Server) runningPort() int {
	if b, err := os.ReadFile(filepath.Join(s.data, "postmaster.pid")); err == nil {
		if lines := strings.Split(string(b), "\n"); len(lines) > 3 {
			if p, err := strconv.Atoi(strings.TrimSpace(lines[3])); err == nil && p > 0 {
				return p
			}
		}
	}
	return recordedPort(s.dir)
}

func (s *Server) initdb(ctx context.Context) error {
	if _, err := os.Stat(filepath.Join(s.data, "PG_VERSION")); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("pgserver: %w", err)
	}
	if entries, err := os.ReadDir(s.data); err == nil && len(entries) > 0 {
		return fmt.Errorf("pgserver: %s is not empty but holds no PostgreSQL cluster (no PG_VERSION); remove it to start afresh", s.data)
	}
	s.log.Info("initialising PostgreSQL cluster", "dir", s.dir, "bin", s.bin)
	var (
		out []byte
		err error
	)
	// C.UTF-8 sorts like C but knows which characters are letters; macOS and
	// old glibc lack it. initdb removes what it created when it fails.
	for _, locale := range []string{"C.UTF-8", "C"} {
		out, err = s.command(ctx, "initdb", "-D", s.data, "-U", superuser, "--auth=trust",
			"--encoding=UTF8", "--locale="+locale).CombinedOutput()
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("pgserver: initdb in %s: %w\n%s", s.data, err, bytes.TrimSpace(out))
}

func (s *Server) start(ctx context.Context) error {
	sock, err := s.socketDir()
	if err != nil {
		return fmt.Errorf("pgserver: socket directory: %w", err)
	}
	logFile := filepath.Join(s.dir, "postgres.log")
	// pg_ctl runs postgres through /bin/sh, so the options are shell words.
	pgOpts := fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s "+
		"-c max_connections=200 -c shared_buffers=128MB -c fsync=on", s.port, shellQuote(sock))
	s.log.Info("starting PostgreSQL", "dir", s.dir, "port", s.port)
	out, err := s.command(ctx, "pg_ctl", "-D", s.data, "-l", logFile, "-w", "-t", "60", "-o", pgOpts, "start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pgserver: start PostgreSQL in %s on port %d: %w\n%s\nlast lines of %s:\n%s",
			s.dir, s.port, err, bytes.TrimSpace(out), logFile, tail(logFile, 20))
	}
	if err := os.WriteFile(filepath.Join(s.dir, "port"), []byte(strconv.Itoa(s.port)+"\n"), 0o644); err != nil {
		return fmt.Errorf("pgserver: record port: %w", err)
	}
	// pg_ctl -w already waited for "ready"; this only guards against
	// something else having grabbed the port in between.
	if err := waitTCP(ctx, s.port, 5*time.Second); err != nil {
		return fmt.Errorf("pgserver: PostgreSQL in %s started but %w\nlast lines of %s:\n%s", s.dir, err, logFile, tail(logFile, 20))
	}
	return nil
}

// maxSocketPath keeps the socket path within sun_path (104 bytes on macOS,
// 108 on Linux, both including the trailing NUL).
const maxSocketPath = 103

// socketDir is <Dir>/run, or a short directory in the temp dir named after
// Dir when <Dir>/run would make the socket path too long.
func (s *Server) socketDir() (string, error) {
	dir := filepath.Join(s.dir, "run")
	if len(dir)+len("/.s.PGSQL.65535") > maxSocketPath {
		sum := sha256.Sum256([]byte(s.dir))
		dir = filepath.Join(os.TempDir(), "verkosto-pg-"+hex.EncodeToString(sum[:6]))
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return "", err
	}
	if s.acct != nil {
		if err := s.acct.chown(dir); err != nil {
			return "", err
		}
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() || !ownedByServer(s.acct, fi) {
		return "", fmt.Errorf("%s is not a directory owned by the PostgreSQL user; remove it", dir)
	}
	return dir, nil
}

// choosePort returns want, else the port recorded by an earlier start if it
// is still free (so URLs stay stable across restarts), else a fresh one.
func choosePort(dir string, want int) (int, error) {
	if want != 0 {
		return want, nil
	}
	if p := recordedPort(dir); p != 0 {
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p))); err == nil {
			l.Close()
			return p, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func recordedPort(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "port"))
	if err != nil {
		return 0
	}
	p, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || p <= 0 || p > 65535 {
		return 0
	}
	return p
}

func waitTCP(ctx context.Context, port int, timeout time.Duration) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			return c.Close()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nothing accepts connections on %s: %w", addr, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// tail returns the last n lines of a file that may have grown large over
// many runs, reading only its end.
func tail(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("(%v)", err)
	}
	defer f.Close()
	const window = 16 << 10
	if fi, err := f.Stat(); err == nil && fi.Size() > window {
		f.Seek(fi.Size()-window, io.SeekStart) //nolint:errcheck // reading from the start is fine too
	}
	b, _ := io.ReadAll(f)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
