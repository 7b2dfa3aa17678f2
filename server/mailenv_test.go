package server_test

import (
	"context"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/analytics"
	"github.com/latchkey/latchkey/analytics/analyticstest"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/mail"
	"github.com/latchkey/latchkey/mail/mailtest"
)

// mailEnv is a server whose mail goes over real SMTP (STARTTLS and AUTH
// PLAIN) to an in-process SMTP server, and whose analytics go to a fake
// PostHog.
type mailEnv struct {
	*latchkeytest.Env
	SMTP    *mailtest.Server
	Mailer  *mail.Mailer
	PostHog *analyticstest.Server
}

func startMailEnv(t *testing.T, db latchkeytest.Database, configure func(*latchkey.Config)) *mailEnv {
	t.Helper()
	smtpSrv := mailtest.Start(t, mailtest.Options{STARTTLS: true, Username: "relay", Password: "relay-pass"})
	mailer := mail.NewMailer(smtpSrv.Sender(t), mail.Config{
		Logger: latchkeytest.Logger(), RequestID: latchkey.RequestID, Backoff: 10 * time.Millisecond,
	})
	t.Cleanup(func() { _ = mailer.Close() })
	ph := analyticstest.Start(t)
	events := analytics.New("phc_test", ph.URL, latchkeytest.Logger())
	t.Cleanup(func() { _ = events.Close() })
	env := latchkeytest.New(t, latchkeytest.Options{
		Database:  db,
		Configure: configure,
		Service:   func(s *latchkey.Service) { s.Mailer, s.Analytics = mailer, events },
	})
	return &mailEnv{Env: env, SMTP: smtpSrv, Mailer: mailer, PostHog: ph}
}

// settle waits until every flow that finishes after its response and
// every queued mail is done, so that "no mail arrived" is a fact.
func (e *mailEnv) settle(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Service.Drain(ctx); err != nil {
		t.Fatalf("drain: %v", err)
	}
	if err := e.Mailer.Flush(ctx); err != nil {
		t.Fatalf("flush mail: %v", err)
	}
}

var codePattern = regexp.MustCompile(`(?m)^\s+(\d{6})\s*$`)

// codeOf returns the verification code in a message's text body.
func codeOf(t *testing.T, m mailtest.Message) string {
	t.Helper()
	found := codePattern.FindStringSubmatch(m.Text)
	if found == nil {
		t.Fatalf("no code in message %q:\n%s", m.Subject, m.Text)
	}
	if !strings.Contains(m.Subject, found[1]) || !strings.Contains(m.HTML, found[1]) {
		t.Errorf("code %s not in both the subject and the HTML body", found[1])
	}
	return found[1]
}

// tokenOf returns the token of the link base+"?token=..." in a message's
// text body, and checks the HTML body carries the same link.
func tokenOf(t *testing.T, m mailtest.Message, base string) string {
	t.Helper()
	re := regexp.MustCompile(regexp.QuoteMeta(base) + `\?token=([A-Za-z0-9_%\-]+)`)
	found := re.FindStringSubmatch(m.Text)
	if found == nil {
		t.Fatalf("no link %s?token= in message %q:\n%s", base, m.Subject, m.Text)
	}
	if !strings.Contains(m.HTML, found[0]) {
		t.Errorf("HTML body lacks the link %s", found[0])
	}
	token, err := url.QueryUnescape(found[1])
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// want fails unless r has the status and, for an error, the code.
func want(t *testing.T, what string, r *latchkeytest.Response, status int, code string) {
	t.Helper()
	if r.Status != status || r.Code() != code {
		t.Fatalf("%s: got %d %q, want %d %q: %s", what, r.Status, r.Code(), status, code, r.Body)
	}
}

// register creates an account and reads its first verification code.
func (e *mailEnv) register(t *testing.T, email string) (*latchkeytest.Client, string, string) {
	t.Helper()
	c := e.Client(t)
	r := c.Register(email, "correct horse battery")
	userID, _ := r.Obj("user")["id"].(string)
	return c, userID, codeOf(t, e.SMTP.Next(t, email))
}

// auditActions lists the actions of the audit events an actor caused.
func (e *mailEnv) auditActions(t *testing.T, actorID string) []string {
	t.Helper()
	events, err := e.Store.AuditEvents(context.Background(), actorID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range events {
		out = append(out, ev.Action)
	}
	return out
}

func (e *mailEnv) wantAudit(t *testing.T, actorID string, actions ...string) {
	t.Helper()
	got := e.auditActions(t, actorID)
	for _, a := range actions {
		if !slices.Contains(got, a) {
			t.Errorf("audit events of %s lack %q: %v", actorID, a, got)
		}
	}
}

func bearerClient(e *mailEnv, t *testing.T, token string) *latchkeytest.Client {
	c := e.Client(t)
	c.Bearer = token
	return c
}
