package server_test

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/mail"
	"github.com/latchkey/latchkey/mail/mailtest"
	"github.com/latchkey/latchkey/sso/ssotest"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// hookEnv is a server with a webhook worker, an admin key and one
// endpoint pointing at an in-process receiver.
type hookEnv struct {
	*latchkeytest.Env
	db        latchkeytest.Database
	admin     *latchkeytest.Client
	rcv       *latchkeytest.Receiver
	webhookID string
	secret    string
}

func startHookEnv(t *testing.T, db latchkeytest.Database, opts latchkeytest.Options, events ...string) *hookEnv {
	t.Helper()
	opts.Database, opts.Webhooks = db, true
	env := latchkeytest.New(t, opts)
	_, key, err := env.Service.CreateAdminKey(context.Background(), "hooks")
	if err != nil {
		t.Fatal(err)
	}
	e := &hookEnv{Env: env, db: db, admin: bearer(t, env, key.Reveal()), rcv: latchkeytest.NewReceiver(t)}
	body := map[string]any{"url": e.rcv.URL, "description": "user sync"}
	if events != nil {
		body["events"] = events
	}
	r := e.admin.Call("admin.webhooks.create", body)
	wantOK(t, "admin.webhooks.create", r)
	e.webhookID, e.secret = r.Obj("webhook")["id"].(string), r.Str("secret")
	if !strings.HasPrefix(e.secret, "whsec_") || !strings.HasPrefix(e.webhookID, "whk_") {
		t.Fatalf("create: %s", r.Body)
	}
	e.rcv.SetSecrets(e.secret)
	return e
}

// deliveries lists the endpoint's deliveries through the API.
func (e *hookEnv) deliveries(t *testing.T) []map[string]any {
	t.Helper()
	r := e.admin.Call("admin.webhooks.deliveries.list", map[string]any{"webhook_id": e.webhookID})
	wantOK(t, "deliveries.list", r)
	var out []map[string]any
	for _, d := range r.JSON["deliveries"].([]any) {
		out = append(out, d.(map[string]any))
	}
	return out
}

