package server_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/mail"
	"github.com/latchkey/latchkey/mail/mailtest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A mail server that refuses the reset mail changes nothing in the answer;
// the failure is logged with the id of the request that caused it, after
// the retries.
func TestMailFailureStaysOutOfTheResponse(t *testing.T) {
	smtpSrv := mailtest.Start(t, mailtest.Options{STARTTLS: true})
	logs := &syncBuffer{}
	mailer := mail.NewMailer(smtpSrv.Sender(t), mail.Config{
		Logger: slog.New(slog.NewJSONHandler(logs, nil)), RequestID: latchkey.RequestID,
		Attempts: 2, Backoff: time.Millisecond,
	})
	t.Cleanup(func() { _ = mailer.Close() })
	env := &mailEnv{SMTP: smtpSrv, Mailer: mailer, Env: latchkeytest.New(t, latchkeytest.Options{
		Service: func(s *latchkey.Service) { s.Mailer = mailer },
	})}
	env.register(t, "kai@example.com")

	smtpSrv.FailNext(451, 451) // both attempts fail
	anon := env.Client(t)
	failed := anon.Call("auth.password.reset.request", map[string]any{"email": "kai@example.com"})
	unknown := anon.Call("auth.password.reset.request", map[string]any{"email": "nobody@example.com"})
	want(t, "reset with a failing mail server", failed, http.StatusOK, "")
	if !bytes.Equal(failed.Body, unknown.Body) || failed.Status != unknown.Status {
		t.Errorf("failing delivery answered %d %s, an unknown address %d %s", failed.Status, failed.Body, unknown.Status, unknown.Body)
	}
	env.settle(t)
	env.SMTP.NoMessage(t, "kai@example.com")

	reqID := failed.Header.Get("X-Request-Id")
	var gaveUp map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "mail: delivery failed, giving up" {
			gaveUp = rec
		}
	}
	if gaveUp == nil || reqID == "" || gaveUp["request_id"] != reqID || gaveUp["to"] != "kai@example.com" || gaveUp["template"] != "password_reset" {
		t.Errorf("failure log %v, want request_id %q", gaveUp, reqID)
	}
}
