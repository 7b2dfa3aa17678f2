package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/sqlstore"
)

const adminUsage = `latchkey admin: operate this Latchkey instance.

Bootstrap, against the database ($LATCHKEY_DATABASE_URL or --database-url):
  latchkey admin keys create --name NAME     mint an admin key (printed once)
  latchkey admin keys list [--json]          list admin keys
  latchkey admin keys revoke ID              revoke an admin key
  latchkey admin operators add EMAIL         make an account an operator
  latchkey admin operators remove EMAIL      take the operator role away
  latchkey admin operators list [--json]     list operator accounts

Through the API of --server or $LATCHKEY_SERVER, with $LATCHKEY_ADMIN_KEY:
  latchkey admin users list|show|disable|enable|revoke-sessions|mfa-reset|delete
  latchkey admin audit [filters]
Run "latchkey admin users --help" or "latchkey admin audit --help" for flags.
`

// runAdmin dispatches latchkey admin's groups.
func runAdmin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, adminUsage)
		return errHelp
	}
	groups := map[string]func(context.Context, []string, io.Writer, io.Writer) error{
		"keys":      runAdminKeys,
		"operators": runAdminOperators,
	}
	for name, fn := range adminAPIGroups {
		groups[name] = fn
	}
	fn, ok := groups[args[0]]
	if !ok {
		return fmt.Errorf("admin: unknown command %q (see latchkey admin --help)", args[0])
	}
	return fn(ctx, args[1:], stdout, stderr)
}

// adminAPIGroups are the groups that call the API (admin_api.go).
var adminAPIGroups = map[string]func(context.Context, []string, io.Writer, io.Writer) error{}

