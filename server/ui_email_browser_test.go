package server_test

import (
	"context"
	"net/http"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/browsertest"
	"github.com/latchkey/latchkey/latchkeytest"
)

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// A person resets a forgotten password, verifies the address and accepts
// an invitation, all through the built-in pages, reading the mail that
// the SMTP server caught.
func TestEmailPagesInChromium(t *testing.T) {
	env := startMailEnv(t, latchkeytest.SQLite(t), nil)
	ctx := browsertest.New(t)
	api, _, code := env.register(t, "pia@example.com")
	orgName, _ := api.Get("auth.me").Obj("org")["name"].(string)

	do(t, ctx, chromedp.Navigate(env.URL+"/forgot-password"),
		chromedp.SendKeys("#email", "pia@example.com"), chromedp.Click("button[type=submit]"))
	browsertest.WaitFor(t, ctx, `document.querySelector(".alert[data-kind=ok]")`)
	token := tokenOf(t, env.SMTP.Next(t, "pia@example.com"), env.URL+"/reset-password")

	do(t, ctx, chromedp.Navigate(env.URL+"/reset-password?token="+token),
		chromedp.SendKeys("#new_password", "a brand new password"), chromedp.Click("button[type=submit]"))
	browsertest.WaitFor(t, ctx, `location.pathname === "/login"`)
	do(t, ctx, chromedp.WaitVisible("#email"), chromedp.SendKeys("#email", "pia@example.com"),
		chromedp.SendKeys("#password", "a brand new password"), chromedp.Click("form[data-op='auth.login'] button[type=submit]"))
	browsertest.WaitFor(t, ctx, `document.getElementById("me-email")?.textContent === "pia@example.com"`)
	browsertest.WaitFor(t, ctx, `document.getElementById("me-verified")?.textContent === "Yes"`)

	// The reset link proved the mailbox; a code still verifies nothing more,
	// so the verify page answers that the address is verified already.
	do(t, ctx, chromedp.Navigate(env.URL+"/verify-email"), chromedp.SendKeys("#code", code),
		chromedp.Click("form[data-op='auth.email.verify'] button[type=submit]"))
	browsertest.WaitFor(t, ctx, `document.querySelector(".alert[data-kind=error]")?.textContent.includes("already verified")`)

	r := api.Call("auth.refresh", nil) // the API client's own session was revoked by the reset
	want(t, "refresh after reset", r, http.StatusUnauthorized, "invalid_token")
	owner := env.Client(t)
	want(t, "owner signs in", owner.Call("auth.login", map[string]any{"email": "pia@example.com", "password": "a brand new password"}), http.StatusOK, "")
	_, invite := env.invite(t, owner, "quinn@example.com", "member")
	do(t, ctx, chromedp.Navigate(env.URL+"/invite?token="+invite), chromedp.SendKeys("#name", "Quinn"),
		chromedp.SendKeys("#password", "quinn's own password"), chromedp.Click("button[type=submit]"))
	browsertest.WaitFor(t, ctx, `document.getElementById("me-email")?.textContent === "quinn@example.com"`)
	browsertest.WaitFor(t, ctx, `document.getElementById("me-org")?.textContent === `+strconv.Quote(orgName))
}

// The verify-email page takes the code from the mail.
func TestVerifyEmailPageInChromium(t *testing.T) {
	env := startMailEnv(t, latchkeytest.SQLite(t), nil)
	ctx := browsertest.New(t)
	do(t, ctx, chromedp.Navigate(env.URL+"/signup"), chromedp.SendKeys("#email", "ray@example.com"),
		chromedp.SendKeys("#password", "correct horse battery"), chromedp.Click("button[type=submit]"))
	browsertest.WaitFor(t, ctx, `document.getElementById("me-verified")?.textContent === "Not yet"`)
	first := codeOf(t, env.SMTP.Next(t, "ray@example.com"))
	browsertest.WaitFor(t, ctx, `!document.getElementById("verify-hint").hidden`)
	do(t, ctx, chromedp.Click("#verify-hint a"))
	browsertest.WaitFor(t, ctx, `location.pathname === "/verify-email"`)
	do(t, ctx, chromedp.Click("form[data-op='auth.email.send_verification_code'] button[type=submit]"))
	browsertest.WaitFor(t, ctx, `document.querySelector(".alert[data-kind=ok]")`)
	second := codeOf(t, env.SMTP.Next(t, "ray@example.com"))
	if first != second {
		do(t, ctx, chromedp.SendKeys("#code", first), chromedp.Click("form[data-op='auth.email.verify'] button[type=submit]"))
		browsertest.WaitFor(t, ctx, `document.querySelector(".alert[data-kind=error]")`)
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("code").value = ""`)); err != nil {
			t.Fatal(err)
		}
	}
	do(t, ctx, chromedp.SendKeys("#code", second), chromedp.Click("form[data-op='auth.email.verify'] button[type=submit]"))
	browsertest.WaitFor(t, ctx, `location.pathname === "/account" && document.getElementById("me-verified")?.textContent === "Yes"`)
	browsertest.WaitFor(t, ctx, `document.getElementById("verify-hint").hidden`)
}
