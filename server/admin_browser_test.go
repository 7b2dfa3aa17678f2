package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/latchkey/latchkey/browsertest"
	"github.com/latchkey/latchkey/latchkeytest"
)

// An operator signs in with password and authenticator code, finds a user
// in the console, disables and re-enables them (each after confirming in
// the page), and reads both actions in the audit trail.
func TestAdminConsoleInChromium(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	op := env.Client(t)
	op.Register("ops@example.com", pw)
	_, secret, _ := enrollTOTP(t, env, op)
	if _, err := env.Service.SetOperator(context.Background(), "ops@example.com", true); err != nil {
		t.Fatal(err)
	}
	env.Client(t).Register("bob@example.com", pw)
	env.Client(t).Register("carol@example.com", pw)
	bob := user(t, env, "bob@example.com")
	bobLogin := func() int {
		return env.Client(t).Call("auth.login", map[string]any{"email": "bob@example.com", "password": pw}).Status
	}

	ctx := browsertest.New(t)
	do(t, ctx, chromedp.Navigate(env.URL+"/admin"))
	browsertest.WaitFor(t, ctx, `location.pathname === "/login"`)
	do(t, ctx, chromedp.WaitVisible("#email"), chromedp.SendKeys("#email", "ops@example.com"),
		chromedp.SendKeys("#password", pw), chromedp.Click("#login-form button[type=submit]"))
	browsertest.WaitFor(t, ctx, `!document.getElementById("mfa-step").hidden`)
	env.Clock.Advance(30 * time.Second)
	do(t, ctx, chromedp.SendKeys("#mfa-code", totpAt(t, secret, env.Clock.Now())), chromedp.Click("#mfa-form button[type=submit]"))
	browsertest.WaitFor(t, ctx, `location.pathname === "/admin" && !document.getElementById("admin-tabs").hidden`)
	browsertest.WaitFor(t, ctx, `document.querySelectorAll("#users tr").length === 3`)

	do(t, ctx, chromedp.SendKeys("#user-query", "bo"), chromedp.Click("#user-search button[type=submit]"))
	browsertest.WaitFor(t, ctx, `document.querySelectorAll("#users tr").length === 1 && document.querySelector("#users tr").dataset.userId === "`+bob.ID+`"`)
	do(t, ctx, chromedp.Click("#users tr button"))
	browsertest.WaitFor(t, ctx, `document.getElementById("user-h").textContent === "bob@example.com" && document.getElementById("user-status").dataset.disabled === "false"`)

	// Cancelling asks nothing of the server.
	do(t, ctx, chromedp.Click("#user-disable"))
	browsertest.WaitFor(t, ctx, `!document.getElementById("confirm-box").hidden && document.getElementById("confirm-text").textContent.includes("bob@example.com")`)
	do(t, ctx, chromedp.Click("#confirm-no"))
	browsertest.WaitFor(t, ctx, `document.getElementById("confirm-box").hidden`)
	if s := bobLogin(); s != 200 {
		t.Fatalf("bob's login after a cancelled disable: %d", s)
	}

	do(t, ctx, chromedp.Click("#user-disable"))
	browsertest.WaitFor(t, ctx, `!document.getElementById("confirm-box").hidden`)
	do(t, ctx, chromedp.Click("#confirm-yes"))
	browsertest.WaitFor(t, ctx, `document.getElementById("user-status").dataset.disabled === "true" && !document.getElementById("user-disable").offsetParent`)
	if r := env.Client(t).Call("auth.login", map[string]any{"email": "bob@example.com", "password": pw}); r.Status != 403 || r.Code() != "account_disabled" {
		t.Fatalf("bob's login while disabled: %d %s", r.Status, r.Body)
	}

	do(t, ctx, chromedp.Click("#user-enable"))
	browsertest.WaitFor(t, ctx, `!document.getElementById("confirm-box").hidden`)
	do(t, ctx, chromedp.Click("#confirm-yes"))
	browsertest.WaitFor(t, ctx, `document.getElementById("user-status").dataset.disabled === "false"`)
	if s := bobLogin(); s != 200 {
		t.Fatalf("bob's login after enable: %d", s)
	}

	// The user's trail: both actions, by the operator, newest first.
	do(t, ctx, chromedp.Click("#user-audit"))
	browsertest.WaitFor(t, ctx, `!document.getElementById("tab-audit").hidden && document.getElementById("audit-user").value === "`+bob.ID+`"`)
	browsertest.WaitFor(t, ctx, `(() => {
		const rows = [...document.querySelectorAll("#events tr")].map((r) => r.dataset.action);
		const e = rows.indexOf("admin.users.enabled"), d = rows.indexOf("admin.users.disabled");
		return e >= 0 && d > e && document.querySelector('#events tr[data-action="admin.users.disabled"]').textContent.includes("operator");
	})()`)
	do(t, ctx, chromedp.SendKeys("#audit-action", "admin.users.disabled"), chromedp.Click("#audit-filter button[type=submit]"))
	browsertest.WaitFor(t, ctx, `(() => {
		const rows = [...document.querySelectorAll("#events tr")];
		return rows.length === 1 && rows[0].dataset.action === "admin.users.disabled";
	})()`)

	// The other tabs load.
	do(t, ctx, chromedp.Click(`#admin-tabs button[data-tab="orgs"]`))
	browsertest.WaitFor(t, ctx, `document.querySelectorAll("#orgs tr").length === 3`)
	do(t, ctx, chromedp.Click(`#admin-tabs button[data-tab="webhooks"]`))
	browsertest.WaitFor(t, ctx, `!document.getElementById("tab-webhooks").hidden`)
}
