package main_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/browsertest"
	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/latchkeytest"
)

func eval(t *testing.T, ctx context.Context, js string) {
	t.Helper()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { `+js+`; return true })()`)); err != nil {
		t.Fatalf("%s: %v", js, err)
	}
}

// TestLoginThroughTheBrowserPage drives the real page in Chromium: the
// CLI's URL, sign-in and back, Approve, and the browser's trip to the
// CLI's loopback listener.
func TestLoginThroughTheBrowserPage(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	if _, err := client.New(env.URL).Register(context.Background(), "ada@example.com", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	ctx := browsertest.New(t)
	c := newCLI(t, env.URL)
	l := c.startLogin("--name", "build box")

	if err := chromedp.Do(ctx, chromedp.Navigate(l.authorize.String())); err != nil {
		t.Fatal(err)
	}
	// Not signed in: the page sends the browser to sign in, and back. The
	// form is filled once the page module has run (readyState "complete"
	// comes after module scripts), or it would submit natively.
	browsertest.WaitFor(t, ctx, `location.pathname === "/login" && new URLSearchParams(location.search).get("next").startsWith("/cli/authorize?") && document.readyState === "complete"`)
	eval(t, ctx, `document.getElementById("email").value = "ada@example.com"; document.getElementById("password").value = "correct horse battery"; document.querySelector("form").requestSubmit()`)
	browsertest.WaitFor(t, ctx, `location.pathname === "/cli/authorize" && !document.getElementById("cli-approve").disabled`)
	browsertest.WaitFor(t, ctx, `document.getElementById("cli-who").textContent.includes("ada@example.com")`)
	browsertest.WaitFor(t, ctx, `document.querySelector("h2").textContent.includes("build box") && document.body.textContent.includes("api:write")`)

	eval(t, ctx, `document.getElementById("cli-approve").click()`)
	browsertest.WaitFor(t, ctx, `location.port !== "" && location.pathname === "/callback" && document.body.textContent.includes("Signed in")`)
	if err := l.wait(t); err != nil {
		t.Fatalf("latchkey login: %v\n%s%s", err, l.stdout, l.stderr)
	}
	out, errOut, err := c.run("whoami")
	if err != nil || !strings.Contains(out, "api:read api:write") {
		t.Fatalf("whoami: %v\n%s%s", err, out, errOut)
	}
}