// waitDelivered waits until no delivery is pending and returns them all.
func (e *hookEnv) waitDelivered(t *testing.T) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ds := e.deliveries(t)
		if !slices.ContainsFunc(ds, func(d map[string]any) bool { return d["status"] == "pending" }) {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries still pending: %v", ds)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitAttempt waits until the endpoint's newest delivery has recorded
// its n-th attempt, and returns it.
func (e *hookEnv) waitAttempt(t *testing.T, n int) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ds := e.deliveries(t); len(ds) > 0 && ds[0]["attempt"].(float64) >= float64(n) {
			return ds[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("attempt %d never recorded", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func typesOf(hooks []latchkeytest.Hook) []string {
	var out []string
	for _, h := range hooks {
		if !slices.Contains(out, h.Type) {
			out = append(out, h.Type)
		}
	}
	return out
}

func TestWebhooksDeliverEveryEventType(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := startHookEnv(t, db, latchkeytest.Options{})
		env := e.Env

		// user.created, org.created, org.member.added, session.created
		owner := env.Client(t)
		owner.Register("owner@hooks.test", pw)
		ownerID := user(t, env, "owner@hooks.test").ID
		ms, err := env.Store.MembershipsOfUser(context.Background(), ownerID)
		if err != nil || len(ms) != 1 {
			t.Fatalf("memberships: %v %v", ms, err)
		}
		orgID := ms[0].OrgID

		// api_key.created, api_key.revoked
		keySecret, keyID := newKey(t, owner, "api:read")
		wantOK(t, "key revoke", owner.Call("org.api_keys.revoke", map[string]any{"id": keyID}))

		// sso_connection.created, sso_connection.deleted
		idp := ssotest.New(t, ssotest.User{NameID: "x", Email: "x@hooks-saml.test"})
		r := owner.Call("org.sso_connections.create", map[string]any{
			"protocol": "saml", "domains": []string{"hooks-saml.test"}, "enforced": false, "idp_metadata_xml": string(idp.Metadata()),
		})
		wantOK(t, "sso create", r)
		wantOK(t, "sso delete", owner.Call("org.sso_connections.delete", map[string]any{"id": r.Obj("sso_connection")["id"]}))

		// org.member.role_changed, org.member.removed
		bob := env.Client(t)
		bob.Register("bob@hooks.test", pw)
		bobID := user(t, env, "bob@hooks.test").ID
		addMember(t, env, bobID, orgID, latchkey.RoleMember)
		wantOK(t, "role", owner.Call("org.members.update_role", map[string]any{"user_id": bobID, "role": "admin"}))
		wantOK(t, "remove", owner.Call("org.members.remove", map[string]any{"user_id": bobID}))

		// user.updated and session.revoked (password_change, then logout)
		second, _ := login(t, env, "owner@hooks.test", pw)
		wantOK(t, "logout", second.Call("auth.logout", nil))
		login(t, env, "owner@hooks.test", pw)
		wantOK(t, "password change", owner.Call("auth.password.change", map[string]any{"current_password": pw, "new_password": pw + " 2"}))

		// mfa.enrolled, mfa.removed
		factor, _, _ := enrollTOTP(t, env, owner)
		wantOK(t, "mfa delete", owner.Call("auth.mfa.delete", map[string]any{"id": factor}))

		// user.disabled, user.enabled
		wantOK(t, "disable", e.admin.Call("admin.users.disable", map[string]any{"user_id": bobID}))
		wantOK(t, "enable", e.admin.Call("admin.users.enable", map[string]any{"user_id": bobID}))

		// user.deleted, org.deleted (bob's own org has nobody else)
		bob, _ = login(t, env, "bob@hooks.test", pw)
		wantOK(t, "delete", bob.Call("auth.account.delete", map[string]any{"password": pw}))

		// webhook.test
		wantOK(t, "test", e.admin.Call("admin.webhooks.test", map[string]any{"id": e.webhookID}))

		e.rcv.WaitFor(t, 20*time.Second, "every event type", func(h []latchkeytest.Hook) bool {
			return len(typesOf(h)) == len(latchkey.EventTypes)
		})
		ds := e.waitDelivered(t)
		hooks := e.rcv.Hooks()
		for _, h := range hooks {
			if h.Verified != nil {
				t.Errorf("%s %s: the official verifier refused it: %v", h.Type, h.ID, h.Verified)
			}
			if !strings.HasPrefix(h.ID, "msg_") || h.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%s: id %q, content type %q", h.Type, h.ID, h.Header.Get("Content-Type"))
			}
			for _, leak := range []string{"password_hash", "whsec_", keySecret, "$argon2", "secret", pw} {
				if strings.Contains(string(h.Body), leak) {
					t.Errorf("%s carries %q: %s", h.Type, leak, h.Body)
				}
			}
		}
		byType := map[string]latchkeytest.Hook{}
		for _, h := range hooks {
			if _, seen := byType[h.Type]; !seen {
				byType[h.Type] = h
			}
		}
		if u := byType["user.created"].Data["user"].(map[string]any); u["id"] != ownerID || u["email"] != "owner@hooks.test" {
			t.Errorf("user.created data: %v", u)
		}
		if d := byType["org.member.role_changed"].Data; d["user_id"] != bobID || d["role"] != "admin" || d["previous_role"] != "member" {
			t.Errorf("role_changed data: %v", d)
		}
		var reasons []string
		for _, h := range hooks {
			if h.Type == "session.revoked" {
				reasons = append(reasons, h.Data["reason"].(string))
			}
		}
		for _, want := range []string{"password_change", "logout", "account_disabled"} {
			if !slices.Contains(reasons, want) {
				t.Errorf("session.revoked reasons %v lack %q", reasons, want)
			}
		}
		// Within one subject, events arrive in the order of the changes.
		var ownerTypes []string
		for _, h := range hooks {
			if strings.HasPrefix(h.Type, "user.") && h.Data["user"].(map[string]any)["id"] == ownerID {
				ownerTypes = append(ownerTypes, h.Type)
			}
		}
		if !slices.Equal(ownerTypes, []string{"user.created", "user.updated"}) {
			t.Errorf("owner's user events in order: %v", ownerTypes)
		}
		if len(ds) != len(hooks) {
			t.Errorf("deliveries.list shows %d, receiver got %d", len(ds), len(hooks))
		}
		for _, d := range ds {
			if d["status"] != "delivered" || d["attempt"] != float64(1) || d["response_status"] != float64(204) || d["next_attempt_at"] != nil {
				t.Errorf("delivery: %v", d)
			}
		}
	})
}

func TestWebhookRetriesKeepTheID(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := startHookEnv(t, db, latchkeytest.Options{}, "user.created")
		e.rcv.FailFirst(2)
		e.Client(t).Register("retry@hooks.test", pw)
		d := e.waitAttempt(t, 1)
		if d["status"] != "pending" || d["attempt"] != float64(1) || d["response_status"] != float64(500) || d["error"] != "HTTP 500" || d["next_attempt_at"] == nil {
			t.Fatalf("after one failure: %v", d)
		}
		// The retry waits its back-off (5 s, then 30 s) and not a moment less.
		e.Clock.Advance(4 * time.Second)
		time.Sleep(200 * time.Millisecond)
		if n := len(e.rcv.Hooks()); n != 1 {
			t.Fatalf("retried before its 5 s back-off: %d requests", n)
		}
		e.Clock.Advance(time.Second)
		e.waitAttempt(t, 2)
		e.Clock.Advance(30 * time.Second)
		d = e.waitAttempt(t, 3)
		time.Sleep(200 * time.Millisecond)
		hooks := e.rcv.Hooks()
		if len(hooks) != 3 {
			t.Fatalf("%d requests, want 3", len(hooks))
		}
		for _, h := range hooks {
			if h.ID != hooks[0].ID || h.Type != "user.created" || h.Verified != nil {
				t.Errorf("attempt %s %s verified=%v, want the id %s each time", h.ID, h.Type, h.Verified, hooks[0].ID)
			}
		}
		if got := []int{hooks[0].Answered, hooks[1].Answered, hooks[2].Answered}; !slices.Equal(got, []int{500, 500, 204}) {
			t.Errorf("answers %v", got)
		}
		if d["status"] != "delivered" || d["attempt"] != float64(3) || d["response_status"] != float64(204) || d["error"] != "" || d["event_id"] != hooks[0].ID {
			t.Errorf("after delivery: %v", d)
		}
	})
}

