// Command verkosto-load measures a running Verkosto: it drives the networks
// service over real Connect clients with a mix of reads and writes, reports
// throughput and latency percentiles per RPC and the latency from a write's
// answer to its change reaching a NATS subscriber; and it serves a bare
// Connect echo handler, the ceiling of the RPC stack on the same machine.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

const usage = `verkosto-load: measures a running Verkosto.

Usage:
  verkosto-load run   --url http://127.0.0.1:8080 --token SECRET [--duration 30s] [--concurrency 16]
                      [--rate N] [--mix read=80,write=20] [--nats nats://127.0.0.1:4222]
                      drive the networks service (or, with --mix echo=100, the echo handler)
  verkosto-load setup --url ... --token ...   create (or find) the fixture data and print it
  verkosto-load echo  [--addr 127.0.0.1:8099]  serve a bare Connect unary echo handler (h2c)

Run "verkosto-load <command> -h" for the flags of a command.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "run":
		err = run(ctx, args)
	case "setup":
		err = setup(ctx, args)
	case "echo":
		err = echo(ctx, args)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "verkosto-load:", err)
		os.Exit(1)
	}
}
