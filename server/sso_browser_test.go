package server_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/sso/ssotest"
)

// browser starts headless Chromium for one test, or skips without it.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("LATCHKEY_TEST_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no Chromium at %s (set LATCHKEY_TEST_CHROMIUM)", path)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

// TestSSOSignInPage types an email on the built-in sign-in page, follows
// "Continue with SSO" through the IdP and lands signed in on the account
// page.
func TestSSOSignInPage(t *testing.T) {
	ctx := browser(t)
	e := newSSOEnv(t, latchkeytest.SQLite(t), "owner@admins.test")
	idp := ssotest.New(t, ssotest.User{NameID: "page-alice", Email: "alice@pages.test", Name: "Alice"})
	e.createConnection(t, map[string]any{
		"protocol": "saml", "domains": []string{"pages.test"}, "enforced": true, "idp_metadata_url": idp.MetadataURL,
	})
	id := func(s string) chromedp.ID { return chromedp.ID(s) }
	steps := []struct {
		name string
		do   chromedp.Action[chromedp.Void]
	}{
		{"open", chromedp.Navigate(e.env.URL + "/login")},
		{"page", chromedp.WaitVisible(id("email"))},
		{"type other", chromedp.SendKeys(id("email"), "someone@elsewhere.test")},
		{"blur", chromedp.Blur(id("email"))},
		{"settle", chromedp.Sleep(300 * time.Millisecond)}, // let a wrong answer show, if any
		{"no SSO", chromedp.WaitNotVisible(id("sso"))},
		{"clear", chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`(document.getElementById("email").value = "", true)`)(ctx, t)
			return err
		})},
		{"type SSO", chromedp.SendKeys(id("email"), "alice@pages.test")},
		{"blur again", chromedp.Blur(id("email"))},
		{"SSO offered", chromedp.WaitVisible(id("sso-start"))},
	}
	for _, st := range steps {
		if err := chromedp.Do(ctx, st.do); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
	}
	passwordHidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("password").hidden`))
	if err != nil {
		t.Fatal(err)
	}
	noteHidden, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById("sso-note").hidden`))
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.Click(id("sso-start")),
		chromedp.WaitVisible(id("me-email")),
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("me-email").textContent.includes("@")`)); err != nil {
		t.Fatal(err)
	}
	account, err := chromedp.Run(ctx, chromedp.Text(id("me-email")))
	if err != nil {
		t.Fatal(err)
	}
	if !passwordHidden || noteHidden {
		t.Errorf("required SSO: password hidden=%v, note hidden=%v", passwordHidden, noteHidden)
	}
	if strings.TrimSpace(account) != "alice@pages.test" {
		t.Errorf("account page shows %q", account)
	}
}
