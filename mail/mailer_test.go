package mail_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/mail"
	"github.com/latchkey/latchkey/mail/mailtest"
)

// logBuffer collects JSON log records written from the Mailer's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// records returns the logged records whose message is msg.
func (b *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if line == "" {
			continue
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if r["msg"] == msg {
			out = append(out, r)
		}
	}
	return out
}

func newMailer(t *testing.T, s mail.Sender, cfg mail.Config) (*mail.Mailer, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	cfg.Logger = slog.New(slog.NewJSONHandler(logs, nil))
	if cfg.Backoff == 0 {
		cfg.Backoff = time.Millisecond
	}
	m := mail.NewMailer(s, cfg)
	t.Cleanup(func() { _ = m.Close() })
	return m, logs
}

func flush(t *testing.T, m *mail.Mailer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Flush(ctx); err != nil {
		t.Fatalf("Flush: %v", err)
	}
}

func TestMailerDeliversInTheBackground(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{STARTTLS: true})
	m, _ := newMailer(t, srv.Sender(t), mail.Config{})
	ctx := context.Background()
	for _, to := range []string{"a@example.com", "b@example.com"} {
		if err := m.Send(ctx, to, mail.TemplatePasswordReset, map[string]string{"Link": "https://d.example/reset-password?token=" + to}); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	for _, to := range []string{"a@example.com", "b@example.com"} {
		got := srv.Next(t, to)
		if !strings.Contains(got.Text, "https://d.example/reset-password?token="+to) {
			t.Errorf("message to %s lacks its link:\n%s", to, got.Text)
		}
	}
}

func TestMailerRetriesTransientFailures(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	srv.FailNext(451, 421)
	m, logs := newMailer(t, srv.Sender(t), mail.Config{Attempts: 3})
	ctx := latchkey.WithRequestID(context.Background(), "req-123")
	if err := m.Send(ctx, "ann@example.com", mail.TemplateVerifyEmail, map[string]string{"Code": "111222"}); err != nil {
		t.Fatal(err)
	}
	got := srv.Next(t, "ann@example.com")
	if !strings.Contains(got.Text, "111222") {
		t.Errorf("text lacks the code:\n%s", got.Text)
	}
	flush(t, m)
	retries := logs.records(t, "mail: delivery failed, will retry")
	if len(retries) != 2 {
		t.Fatalf("logged %d retries, want 2", len(retries))
	}
	for _, r := range retries {
		if r["request_id"] != "req-123" || r["to"] != "ann@example.com" || r["template"] != mail.TemplateVerifyEmail {
			t.Errorf("retry log lacks context: %v", r)
		}
	}
}

func TestMailerGivesUp(t *testing.T) {
	tests := []struct {
		name         string
		failures     []int
		attempts     int
		wantAttempts float64 // in the final log record
	}{
		{"after the last attempt", []int{451, 451, 451}, 3, 3},
		{"at once on a permanent refusal", []int{550}, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mailtest.Start(t, mailtest.Options{})
			srv.FailNext(tt.failures...)
			m, logs := newMailer(t, srv.Sender(t), mail.Config{Attempts: tt.attempts})
			ctx := latchkey.WithRequestID(context.Background(), "req-9")
			if err := m.Send(ctx, "lost@example.com", mail.TemplateVerifyEmail, map[string]string{"Code": "1"}); err != nil {
				t.Fatal(err)
			}
			flush(t, m)
			srv.NoMessage(t, "lost@example.com")
			final := logs.records(t, "mail: delivery failed, giving up")
			if len(final) != 1 {
				t.Fatalf("logged %d final failures, want 1", len(final))
			}
			if final[0]["attempt"] != tt.wantAttempts || final[0]["request_id"] != "req-9" {
				t.Errorf("final failure record = %v", final[0])
			}
			// The next message goes through: one failure holds up nothing.
			if err := m.Send(ctx, "next@example.com", mail.TemplateVerifyEmail, map[string]string{"Code": "2"}); err != nil {
				t.Fatal(err)
			}
			srv.Next(t, "next@example.com")
		})
	}
}

