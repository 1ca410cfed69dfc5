// Command verkosto runs Verkosto: all services in one process, or any subset
// (--services), plus the administrative commands.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/services/events"
	"github.com/verkosto/verkosto/services/networks"
)

// modules is the registry of every service the binary can run, in start order.
// A new service adds its Module here.
func modules() []app.Module {
	return []app.Module{
		networks.Module(),
		events.Module(),
	}
}

const usage = `verkosto: coordinates Finland's regional association networks.

Usage:
  verkosto serve   [flags]   run the services (embedded PostgreSQL and NATS unless DATABASE_URL / NATS_URL)
  verkosto demo    [flags]   serve with realistic demo data loaded, and print demo credentials
  verkosto migrate [flags]   apply database migrations and exit
  verkosto token create --name NAME --role ROLE [--scope k=v,...] [--person ID] [--ttl 720h]
  verkosto token list | revoke ID

Run "verkosto <command> -h" for the flags of a command.
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
	case "serve":
		err = serve(ctx, args, false)
	case "demo":
		err = serve(ctx, args, true)
	case "migrate":
		err = migrate(ctx, args)
	case "token":
		err = token(ctx, args)
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "unknown command %q\n\n%s", cmd, usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "verkosto:", err)
		os.Exit(1)
	}
}