// A change that rolls back after its events were written sends nothing:
// the database refuses the session insert at the end of a registration,
// after user.created and org.created are in the transaction.
func TestWebhookRolledBackChangeSendsNothing(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := startHookEnv(t, db, latchkeytest.Options{})
		conn := rawDB(t, db)
		trigger := []string{
			`CREATE TRIGGER refuse_sessions BEFORE INSERT ON sessions BEGIN SELECT RAISE(ABORT, 'injected failure'); END`,
		}
		drop := `DROP TRIGGER refuse_sessions`
		if db.Name == "postgres" {
			trigger = []string{
				`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`,
				`CREATE TRIGGER refuse_sessions BEFORE INSERT ON sessions FOR EACH ROW EXECUTE FUNCTION refuse()`,
			}
			drop = `DROP TRIGGER refuse_sessions ON sessions`
		}
		for _, q := range trigger {
			if _, err := conn.Exec(q); err != nil {
				t.Fatal(err)
			}
		}
		r := e.Client(t).Call("auth.register", map[string]any{"email": "rolled@hooks.test", "password": pw})
		if r.Status != http.StatusInternalServerError {
			t.Fatalf("registration with the session insert refused: %d %s", r.Status, r.Body)
		}
		if _, err := conn.Exec(drop); err != nil {
			t.Fatal(err)
		}
		e.Client(t).Register("kept@hooks.test", pw)
		hooks := e.rcv.WaitFor(t, 10*time.Second, "the kept registration", func(h []latchkeytest.Hook) bool {
			return slices.Contains(typesOf(h), "session.created")
		})
		var n int
		if err := conn.QueryRow(`SELECT COUNT(*) FROM events WHERE payload LIKE '%rolled@hooks.test%'`).Scan(&n); err != nil || n != 0 {
			t.Errorf("events of the rolled-back registration: %d (%v)", n, err)
		}
		time.Sleep(200 * time.Millisecond)
		for _, h := range e.rcv.Hooks() {
			if strings.Contains(string(h.Body), "rolled@hooks.test") {
				t.Errorf("sent an event of a rolled-back change: %s", h.Body)
			}
		}
		if got := typesOf(hooks); !slices.Contains(got, "user.created") {
			t.Errorf("the committed registration's events: %v", got)
		}
	})
}

