package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/verkosto/verkosto/internal/app"
	"github.com/verkosto/verkosto/internal/auth"
)

// token mints, lists and revokes credentials directly in the database: the
// way to the first admin credential of a new installation.
func token(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("token: want create, list or revoke")
	}
	var c config
	fs := flag.NewFlagSet("token "+args[0], flag.ExitOnError)
	c.flags(fs, false)
	name := fs.String("name", "", "display name of the credential (create)")
	role := fs.String("role", "", "role: admin, coordinator, leader, association, partner (create)")
	var scopes multiFlag
	fs.Var(&scopes, "scope", "scope of the role, e.g. region=pohjois-pohjanmaa,programme=lape; repeat for more bindings of the same role")
	person := fs.String("person", "", "id of the person the credential belongs to (create)")
	ttl := fs.Duration("ttl", 0, "lifetime, e.g. 720h; 0 = no expiry (create)")
	fs.Parse(args[1:]) //nolint:errcheck

	if err := c.checkDatabaseSetup(); err != nil {
		return err
	}
	logger := c.logger()
	pool, stop, err := c.database(ctx, logger)
	if err != nil {
		return err
	}
	defer stop()
	if err := app.Migrate(ctx, pool, nil); err != nil {
		return err
	}
	store := auth.NewStore(pool, nil)
	switch args[0] {
	case "create":
		if *name == "" || *role == "" {
			return fmt.Errorf("token create needs --name and --role")
		}
		var bindings []auth.Binding
		if len(scopes) == 0 {
			scopes = append(scopes, "")
		}
		for _, s := range scopes {
			spec := *role
			if s != "" {
				spec += ":" + s
			}
			b, err := auth.ParseBinding(spec)
			if err != nil {
				return err
			}
			bindings = append(bindings, b)
		}
		kind := "personal"
		if *role == string(auth.RolePartner) {
			kind = "partner"
		}
		id, secret, err := store.Create(ctx, auth.NewCredential{Name: *name, Kind: kind, PersonID: *person, Bindings: bindings, TTL: *ttl})
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "credential %s created; the secret is shown only now:\n", id)
		fmt.Println(secret)
	case "list":
		list, err := store.List(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tKIND\tBINDINGS\tEXPIRES\tREVOKED")
		for _, c := range list {
			var bs []string
			for _, b := range c.Bindings {
				bs = append(bs, b.String())
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, c.Kind, strings.Join(bs, " "), fmtTime(c.ExpiresAt), fmtTime(c.RevokedAt))
		}
		return w.Flush()
	case "revoke":
		if fs.NArg() != 1 {
			return fmt.Errorf("token revoke needs the credential id")
		}
		if err := store.Revoke(ctx, fs.Arg(0)); err != nil {
			return err
		}
		fmt.Println("revoked")
	default:
		return fmt.Errorf("token: unknown subcommand %q (create, list, revoke)", args[0])
	}
	return nil
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
