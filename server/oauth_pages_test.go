package server_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/browsertest"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/oauth/oauthtest"
)

func TestOAuthPagesInBrowser(t *testing.T) {
	e := newOAuthEnv(t, latchkeytest.SQLite(t))
	e.idp.SetUser(oauthtest.User{Subject: "page-1", Email: "page@example.com", EmailVerified: true, Name: "Page"})
	ctx := browsertest.New(t)

	// Sign in with the provider button; /auth/callback exchanges the code
	// and moves on to the account page.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.URL+"/login")); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor(t, ctx, `[...document.querySelectorAll("#methods a")].some(a => a.textContent === "Continue with Acme")`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll("#methods a")].find(a => a.textContent === "Continue with Acme").click() || true`)); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor(t, ctx, `location.pathname === "/account" && document.getElementById("me-email").textContent === "page@example.com"`)
	browsertest.WaitFor(t, ctx, `document.getElementById("identities").textContent.includes("Acme")`)
	disabled, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#identities button").disabled`))
	if err != nil || !disabled {
		t.Errorf("Disconnect of the only sign-in method must be disabled (err %v)", err)
	}

	// Connect GitHub, whose account already belongs to someone else with a
	// password: the transfer page asks, and moves it on confirmation.
	other := e.Client(t)
	e.signInAndExchange(t, other, "github")
	if r := other.Call("auth.password.set", map[string]any{"password": "correct horse battery"}); r.Status != 200 {
		t.Fatalf("password.set: %d %s", r.Status, r.Body)
	}
	browsertest.WaitFor(t, ctx, `[...document.querySelectorAll("#connect button")].some(b => b.textContent === "Connect GitHub")`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`[...document.querySelectorAll("#connect button")].find(b => b.textContent === "Connect GitHub").click() || true`)); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor(t, ctx, `location.pathname === "/auth/transfer" && document.getElementById("transfer-form").dataset.ready === "true"`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#transfer-form button").click() || true`)); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor(t, ctx, `document.querySelector(".alert").dataset.kind === "ok"`)
	if ids := e.identities(t, other); len(ids) != 0 {
		t.Errorf("after the transfer the other account still has %v", ids)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(e.URL+"/account")); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor(t, ctx, `document.getElementById("identities").textContent.includes("GitHub")`)

	// A used code shows a readable error and a way back.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.URL+"/auth/callback?code=used-or-made-up")); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor(t, ctx, `!document.querySelector(".alert").hidden && document.querySelector(".alert").textContent.includes("expired or was already used")`)
	if href, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href`)); strings.Contains(href, "code=") {
		t.Errorf("the code stayed in the address bar: %s", href)
	}

	// Failures arrive at the sign-in page in words.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.URL+"/login?error=account_exists")); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitFor(t, ctx, `!document.querySelector(".alert").hidden && document.querySelector(".alert").textContent.includes("already exists")`)
}
