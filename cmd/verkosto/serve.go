package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/demo"
	"github.com/verkosto/verkosto/internal/server"
)

func serve(ctx context.Context, args []string, withDemo bool) error {
	var c config
	name := "serve"
	if withDemo {
		name = "demo"
	}
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	c.flags(fs, true)
	fs.Parse(args) //nolint:errcheck // ExitOnError
	if err := c.envSettings(); err != nil {
		return err
	}
	logger := c.logger()
	selected, err := app.Select(modules(), c.services)
	if err != nil {
		return err
	}
	if err := c.checkDatabaseSetup(); err != nil {
		return err
	}
	listener, err := server.Listen(c.addr)
	if err != nil {
		return err
	}
	defer listener.Close()

	natsURL, stopNATS, err := c.natsServer(logger)
	if err != nil {
		return err
	}
	defer stopNATS()
	pool, stopDB, err := c.database(ctx, logger)
	if err != nil {
		return err
	}
	defer stopDB()
	if err := app.Migrate(ctx, pool, selected); err != nil {
		return err
	}
	nc, err := nats.Connect(natsURL, nats.Name("verkosto"), nats.MaxReconnects(-1), nats.RetryOnFailedConnect(true),
		nats.ReconnectWait(250*time.Millisecond))
	if err != nil {
		return fmt.Errorf("connect NATS %s: %w", natsURL, err)
	}
	defer nc.Close()

	a, err := app.Build(ctx, app.Config{Modules: selected, Pool: pool, NATS: nc, Logger: logger,
		StreamReplicas: c.replicas, StreamMaxAge: c.streamAge, OutboxRetention: c.outboxKeep, Limits: c.limits,
		Settings: c.settings, OIDC: c.oidcConfig()})
	if err != nil {
		return err
	}
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	wait := a.RunBackground(bgCtx)
	srv := server.New(c.addr, a.Handler())
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(listener) }()

	names := make([]string, len(selected))
	for i, m := range selected {
		names[i] = m.Name
	}
	logger.Info("verkosto is ready", "rpc", "http://"+listener.Addr().String(), "nats", natsURL, "services", names)
	fmt.Printf("Verkosto listens on http://%s (Connect, gRPC, gRPC-Web); changes on %s (stream VERKOSTO_CHANGES, subjects verkosto.changes.>)\n",
		listener.Addr(), natsURL)

	if withDemo {
		if err := demo.Load(ctx, demo.Config{BaseURL: "http://" + listener.Addr().String(), Pool: pool, Logger: logger, Out: os.Stdout}); err != nil {
			logger.Error("demo data", "err", err)
		}
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			logger.Error("server stopped", "err", err)
		}
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Warn("graceful shutdown incomplete", "err", err)
	}
	stopBackground()
	wait()
	return nil
}
