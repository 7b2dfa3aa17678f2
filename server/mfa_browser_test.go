package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/browsertest"
	"github.com/latchkey/latchkey/latchkeytest"
)

// A person turns on two-factor authentication on the account page (the
// test reads the key off the page, as an authenticator app would from the
// QR code), signs out, signs in with password and code, then with a
// recovery code.
func TestMFAPagesInChromium(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	ctx := browsertest.New(t)
	do(t, ctx, chromedp.Navigate(env.URL+"/signup"), chromedp.SendKeys("#email", "mo@example.com"),
		chromedp.SendKeys("#password", pw), chromedp.Click("button[type=submit]"))
	browsertest.WaitFor(t, ctx, `document.getElementById("mfa-status")?.dataset.on === "false"`)

	do(t, ctx, chromedp.Click("#mfa-enroll"))
	browsertest.WaitFor(t, ctx, `document.getElementById("mfa-secret").textContent.length >= 16 && document.getElementById("mfa-qr").complete && document.getElementById("mfa-qr").naturalWidth > 0`)
	secret, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("mfa-secret").textContent`))
	if err != nil {
		t.Fatal(err)
	}
	do(t, ctx, chromedp.SendKeys("#mfa-confirm-code", totpAt(t, secret, env.Clock.Now())), chromedp.Click("#mfa-confirm-form button[type=submit]"))
	browsertest.WaitFor(t, ctx, `document.querySelectorAll("#recovery-codes li").length === 10`)
	browsertest.WaitFor(t, ctx, `document.getElementById("mfa-status").dataset.on === "true"`)
	joined, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll("#recovery-codes li")].map(li => li.textContent).join(" ")`))
	if err != nil {
		t.Fatal(err)
	}
	codes := strings.Fields(joined)
	if len(codes) != 10 || !recoveryCodeShape.MatchString(codes[0]) {
		t.Fatalf("recovery codes on the page: %q", joined)
	}
	if href, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("recovery-download").href`)); !strings.HasPrefix(href, "blob:") {
		t.Fatalf("download link %q", href)
	}

	signInTwoStep := func(useRecovery bool, code string) {
		t.Helper()
		do(t, ctx, chromedp.Click("#logout"))
		browsertest.WaitFor(t, ctx, `location.pathname === "/login"`)
		do(t, ctx, chromedp.WaitVisible("#email"), chromedp.SendKeys("#email", "mo@example.com"),
			chromedp.SendKeys("#password", pw), chromedp.Click("#login-form button[type=submit]"))
		browsertest.WaitFor(t, ctx, `!document.getElementById("mfa-step").hidden && document.getElementById("login-form").hidden`)
		if useRecovery {
			do(t, ctx, chromedp.Click("#mfa-use-recovery"))
			browsertest.WaitFor(t, ctx, `document.getElementById("mfa-code-label").textContent === "Recovery code"`)
		}
		do(t, ctx, chromedp.SendKeys("#mfa-code", code), chromedp.Click("#mfa-form button[type=submit]"))
		browsertest.WaitFor(t, ctx, `document.getElementById("me-email")?.textContent === "mo@example.com"`)
	}
	env.Clock.Advance(30 * time.Second) // the enrolling code's step is spent
	signInTwoStep(false, totpAt(t, secret, env.Clock.Now()))
	signInTwoStep(true, codes[0])
	browsertest.WaitFor(t, ctx, `document.getElementById("mfa-status").textContent.includes("9 recovery codes left")`)
}