// parseMixed parses flags that may come before or after positional
// arguments ("revoke ID --json" as well as "revoke --json ID").
func parseMixed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, errHelp
			}
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// adminDB opens the database of --database-url or LATCHKEY_DATABASE_URL
// and a service over it, for the bootstrap commands.
func adminDB(ctx context.Context, dbURL string, stderr io.Writer) (*latchkey.Service, func(), error) {
	c := &config{raw: map[string]string{"LATCHKEY_DATABASE_URL": strings.TrimSpace(dbURL)}}
	dbURL = c.databaseURL("LATCHKEY_DATABASE_URL")
	if c.err != nil {
		return nil, nil, c.err
	}
	db, err := sqlstore.Open(ctx, dbURL)
	if err != nil {
		return nil, nil, fmt.Errorf("LATCHKEY_DATABASE_URL: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := latchkey.DefaultConfig()
	// The service opens the sealed signing keys: it needs the server secret.
	kc := &config{raw: map[string]string{"LATCHKEY_SECRET_KEY": os.Getenv("LATCHKEY_SECRET_KEY")}}
	cfg.SecretKey = kc.secretKey("LATCHKEY_SECRET_KEY")
	if kc.err == nil {
		cfg.SecretKey, kc.err = serverSecret(cfg.SecretKey, dbURL)
	}
	if kc.err != nil {
		db.Close()
		return nil, nil, kc.err
	}
	svc := &latchkey.Service{Store: db.Store(), Config: cfg, Logger: logger}
	if err := svc.Open(ctx); err != nil {
		db.Close()
		return nil, nil, err
	}
	return svc, func() { db.Close() }, nil
}

// bootstrapFlags are the flags of keys and operators commands.
type bootstrapFlags struct {
	fs     *flag.FlagSet
	dbURL  *string
	asJSON *bool
}

func newBootstrapFlags(name string, stderr io.Writer) bootstrapFlags {
	fs := flag.NewFlagSet("latchkey admin "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	def := os.Getenv("LATCHKEY_DATABASE_URL")
	if def == "" {
		def = settingDefault("LATCHKEY_DATABASE_URL")
	}
	return bootstrapFlags{
		fs:     fs,
		dbURL:  fs.String("database-url", def, "database to administer ($LATCHKEY_DATABASE_URL)"),
		asJSON: fs.Bool("json", false, "print JSON instead of a table"),
	}
}

func settingDefault(env string) string {
	for _, s := range settings {
		if s.env == env {
			return s.def
		}
	}
	return ""
}

func runAdminKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newBootstrapFlags("keys", stderr)
	name := f.fs.String("name", "", "name of the new key (create)")
	pos, err := parseMixed(f.fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return errors.New("admin keys: say create, list or revoke")
	}
	svc, done, err := adminDB(ctx, *f.dbURL, stderr)
	if err != nil {
		return err
	}
	defer done()
	switch {
	case pos[0] == "create" && len(pos) == 1:
		k, key, err := svc.CreateAdminKey(ctx, *name)
		if err != nil {
			return explainDomain(err)
		}
		if *f.asJSON {
			return printJSON(stdout, map[string]any{"admin_key": adminKeyJSON(k), "secret": key.Reveal()})
		}
		fmt.Fprintf(stdout, "Created admin key %s (%s). It is shown only this once:\n\n%s\n", k.ID, k.Name, key.Reveal())
		return nil
	case pos[0] == "list" && len(pos) == 1:
		keys, err := svc.AdminKeys(ctx)
		if err != nil {
			return err
		}
		if *f.asJSON {
			out := []map[string]any{}
			for _, k := range keys {
				out = append(out, adminKeyJSON(k))
			}
			return printJSON(stdout, map[string]any{"admin_keys": out})
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tCREATED\tLAST USED\tSTATUS")
		for _, k := range keys {
			status := "active"
			if !k.RevokedAt.IsZero() {
				status = "revoked " + stamp(k.RevokedAt)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\t%s\n", k.ID, k.Name, k.Prefix, stamp(k.CreatedAt), stamp(k.LastUsedAt), status)
		}
		return tw.Flush()
	case pos[0] == "revoke" && len(pos) == 2:
		if err := svc.RevokeAdminKey(ctx, pos[1]); err != nil {
			return explainDomain(err)
		}
		fmt.Fprintf(stdout, "Revoked admin key %s.\n", pos[1])
		return nil
	}
	return fmt.Errorf("admin keys: usage: create --name NAME | list | revoke ID")
}

func runAdminOperators(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newBootstrapFlags("operators", stderr)
	pos, err := parseMixed(f.fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return errors.New("admin operators: say add, remove or list")
	}
	svc, done, err := adminDB(ctx, *f.dbURL, stderr)
	if err != nil {
		return err
	}
	defer done()
	switch {
	case (pos[0] == "add" || pos[0] == "remove") && len(pos) == 2:
		u, err := svc.SetOperator(ctx, pos[1], pos[0] == "add")
		if err != nil {
			return explainDomain(err)
		}
		if pos[0] == "add" {
			fmt.Fprintf(stdout, "%s (%s) is now an operator. Operators must sign in with a second factor to use the admin API.\n", u.Email, u.ID)
		} else {
			fmt.Fprintf(stdout, "%s (%s) is no longer an operator.\n", u.Email, u.ID)
		}
		return nil
	case pos[0] == "list" && len(pos) == 1:
		users, err := svc.Operators(ctx)
		if err != nil {
			return err
		}
		if *f.asJSON {
			out := []map[string]any{}
			for _, u := range users {
				out = append(out, map[string]any{"id": u.ID, "email": u.Email, "name": u.Name, "created_at": u.CreatedAt})
			}
			return printJSON(stdout, map[string]any{"operators": out})
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tNAME")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", u.ID, u.Email, u.Name)
		}
		return tw.Flush()
	}
	return fmt.Errorf("admin operators: usage: add EMAIL | remove EMAIL | list")
}

func adminKeyJSON(k latchkey.AdminKey) map[string]any {
	m := map[string]any{"id": k.ID, "name": k.Name, "prefix": k.Prefix, "created_at": k.CreatedAt, "last_used_at": nil, "revoked_at": nil}
	if !k.LastUsedAt.IsZero() {
		m["last_used_at"] = k.LastUsedAt
	}
	if !k.RevokedAt.IsZero() {
		m["revoked_at"] = k.RevokedAt
	}
	return m
}

// stamp prints a time for a table; "-" for never.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// explainDomain prints a domain error's message, not its code.
func explainDomain(err error) error {
	var e *latchkey.Error
	if errors.As(err, &e) {
		return errors.New(e.Message)
	}
	return err
}
