// Package natsd runs the embedded NATS server with JetStream that Verkosto
// uses when no NATS_URL is given.
package natsd

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options configure the embedded server.
type Options struct {
	// Listen is host:port; port 0 picks a free one (tests).
	Listen string
	// StoreDir holds JetStream's files.
	StoreDir string
	Logger   *slog.Logger
}

// Start runs an embedded NATS server with JetStream. JetStream syncs every
// write to disk before acknowledging (sync_interval: always), so an
// acknowledged change survives a crash of the machine, not just the process.
func Start(opts Options) (*server.Server, error) {
	host, portStr, err := net.SplitHostPort(opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("nats listen address %q: %w", opts.Listen, err)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil {
		return nil, fmt.Errorf("nats listen port %q: %w", portStr, err)
	}
	if port == 0 {
		port = server.RANDOM_PORT
	} else if l, err := net.Listen("tcp", opts.Listen); err != nil {
		return nil, fmt.Errorf("embedded NATS cannot listen on %s (%v): is another NATS server running there? "+
			"Use it with NATS_URL=nats://%s, or pick another address with --nats-listen", opts.Listen, err, opts.Listen)
	} else {
		l.Close()
	}
	so := &server.Options{
		ServerName: "verkosto-embedded",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   opts.StoreDir,
		SyncAlways: true,
		NoSigs:     true,
		MaxPayload: 8 << 20,
	}
	ns, err := server.NewServer(so)
	if err != nil {
		return nil, fmt.Errorf("create embedded NATS: %w", err)
	}
	if opts.Logger != nil {
		ns.SetLoggerV2(&logger{opts.Logger}, false, false, false)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return nil, errors.New("embedded NATS did not become ready within 10s")
	}
	return ns, nil
}

type logger struct{ l *slog.Logger }

func (l *logger) Noticef(format string, v ...any) {
	l.l.Debug(fmt.Sprintf(format, v...), "component", "nats")
}
func (l *logger) Warnf(format string, v ...any) {
	l.l.Warn(fmt.Sprintf(format, v...), "component", "nats")
}
func (l *logger) Fatalf(format string, v ...any) {
	l.l.Error(fmt.Sprintf(format, v...), "component", "nats")
}
func (l *logger) Errorf(format string, v ...any) {
	l.l.Error(fmt.Sprintf(format, v...), "component", "nats")
}
func (l *logger) Debugf(format string, v ...any) {
	l.l.Debug(fmt.Sprintf(format, v...), "component", "nats")
}
func (l *logger) Tracef(format string, v ...any) {}
