package browsertest_test

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/browsertest"
	"github.com/latchkey/latchkey/passkey"
)

// page creates a passkey and signs in with it, the way the built-in pages
// do: options from the server, the browser's JSON helpers, toJSON() back.
const page = `<!doctype html><title>passkey</title>
<script>
async function post(path, body) {
  const r = await fetch(path, {method: "POST", body: body === undefined ? "" : JSON.stringify(body)});
  if (!r.ok) throw new Error(path + ": " + r.status + " " + await r.text());
  return r.json();
}
async function run() {
  const creation = await post("/register/begin");
  const created = await navigator.credentials.create({
    publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(creation.publicKey)});
  await post("/register/finish", created.toJSON());
  const request = await post("/login/begin");
  const got = await navigator.credentials.get({
    publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(request.publicKey)});
  const res = await post("/login/finish", got.toJSON());
  return res.user;
}
</script>`

// rpServer is a minimal relying party over the passkey package.
type rpServer struct {
	rp      *passkey.RelyingParty
	mu      sync.Mutex
	session []byte
	user    passkey.User
}

func (s *rpServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	body, _ := io.ReadAll(r.Body)
	var c passkey.Ceremony
	var err error
	switch r.URL.Path {
	case "/":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
		return
	case "/register/begin":
		c, err = s.rp.BeginRegistration(s.user)
	case "/register/finish":
		var reg passkey.Registration
		if reg, err = s.rp.FinishRegistration(s.session, body); err == nil {
			s.user.Credentials = append(s.user.Credentials, reg.Credential)
			c.Options = []byte(`{}`)
		}
	case "/login/begin":
		c, err = s.rp.BeginDiscoverableLogin()
	case "/login/finish":
		lookup := func(id []byte) (passkey.User, error) { return s.user, nil }
		var a passkey.Assertion
		if a, err = s.rp.FinishLogin(s.session, body, lookup); err == nil {
			c.Options = []byte(`{"user":"` + string(a.UserHandle) + `"}`)
		}
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.session = c.Session
	w.Header().Set("Content-Type", "application/json")
	w.Write(c.Options)
}

func TestVirtualAuthenticatorCreatesAndUsesAPasskey(t *testing.T) {
	ctx := browsertest.New(t)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// Chromium treats http://localhost as a secure context, which WebAuthn
	// needs, and resolves it to loopback itself; an IP cannot be an RP ID.
	origin := "http://localhost:" + portOf(t, ln)
	rp, err := passkey.New(passkey.Config{RPID: "localhost", RPDisplayName: "Latchkey test", Origins: []string{origin}})
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: ln, Config: &http.Server{Handler: &rpServer{
		rp:   rp,
		user: passkey.User{Handle: []byte("usr_browser"), Name: "browser@example.test"},
	}}}
	srv.Start()
	t.Cleanup(srv.Close)

	authID := browsertest.AddVirtualAuthenticator(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate(origin+"/")); err != nil {
		t.Fatal(err)
	}
	user, err := chromedp.Run(ctx, chromedp.Evaluate[string](`run()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("ceremonies in the page: %v", err)
	}
	if user != "usr_browser" {
		t.Fatalf("signed in as %q, want usr_browser", user)
	}
	creds := browsertest.Credentials(t, ctx, authID)
	if len(creds) != 1 || !creds[0].IsResidentCredential || !bytes.Equal(creds[0].UserHandle, []byte("usr_browser")) {
		t.Fatalf("virtual authenticator holds %+v, want one resident credential for usr_browser", creds)
	}
}

func portOf(t *testing.T, ln net.Listener) string {
	t.Helper()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return port
}