func TestMailerSendErrors(t *testing.T) {
	m, _ := newMailer(t, mail.Log{Logger: slog.New(slog.DiscardHandler)}, mail.Config{})
	ctx := context.Background()
	tests := []struct {
		name, to, template string
		data               map[string]string
	}{
		{"bad recipient", "not-an-address", mail.TemplateVerifyEmail, map[string]string{"Code": "1"}},
		{"empty recipient", "", mail.TemplateVerifyEmail, map[string]string{"Code": "1"}},
		{"unknown template", "a@example.com", "nope", nil},
		{"missing data", "a@example.com", mail.TemplateInvitation, map[string]string{"Link": "https://x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := m.Send(ctx, tt.to, tt.template, tt.data); err == nil {
				t.Error("Send succeeded")
			}
		})
	}
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := m.Send(ctx, "a@example.com", mail.TemplateVerifyEmail, map[string]string{"Code": "1"}); !errors.Is(err, mail.ErrClosed) {
		t.Errorf("Send after Close: %v, want ErrClosed", err)
	}
}

func TestLogSenderShowsTheCode(t *testing.T) {
	var out logBuffer
	sender := mail.Log{Logger: slog.New(slog.NewTextHandler(&out, nil))}
	m, _ := newMailer(t, sender, mail.Config{})
	ctx := latchkey.WithRequestID(context.Background(), "req-dev")
	if err := m.Send(ctx, "dev@example.com", mail.TemplateVerifyEmail, map[string]string{"Code": "987654"}); err != nil {
		t.Fatal(err)
	}
	flush(t, m)
	out.mu.Lock()
	defer out.mu.Unlock()
	for _, want := range []string{"to=dev@example.com", "Your verification code: 987654", "    987654", "request_id=req-dev"} {
		if !strings.Contains(out.buf.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, out.buf.String())
		}
	}
}

// blockingSender never finishes a delivery before its context ends.
type blockingSender struct{ started chan struct{} }

func (b blockingSender) Send(ctx context.Context, _ mail.Message) error {
	b.started <- struct{}{}
	<-ctx.Done()
	return ctx.Err()
}

func TestMailerClose(t *testing.T) {
	t.Run("drains the queue", func(t *testing.T) {
		srv := mailtest.Start(t, mailtest.Options{})
		srv.FailNext(451)
		m, _ := newMailer(t, srv.Sender(t), mail.Config{})
		for _, to := range []string{"a@example.com", "b@example.com", "c@example.com"} {
			if err := m.Send(context.Background(), to, mail.TemplateVerifyEmail, map[string]string{"Code": "1"}); err != nil {
				t.Fatal(err)
			}
		}
		if err := m.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if n := len(srv.Messages()); n != 3 {
			t.Errorf("%d messages delivered before Close returned, want 3", n)
		}
	})
	t.Run("gives up after the drain timeout", func(t *testing.T) {
		sender := blockingSender{started: make(chan struct{}, 1)}
		m, logs := newMailer(t, sender, mail.Config{DrainTimeout: 50 * time.Millisecond})
		for _, to := range []string{"a@example.com", "b@example.com"} {
			if err := m.Send(context.Background(), to, mail.TemplateVerifyEmail, map[string]string{"Code": "1"}); err != nil {
				t.Fatal(err)
			}
		}
		<-sender.started
		if err := m.Close(); err == nil {
			t.Error("Close reported no dropped messages")
		}
		if n := len(logs.records(t, "mail: shutting down, message dropped")); n != 1 {
			t.Errorf("logged %d dropped messages, want 1 (the other was in flight)", n)
		}
	})
}

func TestMailerQueueFull(t *testing.T) {
	sender := blockingSender{started: make(chan struct{}, 1)}
	m, _ := newMailer(t, sender, mail.Config{QueueSize: 1, DrainTimeout: time.Millisecond})
	send := func() error {
		return m.Send(context.Background(), "a@example.com", mail.TemplateVerifyEmail, map[string]string{"Code": "1"})
	}
	if err := send(); err != nil {
		t.Fatal(err)
	}
	<-sender.started // the worker holds the first; the queue is empty again
	if err := send(); err != nil {
		t.Fatal(err)
	}
	if err := send(); !errors.Is(err, mail.ErrQueueFull) {
		t.Errorf("third Send: %v, want ErrQueueFull", err)
	}
}
