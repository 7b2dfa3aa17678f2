package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/latchkey/latchkey/client"
)

// session is the stored key and a client that uses it.
type session struct {
	path string
	cred *credentials
	api  *client.Client
}

// loadSession reads the stored key. --server or $LATCHKEY_SERVER may only
// name the server the key belongs to: a key means nothing elsewhere.
func loadSession(f *clientFlags) (*session, error) {
	path, err := credentialsPath(os.Getenv)
	if err != nil {
		return nil, err
	}
	cred, err := loadCredentials(path)
	if err != nil {
		return nil, err
	}
	server, err := f.serverURL(cred.Server)
	if err != nil {
		return nil, err
	}
	if server != cred.Server {
		return nil, fmt.Errorf("not logged in to %s (the stored key is for %s): run `latchkey login`", server, cred.Server)
	}
	return &session{path: path, cred: cred, api: newAPIClient(server).WithToken(cred.APIKey)}, nil
}

// explain turns a rejected stored key into advice.
func explain(err error) error {
	var e *client.Error
	if errors.As(err, &e) && e.Code == "invalid_token" {
		return fmt.Errorf("the stored key is no longer valid (revoked?): run `latchkey login` again")
	}
	return err
}

func runLogout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("logout", stderr, false)
	if err := f.parse(args); err != nil {
		return err
	}
	s, err := loadSession(f)
	if errors.Is(err, errNotLoggedIn) {
		fmt.Fprintln(stdout, "Not logged in.")
		return nil
	} else if err != nil {
		return err
	}
	// A key that is already dead needs no revoking; any other failure
	// keeps the file, so the key is never forgotten while still valid.
	var e *client.Error
	if err := s.api.RevokeAPIKey(ctx, s.cred.APIKeyID); err != nil && !(errors.As(err, &e) && e.Code == "invalid_token") {
		return fmt.Errorf("revoking the key: %w", err)
	}
	if err := os.Remove(s.path); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Logged out: key %s is revoked and removed from this computer.\n", s.cred.APIKeyID)
	return nil
}

func runWhoami(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("whoami", stderr, false)
	asJSON := f.fs.Bool("json", false, "print the auth.me answer as JSON")
	if err := f.parse(args); err != nil {
		return err
	}
	s, err := loadSession(f)
	if err != nil {
		return err
	}
	me, err := s.api.Me(ctx)
	if err != nil {
		return explain(err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(me)
	}
	fmt.Fprintf(stdout, "Server:       %s\n", s.cred.Server)
	fmt.Fprintf(stdout, "Organization: %s (%s)\n", me.Org.Name, me.Org.ID)
	if me.APIKeyID != nil {
		fmt.Fprintf(stdout, "API key:      %s\n", *me.APIKeyID)
	}
	if me.Role != nil {
		fmt.Fprintf(stdout, "Role:         %s (its creator's)\n", *me.Role)
	}
	fmt.Fprintf(stdout, "Scopes:       %s\n", strings.Join(me.Scopes, " "))
	return nil
}

func runDashboard(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("dashboard", stderr, true)
	redirect := f.fs.String("redirect-to", "", "dashboard page to open (a path or a URL on the dashboard)")
	if err := f.parse(args); err != nil {
		return err
	}
	s, err := loadSession(f)
	if err != nil {
		return err
	}
	t, err := s.api.CreateDashboardToken(ctx, *redirect)
	if err != nil {
		return explain(err)
	}
	fmt.Fprintf(stdout, "Open the dashboard (single use, valid until %s):\n\n  %s\n", t.ExpiresAt.Local().Format("15:04:05"), t.URL)
	if !f.noBrowser {
		openBrowser(t.URL, stderr)
	}
	return nil
}
