package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// EchoProcedure is the bare handler's path: a Connect unary RPC with a
// well-known type, no interceptors, no database.
const EchoProcedure = "/verkosto.bench.v1.EchoService/Echo"

// echo serves EchoProcedure until ctx ends: the ceiling of the RPC stack
// (net/http, h2c, Connect, JSON or protobuf) on this machine.
func echo(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("echo", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8099", "listen address")
	fs.Parse(args) //nolint:errcheck // ExitOnError
	mux := http.NewServeMux()
	mux.Handle(EchoProcedure, connect.NewUnaryHandlerSimple(EchoProcedure,
		func(_ context.Context, req *wrapperspb.StringValue) (*wrapperspb.StringValue, error) {
			return req, nil
		}))
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv := &http.Server{Addr: *addr, Handler: mux, Protocols: &protocols, ReadHeaderTimeout: 5 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Printf("echo listens on http://%s%s (Connect JSON or protobuf, HTTP/1.1 or h2c)\n", *addr, EchoProcedure)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// echoClient calls EchoProcedure: the load generator's own ceiling.
type echoClient struct {
	c *connect.Client[wrapperspb.StringValue, wrapperspb.StringValue]
}

func newEchoClient(hc *http.Client, baseURL string, opts ...connect.ClientOption) *echoClient {
	return &echoClient{c: connect.NewClient[wrapperspb.StringValue, wrapperspb.StringValue](hc, baseURL+EchoProcedure, opts...)}
}

func (e *echoClient) call(ctx context.Context) error {
	_, err := e.c.CallUnary(ctx, connect.NewRequest(wrapperspb.String("hello")))
	return err
}
