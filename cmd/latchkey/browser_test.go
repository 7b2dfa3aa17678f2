package main_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/latchkeytest"
)

// chromium starts headless Chromium for a page test, skipped where
// Debian's chromium is not installed (and failed under CI=true).
func chromium(t *testing.T) context.Context {
	t.Helper()
	path := "/usr/bin/chromium"
	if p := os.Getenv("LATCHKEY_CHROMIUM"); p != "" {
		path = p
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no Chromium at %s", path)
		}
		t.Skipf("no Chromium at %s: browser test skipped", path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute) // bounds a hung page, not a speed check
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx, chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir()),
		chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true))
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelTab(); cancelAlloc(); cancel() })
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return tab
}

// waitFor polls a JavaScript expression until it is truthy, across page
// loads, and fails with what the page shows when the browser context ends.
func waitFor(t *testing.T, ctx context.Context, expr string) {
	t.Helper()
	js := `(() => { try { return !!(` + expr + `) } catch (e) { return false } })()`
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			text, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Evaluate[string](`location.href + "\n" + document.body.innerText`))
			t.Fatalf("waiting for %s: %v; the page shows:\n%s", expr, ctx.Err(), text)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

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
	ctx := chromium(t)
	c := newCLI(t, env.URL)
	l := c.startLogin("--name", "build box")

	if err := chromedp.Do(ctx, chromedp.Navigate(l.authorize.String())); err != nil {
		t.Fatal(err)
	}
	// Not signed in: the page sends the browser to sign in, and back.
	waitFor(t, ctx, `location.pathname === "/login" && new URLSearchParams(location.search).get("next").startsWith("/cli/authorize?")`)
	eval(t, ctx, `document.getElementById("email").value = "ada@example.com"; document.getElementById("password").value = "correct horse battery"; document.querySelector("form").requestSubmit()`)
	waitFor(t, ctx, `location.pathname === "/cli/authorize" && !document.getElementById("cli-approve").disabled`)
	waitFor(t, ctx, `document.getElementById("cli-who").textContent.includes("ada@example.com")`)
	waitFor(t, ctx, `document.querySelector("h2").textContent.includes("build box") && document.body.textContent.includes("api:write")`)

	eval(t, ctx, `document.getElementById("cli-approve").click()`)
	waitFor(t, ctx, `location.port !== "" && location.pathname === "/callback" && document.body.textContent.includes("Signed in")`)
	if err := l.wait(t); err != nil {
		t.Fatalf("latchkey login: %v\n%s%s", err, l.stdout, l.stderr)
	}
	out, errOut, err := c.run("whoami")
	if err != nil || !strings.Contains(out, "api:read api:write") {
		t.Fatalf("whoami: %v\n%s%s", err, out, errOut)
	}
}
