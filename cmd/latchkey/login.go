package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/secret"
)

// serverEnv names the server the CLI speaks to, below --server.
const serverEnv = "LATCHKEY_SERVER"

const defaultServer = "http://localhost:8080"

// clientFlags are the flags every client command shares.
type clientFlags struct {
	fs        *flag.FlagSet
	server    string
	noBrowser bool
}

func newClientFlags(name string, stderr io.Writer, browser bool) *clientFlags {
	f := &clientFlags{fs: flag.NewFlagSet("latchkey "+name, flag.ContinueOnError)}
	f.fs.SetOutput(stderr)
	f.fs.StringVar(&f.server, "server", "", "Latchkey server URL ($"+serverEnv+", default the logged-in server or "+defaultServer+")")
	if browser {
		f.fs.BoolVar(&f.noBrowser, "no-browser", os.Getenv("LATCHKEY_NO_BROWSER") != "", "print the URL without opening a browser ($LATCHKEY_NO_BROWSER)")
	}
	return f
}

func (f *clientFlags) parse(args []string) error {
	if err := f.fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return errHelp
	} else if err != nil {
		return err
	}
	if f.fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", f.fs.Arg(0))
	}
	return nil
}

// serverURL is --server, else $LATCHKEY_SERVER, else stored, else the default.
func (f *clientFlags) serverURL(stored string) (string, error) {
	s := f.server
	if s == "" {
		s = os.Getenv(serverEnv)
	}
	if s == "" {
		s = stored
	}
	if s == "" {
		s = defaultServer
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("server %q is not an http(s) URL", s)
	}
	return strings.TrimRight(s, "/"), nil
}

func newAPIClient(server string) *client.Client {
	c := client.New(server)
	c.UserAgent = "latchkey-cli"
	return c
}

func runLogin(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newClientFlags("login", stderr, true)
	timeout := f.fs.Duration("timeout", 5*time.Minute, "how long to wait for the browser")
	scopes := f.fs.String("scopes", "api:read,api:write", "comma-separated scopes to ask for (api:read, api:write, org:admin)")
	name := f.fs.String("name", "", "name of the key (default: latchkey CLI on <host name>)")
	publishable := f.fs.Bool("publishable-key", false, "also fetch the org's publishable key")
	if err := f.parse(args); err != nil {
		return err
	}
	server, err := f.serverURL("")
	if err != nil {
		return err
	}
	path, err := credentialsPath(os.Getenv)
	if err != nil {
		return err
	}
	if *name == "" {
		host, _ := os.Hostname()
		*name = strings.TrimSpace("latchkey CLI on " + host)
	}

	// Fail now, not after the browser round trip, when the server is not there.
	if err := newAPIClient(server).Call(ctx, "auth.providers", nil, nil); err != nil {
		return fmt.Errorf("cannot reach the Latchkey server at %s: %w", server, err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("opening a local port for the browser to come back to: %w", err)
	}
	state := randomState()
	results := make(chan callbackResult, 1)
	hs := &http.Server{Handler: callbackHandler(state, results), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer func() {
		// Graceful, so the browser gets its "signed in" page in full.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		hs.Shutdown(ctx)
	}()

	callback := "http://" + ln.Addr().String() + "/callback"
	q := url.Values{"callback_url": {callback}, "state": {state}, "key_name": {*name}, "scopes": {strings.ReplaceAll(*scopes, ",", " ")}}
	if *publishable {
		q.Set("publishable", "1")
	}
	authorize := server + "/cli/authorize?" + q.Encode()
	fmt.Fprintf(stdout, "To sign in, open this URL in your browser:\n\n  %s\n\nWaiting for the browser (up to %s)...\n", authorize, *timeout)
	if !f.noBrowser {
		openBrowser(authorize, stderr)
	}

	var res callbackResult
	select {
	case res = <-results:
	case <-time.After(*timeout):
		return fmt.Errorf("no answer from the browser within %s", *timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
	if res.err != nil {
		return res.err
	}
	me, err := newAPIClient(server).WithToken(res.key).Me(ctx)
	if err != nil {
		return fmt.Errorf("checking the new key: %w", err)
	}
	if me.APIKeyID == nil || me.Org.ID != res.orgID {
		return errors.New("the server answered for a different organization than the browser approved")
	}
	previous, _ := loadCredentials(path) // nil when not logged in (or unreadable)
	cred := &credentials{Server: server, APIKey: res.key, APIKeyID: *me.APIKeyID, OrgID: me.Org.ID, OrgName: me.Org.Name, PublishableKey: res.publishable}
	if err := saveCredentials(path, cred); err != nil {
		return fmt.Errorf("storing the key: %w", err)
	}
	fmt.Fprintf(stdout, "Logged in to %s for the organization %s (%s) with key %s [%s].\n",
		server, me.Org.Name, me.Org.ID, *me.APIKeyID, strings.Join(me.Scopes, " "))
	if previous != nil && previous.APIKey != "" && previous.APIKeyID != cred.APIKeyID {
		revokePrevious(ctx, previous, stdout, stderr)
	}
	return nil
}

// revokePrevious revokes the key a new login replaced, as `gh auth login`
// does: a key forgotten by the CLI but still valid would be a live secret
// nobody looks after. A key that is dead already needs nothing; any other
// failure is reported so the user can revoke it in the dashboard.
func revokePrevious(ctx context.Context, old *credentials, stdout, stderr io.Writer) {
	var e *client.Error
	err := newAPIClient(old.Server).WithToken(old.APIKey).RevokeAPIKey(ctx, old.APIKeyID)
	switch {
	case err == nil:
		fmt.Fprintf(stdout, "Revoked the previous key %s (%s).\n", old.APIKeyID, old.Server)
	case errors.As(err, &e) && e.Code == "invalid_token":
		fmt.Fprintf(stdout, "The previous key %s was already revoked.\n", old.APIKeyID)
	default:
		fmt.Fprintf(stderr, "latchkey: could not revoke the previous key %s at %s: %v; revoke it in the dashboard (API keys).\n", old.APIKeyID, old.Server, err)
	}
}

type callbackResult struct {
	key, orgID, publishable string
	err                     error
}

// callbackHandler receives the browser's redirect. A request without the
// right state is refused and the wait goes on: any local page could send
// one, and it must neither plant a key nor cancel the sign-in.
func callbackHandler(state string, results chan<- callbackResult) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if !secret.Equal(q.Get("state"), state) {
			http.Error(w, "This sign-in link does not belong to the waiting latchkey command.", http.StatusBadRequest)
			return
		}
		var res callbackResult
		switch {
		case q.Get("error") != "":
			res.err = fmt.Errorf("the sign-in was not approved (%s)", q.Get("error"))
			fmt.Fprintln(w, "Sign-in cancelled. You can close this window.")
		case !strings.HasPrefix(q.Get("key"), "sk_live_") || q.Get("org_id") == "":
			http.Error(w, "The sign-in answer is incomplete.", http.StatusBadRequest)
			return
		default:
			res = callbackResult{key: q.Get("key"), orgID: q.Get("org_id"), publishable: q.Get("publishable_key")}
			fmt.Fprintln(w, "Signed in. You can close this window and return to your terminal.")
		}
		select {
		case results <- res:
		default: // an answer was already taken
		}
	})
	return mux
}

func randomState() string {
	var b [24]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
