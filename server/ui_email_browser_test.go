package server_test

import (
	"context"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/latchkeytest"
)

// chromium starts headless Chromium for one test. Without Chromium the
// test is skipped, except under CI=true, where it fails.
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
		t.Skipf("no Chromium at %s (apt-get install chromium, or set LATCHKEY_CHROMIUM)", path)
	}
	ctx, cancelTimeout := context.WithTimeout(context.Background(), 2*time.Minute)
	alloc, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir()), chromedp.Headless,
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("password-store", "basic"),
	)
	tab, cancelTab := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancelTab(); cancelAlloc(); cancelTimeout() })
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	return tab
}

// waitJS waits until a JavaScript expression is true in the page.
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		if err == nil && ok {
			return
		}
		select {
		case <-ctx.Done():
			loc, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Location())
			t.Fatalf("waiting for %s (%s) at %s: %v", what, expr, loc, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

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
	ctx := chromium(t)
	api, _, code := env.register(t, "pia@example.com")
	orgName, _ := api.Get("auth.me").Obj("org")["name"].(string)

	do(t, ctx, chromedp.Navigate(env.URL+"/forgot-password"),
		chromedp.SendKeys("#email", "pia@example.com"), chromedp.Click("button[type=submit]"))
	waitJS(t, ctx, "the confirmation", `document.querySelector(".alert[data-kind=ok]")`)
	token := tokenOf(t, env.SMTP.Next(t, "pia@example.com"), env.URL+"/reset-password")

	do(t, ctx, chromedp.Navigate(env.URL+"/reset-password?token="+token),
		chromedp.SendKeys("#new_password", "a brand new password"), chromedp.Click("button[type=submit]"))
	waitJS(t, ctx, "the sign-in page", `location.pathname === "/login"`)
	do(t, ctx, chromedp.WaitVisible("#email"), chromedp.SendKeys("#email", "pia@example.com"),
		chromedp.SendKeys("#password", "a brand new password"), chromedp.Click("form[data-op='auth.login'] button[type=submit]"))
	waitJS(t, ctx, "the account page", `document.getElementById("me-email")?.textContent === "pia@example.com"`)
	waitJS(t, ctx, "verified by the reset link", `document.getElementById("me-verified")?.textContent === "Yes"`)

	// The reset link proved the mailbox; a code still verifies nothing more,
	// so the verify page answers that the address is verified already.
	do(t, ctx, chromedp.Navigate(env.URL+"/verify-email"), chromedp.SendKeys("#code", code),
		chromedp.Click("form[data-op='auth.email.verify'] button[type=submit]"))
	waitJS(t, ctx, "the already-verified error", `document.querySelector(".alert[data-kind=error]")?.textContent.includes("already verified")`)

	r := api.Call("auth.refresh", nil) // the API client's own session was revoked by the reset
	want(t, "refresh after reset", r, http.StatusUnauthorized, "invalid_token")
	owner := env.Client(t)
	want(t, "owner signs in", owner.Call("auth.login", map[string]any{"email": "pia@example.com", "password": "a brand new password"}), http.StatusOK, "")
	_, invite := env.invite(t, owner, "quinn@example.com", "member")
	do(t, ctx, chromedp.Navigate(env.URL+"/invite?token="+invite), chromedp.SendKeys("#name", "Quinn"),
		chromedp.SendKeys("#password", "quinn's own password"), chromedp.Click("button[type=submit]"))
	waitJS(t, ctx, "the new member's account page", `document.getElementById("me-email")?.textContent === "quinn@example.com"`)
	waitJS(t, ctx, "the inviting org", `document.getElementById("me-org")?.textContent === `+strconv.Quote(orgName))
}

// The verify-email page takes the code from the mail.
func TestVerifyEmailPageInChromium(t *testing.T) {
	env := startMailEnv(t, latchkeytest.SQLite(t), nil)
	ctx := chromium(t)
	do(t, ctx, chromedp.Navigate(env.URL+"/signup"), chromedp.SendKeys("#email", "ray@example.com"),
		chromedp.SendKeys("#password", "correct horse battery"), chromedp.Click("button[type=submit]"))
	waitJS(t, ctx, "the account page", `document.getElementById("me-verified")?.textContent === "Not yet"`)
	first := codeOf(t, env.SMTP.Next(t, "ray@example.com"))
	do(t, ctx, chromedp.Navigate(env.URL+"/verify-email"),
		chromedp.Click("form[data-op='auth.email.send_verification_code'] button[type=submit]"))
	waitJS(t, ctx, "the new-code notice", `document.querySelector(".alert[data-kind=ok]")`)
	second := codeOf(t, env.SMTP.Next(t, "ray@example.com"))
	if first != second {
		do(t, ctx, chromedp.SendKeys("#code", first), chromedp.Click("form[data-op='auth.email.verify'] button[type=submit]"))
		waitJS(t, ctx, "the superseded-code error", `document.querySelector(".alert[data-kind=error]")`)
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("code").value = ""`)); err != nil {
			t.Fatal(err)
		}
	}
	do(t, ctx, chromedp.SendKeys("#code", second), chromedp.Click("form[data-op='auth.email.verify'] button[type=submit]"))
	waitJS(t, ctx, "verified on the account page", `location.pathname === "/account" && document.getElementById("me-verified")?.textContent === "Yes"`)
}
