// Package server assembles Verkosto's HTTP server: the services' Connect
// handlers behind one mux with the shared interceptors, gRPC health and
// reflection, Prometheus metrics and readiness.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"connectrpc.com/grpcreflect"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MaxMessageBytes bounds a request message; larger ones fail RESOURCE_EXHAUSTED.
const MaxMessageBytes = 4 << 20

// CompressMinBytes is the smallest response compressed for a client that
// accepts gzip. Connect compresses every message by default; for a message
// of a few hundred bytes (a Get) that costs more CPU than the bytes it saves.
const CompressMinBytes = 1024

// Mount is one service's handler on the shared mux.
type Mount struct {
	Path    string
	Handler http.Handler
}

// Config is what the server is built from.
type Config struct {
	Logger *slog.Logger
	// Services are the fully qualified names served, for reflection and health.
	Services []string
	Mounts   []Mount
	// Ready reports whether the backing servers answer.
	Ready func(ctx context.Context) error
	// Registry collects metrics; the server adds its own.
	Registry *prometheus.Registry
}

// Metrics are the RPC metrics the interceptor records.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the RPC metrics on reg.
func NewMetrics(reg *prometheus.Registry) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "verkosto_rpc_requests_total", Help: "RPCs handled, by procedure and code.",
		}, []string{"procedure", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "verkosto_rpc_duration_seconds", Help: "RPC handling time.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"procedure"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// HandlerOptions are the options every service handler is built with:
// interceptors outermost first (observe, then the given ones — the audit
// trail, authentication and authorization — then rate limit and deadline),
// message size limit, panic recovery.
func HandlerOptions(logger *slog.Logger, metrics *Metrics, limits Limits, interceptors ...connect.Interceptor) []connect.HandlerOption {
	chain := append([]connect.Interceptor{observe(logger, metrics)}, interceptors...)
	return []connect.HandlerOption{
		connect.WithInterceptors(append(chain, newLimiter(limits))...),
		connect.WithReadMaxBytes(MaxMessageBytes),
		connect.WithCompressMinBytes(CompressMinBytes),
		connect.WithRecover(func(ctx context.Context, spec connect.Spec, _ http.Header, p any) error {
			logger.ErrorContext(ctx, "panic in handler", "procedure", spec.Procedure, "panic", p)
			return connect.NewError(connect.CodeInternal, errors.New("internal error"))
		}),
	}
}

// Handler builds the root handler.
func Handler(cfg Config) http.Handler {
	mux := http.NewServeMux()
	for _, m := range cfg.Mounts {
		mux.Handle(m.Path, m.Handler)
	}
	reflector := grpcreflect.NewStaticReflector(append([]string{healthService}, cfg.Services...)...)
	mux.Handle(grpcreflect.NewHandlerV1(reflector))
	mux.Handle(grpcreflect.NewHandlerV1Alpha(reflector))
	mux.Handle(healthHandler(cfg.Services, cfg.Ready))
	reg := cfg.Registry
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.HandleFunc("GET /ready", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := cfg.Ready(ctx); err != nil {
			http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return mux
}

// New returns an HTTP server for handler that speaks HTTP/1.1 and
// unencrypted HTTP/2 (so gRPC clients work without TLS), with timeouts
// against slow clients. No read or write timeout on the whole request: change
// watches stream for hours, and the read deadline would cancel them.
func New(addr string, handler http.Handler) *http.Server {
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	return &http.Server{
		Addr:              addr,
		Handler:           handler,
		Protocols:         &protocols,
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
}

// Listen opens the server's address, with a clear error when it is taken.
func Listen(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s (%w): is Verkosto already running? pick another address with --addr", addr, err)
	}
	return l, nil
}
