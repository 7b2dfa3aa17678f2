package server_test

import (
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/browsertest"
	"github.com/latchkey/latchkey/latchkeytest"
)

// A person's path through the built-in pages in headless Chromium with the
// DevTools virtual authenticator: sign up with a passkey, sign out, sign in
// with it (without and with the email), and find it on the account page.
func TestPasskeyPagesInChromium(t *testing.T) {
	ctx := browsertest.New(t)
	env := newPasskeyEnv(t, latchkeytest.SQLite(t))
	authID := browsertest.AddVirtualAuthenticator(t, ctx)
	do := func(actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatal(err)
		}
	}

	// Sign up.
	do(chromedp.Navigate(env.Origin + "/signup"))
	browsertest.WaitFor(t, ctx, `!document.getElementById("passkey-signup-box").hidden`)
	do(chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"), chromedp.Click(chromedp.ID("passkey-signup")))
	browsertest.WaitFor(t, ctx, `location.pathname === "/account" && document.getElementById("me-email").textContent === "ada@example.com"`)
	browsertest.WaitFor(t, ctx, `document.querySelectorAll("#passkeys li[data-id]").length === 1`)
	if creds := browsertest.Credentials(t, ctx, authID); len(creds) != 1 || !creds[0].IsResidentCredential {
		t.Fatalf("virtual authenticator holds %d credentials, want one resident", len(creds))
	}
	// A password-less account has no password form to show.
	browsertest.WaitFor(t, ctx, `document.getElementById("password-section").hidden`)

	// Sign out, then sign in with the passkey alone (discoverable).
	do(chromedp.Click(chromedp.ID("logout")))
	browsertest.WaitFor(t, ctx, `location.pathname === "/login" && !document.getElementById("passkey-login-box").hidden`)
	do(chromedp.Click(chromedp.ID("passkey-login")))
	browsertest.WaitFor(t, ctx, `location.pathname === "/account" && document.getElementById("me-email").textContent === "ada@example.com"`)

	// The account page lists the passkey, now used.
	browsertest.WaitFor(t, ctx, `(() => {
		const items = document.querySelectorAll("#passkeys li[data-id]");
		return items.length === 1 && items[0].querySelector(".passkey-name").textContent === "Passkey" &&
			!items[0].textContent.includes("last used never");
	})()`)

	// Sign out and in again, this time with the email typed first.
	do(chromedp.Click(chromedp.ID("logout")))
	browsertest.WaitFor(t, ctx, `location.pathname === "/login" && !document.getElementById("passkey-login-box").hidden`)
	do(chromedp.SendKeys(chromedp.ID("email"), "ada@example.com"), chromedp.Click(chromedp.ID("passkey-login")))
	browsertest.WaitFor(t, ctx, `location.pathname === "/account" && document.getElementById("me-email").textContent === "ada@example.com"`)
	browsertest.WaitFor(t, ctx, `document.querySelectorAll("#passkeys li[data-id]").length === 1`)
}
