package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/verkosto/verkosto/internal/app"
)

func migrate(ctx context.Context, args []string) error {
	var c config
	fs := flag.NewFlagSet("migrate", flag.ExitOnError)
	c.flags(fs, false)
	fs.Parse(args) //nolint:errcheck
	selected, err := app.Select(modules(), c.services)
	if err != nil {
		return err
	}
	if err := c.checkDatabaseSetup(); err != nil {
		return err
	}
	logger := c.logger()
	pool, stop, err := c.database(ctx, logger)
	if err != nil {
		return err
	}
	defer stop()
	if err := app.Migrate(ctx, pool, selected); err != nil {
		return err
	}
	fmt.Println("migrations applied")
	return nil
}
