package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/sqlstore"
)

const keysUsage = `Usage:
  latchkey keys rotate [--database-url URL] [--key-rotation-overlap 10m]
      add a signing key: in the JWKS at once, signing after the overlap;
      the old key stays published until its last token has expired
  latchkey keys list   [--database-url URL]
`

// runKeys manages the access-token signing keys against the database.
func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "rotate" && args[0] != "list") {
		fmt.Fprint(stderr, keysUsage)
		return fmt.Errorf("keys: say rotate or list")
	}
	c, err := parseConfig("keys "+args[0], args[1:], os.Getenv, stderr)
	if err != nil {
		return err
	}
	dbURL := c.databaseURL("LATCHKEY_DATABASE_URL")
	cfg := c.domainConfig()
	overlap := c.duration("LATCHKEY_KEY_ROTATION_OVERLAP")
	if c.err != nil {
		return c.err
	}
	if cfg.SecretKey, err = serverSecret(cfg.SecretKey, dbURL); err != nil {
		return err
	}
	db, err := sqlstore.Open(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("LATCHKEY_DATABASE_URL: %w", err)
	}
	defer db.Close()
	svc := &latchkey.Service{Store: db.Store(), Config: cfg, Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if err := svc.Open(ctx); err != nil {
		return err
	}
	if args[0] == "rotate" {
		k, err := svc.RotateSigningKey(ctx, overlap)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "New signing key %s: published in the JWKS now, signing from %s (after %s).\nThe previous key stays published until the tokens it signed have expired.\n",
			k.KID, k.NotBefore.Format(time.RFC3339), overlap)
		return nil
	}
	list, err := svc.SigningKeyStatuses(ctx)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tSLOT\tCREATED\tSIGNS FROM\tSTATE")
	for _, k := range list {
		state := "retired"
		switch {
		case k.Signing:
			state = "signing"
		case k.Published && k.NotBefore.After(svc.Now()):
			state = "published, not signing yet"
		case k.Published:
			state = "published (verifies older tokens)"
		}
		from := k.NotBefore
		if from.IsZero() {
			from = k.CreatedAt
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", k.KID, k.Slot, k.CreatedAt.Format(time.RFC3339), from.Format(time.RFC3339), state)
	}
	return tw.Flush()
}