func TestWebhookSecretRotation(t *testing.T) {
	db := latchkeytest.SQLite(t)
	e := startHookEnv(t, db, latchkeytest.Options{}, "webhook.test")
	old := e.secret
	// At rest the secrets are sealed under the server secret (§10).
	var stored string
	if err := rawDB(t, db).QueryRow(`SELECT secrets FROM webhooks`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(stored, "v1:") || strings.Contains(stored, strings.TrimPrefix(old, "whsec_")) {
		t.Errorf("stored webhook secrets are not sealed: %q", stored)
	}
	r := e.admin.Call("admin.webhooks.rotate_secret", map[string]any{"id": e.webhookID})
	wantOK(t, "rotate", r)
	fresh := r.Str("secret")
	if fresh == old || !strings.HasPrefix(fresh, "whsec_") {
		t.Fatalf("rotate: %s", r.Body)
	}
	// A receiver still holding the old secret, and one that has switched.
	for i, s := range []string{old, fresh} {
		e.rcv.SetSecrets(s)
		wantOK(t, "test", e.admin.Call("admin.webhooks.test", map[string]any{"id": e.webhookID}))
		h := e.rcv.WaitFor(t, 10*time.Second, "test event", func(h []latchkeytest.Hook) bool { return len(h) > i })[i]
		if h.Verified != nil || len(strings.Fields(h.Header.Get("webhook-signature"))) != 2 {
			t.Errorf("secret %d: verified=%v signature %q", i, h.Verified, h.Header.Get("webhook-signature"))
		}
	}
	// A day later the old secret no longer signs.
	e.Clock.Advance(24*time.Hour + time.Minute)
	e.rcv.SetSecrets(old)
	wantOK(t, "test", e.admin.Call("admin.webhooks.test", map[string]any{"id": e.webhookID}))
	h := e.rcv.WaitFor(t, 10*time.Second, "test event", func(h []latchkeytest.Hook) bool { return len(h) > 2 })[2]
	// The server's test clock is a day ahead of the receiver's, so the
	// official library's Verify would refuse the timestamp: compare with
	// what its Sign makes with the new secret instead.
	ts, _ := strconv.ParseInt(h.Header.Get("webhook-timestamp"), 10, 64)
	wh, err := standardwebhooks.NewWebhook(fresh)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := wh.Sign(h.ID, time.Unix(ts, 0), h.Body)
	if got := h.Header.Get("webhook-signature"); got != want {
		t.Errorf("a day after rotation the signature is %q, want only the new secret's %q", got, want)
	}
}

// An endpoint that fails every attempt for 3 days is disabled and the
// operators get an email; enabling it again sends what waited.
func TestWebhookEndpointDisabledAfterThreeDays(t *testing.T) {
	smtpSrv := mailtest.Start(t, mailtest.Options{})
	mailer := mail.NewMailer(smtpSrv.Sender(t), mail.Config{Logger: latchkeytest.Logger(), Backoff: 10 * time.Millisecond})
	t.Cleanup(func() { _ = mailer.Close() })
	e := startHookEnv(t, latchkeytest.SQLite(t), latchkeytest.Options{Service: func(s *latchkey.Service) { s.Mailer = mailer }}, "webhook.test")
	e.Client(t).Register("ops@hooks.test", pw)
	smtpSrv.Next(t, "ops@hooks.test") // the verification code
	if _, err := e.Service.SetOperator(context.Background(), "ops@hooks.test", true); err != nil {
		t.Fatal(err)
	}
	e.rcv.FailFirst(1 << 20)
	wantOK(t, "test", e.admin.Call("admin.webhooks.test", map[string]any{"id": e.webhookID}))
	for n := 1; ; n++ {
		e.waitAttempt(t, n)
		ws := e.admin.Call("admin.webhooks.list", nil).JSON["webhooks"].([]any)
		if ws[0].(map[string]any)["disabled"] == true {
			if n < 13 {
				t.Fatalf("disabled after only %d attempts", n)
			}
			break
		}
		if n > 30 {
			t.Fatal("never disabled")
		}
		e.Clock.Advance(6 * time.Hour)
	}
	m := smtpSrv.Next(t, "ops@hooks.test")
	if !strings.Contains(m.Subject, "webhook") || !strings.Contains(m.Text, e.rcv.URL) {
		t.Errorf("operator mail: %q\n%s", m.Subject, m.Text)
	}
	d := e.deliveries(t)[0]
	if d["status"] != "failed" {
		t.Errorf("the 3-day-old delivery: %v", d)
	}
	// Disabled: a new test event waits; enabled again, it goes out.
	e.rcv.FailFirst(0)
	before := len(e.rcv.Hooks())
	wantOK(t, "test", e.admin.Call("admin.webhooks.test", map[string]any{"id": e.webhookID}))
	time.Sleep(200 * time.Millisecond)
	if n := len(e.rcv.Hooks()); n != before {
		t.Fatalf("a disabled endpoint got %d requests", n-before)
	}
	wantOK(t, "enable", e.admin.Call("admin.webhooks.update", map[string]any{"id": e.webhookID, "disabled": false}))
	e.rcv.WaitFor(t, 10*time.Second, "the held event", func(h []latchkeytest.Hook) bool { return len(h) > before })
}

func TestWebhookAdminHostileInput(t *testing.T) {
	e := startHookEnv(t, latchkeytest.SQLite(t), latchkeytest.Options{})
	for _, tt := range []struct {
		op    string
		body  any
		field string
		code  string
	}{
		{"admin.webhooks.create", map[string]any{}, "url", "invalid_request"},
		{"admin.webhooks.create", map[string]any{"url": "ftp://example.com/x"}, "url", "invalid_request"},
		{"admin.webhooks.create", map[string]any{"url": "https://user:pw@example.com/x"}, "url", "invalid_request"},
		{"admin.webhooks.create", map[string]any{"url": "/relative"}, "url", "invalid_request"},
		{"admin.webhooks.create", map[string]any{"url": "https://example.com/" + strings.Repeat("a", 3000)}, "url", "invalid_request"},
		{"admin.webhooks.create", map[string]any{"url": "https://example.com/x", "events": []string{"user.exploded"}}, "events", "invalid_request"},
		{"admin.webhooks.update", map[string]any{"id": "whk_nope"}, "", "not_found"},
		{"admin.webhooks.update", map[string]any{}, "id", "invalid_request"},
		{"admin.webhooks.delete", map[string]any{"id": "whk_nope"}, "", "not_found"},
		{"admin.webhooks.rotate_secret", map[string]any{"id": "whk_nope"}, "", "not_found"},
		{"admin.webhooks.test", map[string]any{"id": "whk_nope"}, "", "not_found"},
		{"admin.webhooks.deliveries.list", map[string]any{"webhook_id": e.webhookID, "cursor": "abc"}, "cursor", "invalid_request"},
		{"admin.webhooks.deliveries.list", map[string]any{"webhook_id": e.webhookID, "cursor": "-4"}, "cursor", "invalid_request"},
		{"admin.webhooks.deliveries.list", map[string]any{"webhook_id": "whk_nope"}, "", "not_found"},
	} {
		r := e.admin.Call(tt.op, tt.body)
		status := http.StatusBadRequest
		if tt.code == "not_found" {
			status = http.StatusNotFound
		}
		expectError(t, tt.op, r, status, tt.code)
		if tt.field != "" {
			wantField(t, tt.op, r, tt.field)
		}
	}
	// Nothing of the above changed the one endpoint.
	ws := e.admin.Call("admin.webhooks.list", nil).JSON["webhooks"].([]any)
	if len(ws) != 1 || ws[0].(map[string]any)["url"] != e.rcv.URL {
		t.Errorf("endpoints after hostile input: %v", ws)
	}
	r := e.admin.Call("admin.webhooks.update", map[string]any{"id": e.webhookID, "events": []string{"user.deleted", "user.created", "user.created"}})
	wantOK(t, "update events", r)
	if got := r.Obj("webhook")["events"].([]any); len(got) != 2 || got[0] != "user.created" {
		t.Errorf("events after update: %v", got)
	}
	wantOK(t, "delete", e.admin.Call("admin.webhooks.delete", map[string]any{"id": e.webhookID}))
	if ws := e.admin.Call("admin.webhooks.list", nil).JSON["webhooks"].([]any); len(ws) != 0 {
		t.Errorf("after delete: %v", ws)
	}
}
