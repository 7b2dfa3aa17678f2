package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/analytics"
	"github.com/latchkey/latchkey/authcache"
	"github.com/latchkey/latchkey/mail"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/sqlstore"
	"github.com/latchkey/latchkey/webhook"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseConfig("serve", args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	addr := c.addr("LATCHKEY_ADDR")
	dbURL := c.databaseURL("LATCHKEY_DATABASE_URL")
	dcfg := c.domainConfig()
	cors := c.origins("LATCHKEY_CORS_ORIGINS")
	logger := newLogger(c, stderr)
	sender := c.mailSender(logger)
	posthogHost := c.url("LATCHKEY_POSTHOG_HOST")
	passkeys, warning := c.relyingParty(dcfg.PublicURL, dcfg.DashboardURL)
	ssoPrivate := c.onOff("LATCHKEY_SSO_ALLOW_PRIVATE_NETWORKS")
	authCache := c.onOff("LATCHKEY_AUTH_CACHE")
	if c.err != nil {
		return c.err
	}
	if dcfg.SecretKey, err = serverSecret(dcfg.SecretKey, dbURL); err != nil {
		return err
	}
	if ssoPrivate {
		logger.Warn("LATCHKEY_SSO_ALLOW_PRIVATE_NETWORKS is on: any org admin can make this server fetch URLs on its own network (development only)")
	}
	if warning != "" {
		logger.Warn(warning)
	}
	oauthCfgs, err := oauthConfigs(os.Environ(), dcfg.PublicURL)
	if err != nil {
		return err
	}
	providers, err := oauthRegistry(oauthCfgs)
	if err != nil {
		return err
	}
	if _, isLog := sender.(mail.Log); isLog {
		logger.Warn("LATCHKEY_SMTP_URL is not set: emails are written to this log, codes and links included (development only)")
	}
	mailer := mail.NewMailer(sender, mail.Config{Logger: logger, RequestID: latchkey.RequestID})
	defer mailer.Close()
	events := analytics.New(c.str("LATCHKEY_POSTHOG_API_KEY"), posthogHost, logger)
	defer events.Close()

	db, err := sqlstore.Open(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("LATCHKEY_DATABASE_URL: %w", err)
	}
	defer db.Close()
	if authCache {
		if err := db.StartAuthCache(authcache.Options{Logger: logger}); err != nil {
			return fmt.Errorf("LATCHKEY_DATABASE_URL: %w", err)
		}
	}
	svc := &latchkey.Service{Store: db.Store(), Config: dcfg, Logger: logger, Passkeys: passkeys, Mailer: mailer, Analytics: events}
	if err := svc.Open(ctx); err != nil {
		return err
	}
	// The webhook worker runs on every node: claims keep nodes from
	// sending one attempt twice (contract §9).
	hooks := &webhook.Worker{Queue: svc.WebhookQueue(), Logger: logger}
	collectors := hooks.Collectors()
	if n := db.AuthCache(); n != nil {
		collectors = append(collectors, n.Collectors()...)
	}
	srv, err := server.New(server.Config{
		Service: svc, Logger: logger, PublicURL: dcfg.PublicURL, DashboardURL: dcfg.DashboardURL, CORSOrigins: cors,
		OAuth: providers, SSOAllowPrivateNetworks: ssoPrivate, Collectors: collectors,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("LATCHKEY_ADDR: %w", err)
	}
	// ReadTimeout bounds a slow body too (the 64 KiB limit bounds only its
	// size), so trickling clients cannot hold connections open for ever.
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	fmt.Fprintf(stdout, "Latchkey listening on http://%s (public URL %s, database %s)\n", ln.Addr(), dcfg.PublicURL, redactURL(dbURL))
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	hooksCtx, stopHooks := context.WithCancel(context.WithoutCancel(ctx))
	hooksDone := make(chan struct{})
	go func() { defer close(hooksDone); hooks.Run(hooksCtx) }()
	defer func() { stopHooks(); <-hooksDone }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// Flows that finish after their response (password resets) queue
	// mail; let them end before the deferred Close drains the mail queue.
	if err := svc.Drain(shutdown); err != nil {
		logger.Warn("background flows cut short at shutdown", "err", err)
	}
	return nil
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseConfig("migrate", args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	dbURL := c.databaseURL("LATCHKEY_DATABASE_URL")
	if c.err != nil {
		return c.err
	}
	db, err := sqlstore.Open(ctx, dbURL)
	if err != nil {
		return fmt.Errorf("LATCHKEY_DATABASE_URL: %w", err)
	}
	defer db.Close()
	names, _ := sqlstore.Migrations(db.Dialect)
	fmt.Fprintf(stdout, "database %s is at migration %s\n", redactURL(dbURL), names[len(names)-1])
	return nil
}

func newLogger(c *config, stderr io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.str("LATCHKEY_LOG_LEVEL"))); err != nil {
		c.fail("LATCHKEY_LOG_LEVEL", "%q must be debug, info, warn or error", c.str("LATCHKEY_LOG_LEVEL"))
	}
	return slog.New(server.LogHandler(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})))
}

// redactURL hides a password in a database URL.
func redactURL(raw string) string {
	if i := strings.Index(raw, "@"); i > 0 {
		if j := strings.Index(raw, "://"); j > 0 && j < i {
			if k := strings.Index(raw[j+3:i], ":"); k >= 0 {
				return raw[:j+3+k] + ":***" + raw[i:]
			}
		}
	}
	return raw
}
