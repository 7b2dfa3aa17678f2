package server_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/browsertest"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/sso/ssotest"
)

// TestSSOSignInPage types an email on the built-in sign-in page, follows
// "Continue with SSO" through the IdP and lands signed in on the account
// page.
func TestSSOSignInPage(t *testing.T) {
	ctx := browsertest.New(t)
	e := newSSOEnv(t, latchkeytest.SQLite(t), "owner@admins.test")
	idp := ssotest.New(t, ssotest.User{NameID: "page-alice", Email: "alice@pages.test", Name: "Alice"})
	e.createConnection(t, map[string]any{
		"protocol": "saml", "domains": []string{"pages.test"}, "enforced": true, "idp_metadata_url": idp.MetadataURL,
	})
	id := func(s string) chromedp.ID { return chromedp.ID(s) }
	run := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	js := func(expr string) bool {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}

	run("open", chromedp.Navigate(e.env.URL+"/login"), chromedp.WaitVisible(id("email")))
	// A domain without a connection: a discovery round trip, then no SSO.
	run("type", chromedp.SendKeys(id("email"), "someone@elsewhere.test"), chromedp.Blur(id("email")))
	browsertest.WaitFor(t, ctx, `performance.getEntriesByName(location.origin + "/v1/auth.sso.discover").length >= 1`)
	if js(`getComputedStyle(document.getElementById("sso")).display !== "none"`) {
		t.Fatal("SSO offered for a domain without a connection")
	}
	js(`(document.getElementById("email").value = "", true)`)
	run("type SSO email", chromedp.SendKeys(id("email"), "alice@pages.test"), chromedp.Blur(id("email")))
	run("SSO offered", chromedp.WaitVisible(id("sso-start")))
	if !js(`getComputedStyle(document.getElementById("password")).display === "none"`) ||
		js(`getComputedStyle(document.getElementById("sso-note")).display === "none"`) {
		t.Error("required SSO should hide the password and say why")
	}
	run("continue", chromedp.Click(id("sso-start")))
	browsertest.WaitFor(t, ctx, `location.pathname === "/account" && document.getElementById("me-email") && document.getElementById("me-email").textContent.includes("@")`)
	account, err := chromedp.Run(ctx, chromedp.Text(id("me-email")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(account) != "alice@pages.test" {
		t.Errorf("account page shows %q", account)
	}
}
