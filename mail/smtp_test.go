package mail_test

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/mail"
	"github.com/latchkey/latchkey/mail/mailtest"
)

func TestSMTPDelivers(t *testing.T) {
	tests := []struct {
		name     string
		opts     mailtest.Options
		wantTLS  bool
		wantUser string
	}{
		{name: "plain", opts: mailtest.Options{}},
		{name: "STARTTLS", opts: mailtest.Options{STARTTLS: true}, wantTLS: true},
		{name: "STARTTLS and AUTH PLAIN", opts: mailtest.Options{STARTTLS: true, Username: "relay", Password: "s3cret"}, wantTLS: true, wantUser: "relay"},
		{name: "implicit TLS and AUTH PLAIN", opts: mailtest.Options{ImplicitTLS: true, Username: "relay", Password: "s3cret"}, wantTLS: true, wantUser: "relay"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mailtest.Start(t, tt.opts)
			msg, err := mail.Render("Ann@Example.com", mail.TemplateVerifyEmail, map[string]string{"Code": "042917"})
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.Sender(t).Send(context.Background(), msg); err != nil {
				t.Fatalf("Send: %v", err)
			}
			got := srv.Next(t, "ann@example.com")
			if got.Subject != msg.Subject {
				t.Errorf("Subject = %q, want %q", got.Subject, msg.Subject)
			}
			if got.Text != msg.Text {
				t.Errorf("Text = %q, want %q", got.Text, msg.Text)
			}
			if got.HTML != msg.HTML {
				t.Errorf("HTML differs:\n%s\nwant\n%s", got.HTML, msg.HTML)
			}
			if got.From != "no-reply@latchkey.test" {
				t.Errorf("envelope sender = %q", got.From)
			}
			if from := got.Header.Get("From"); !strings.Contains(from, "no-reply@latchkey.test") {
				t.Errorf("From header = %q", from)
			}
			if got.TLS != tt.wantTLS {
				t.Errorf("TLS = %v, want %v", got.TLS, tt.wantTLS)
			}
			if got.User != tt.wantUser {
				t.Errorf("authenticated as %q, want %q", got.User, tt.wantUser)
			}
		})
	}
}

func TestSMTPRefuses(t *testing.T) {
	msg := mail.Message{To: "ann@example.com", Subject: "hello", Text: "hello"}
	tests := []struct {
		name    string
		opts    mailtest.Options
		url     func(*mailtest.Server) string
		tls     func(*mailtest.Server) *tls.Config
		wantErr bool
	}{
		{
			name: "password over a connection without TLS",
			opts: mailtest.Options{Username: "relay", Password: "s3cret"},
			url:  (*mailtest.Server).URL, tls: (*mailtest.Server).TLSConfig, wantErr: true,
		},
		{
			name: "wrong password",
			opts: mailtest.Options{STARTTLS: true, Username: "relay", Password: "s3cret"},
			url:  func(s *mailtest.Server) string { return "smtp://relay:guess@" + s.Addr() },
			tls:  (*mailtest.Server).TLSConfig, wantErr: true,
		},
		{
			name: "no credentials where the server requires them",
			opts: mailtest.Options{STARTTLS: true, Username: "relay", Password: "s3cret"},
			url:  func(s *mailtest.Server) string { return "smtp://" + s.Addr() },
			tls:  (*mailtest.Server).TLSConfig, wantErr: true,
		},
		{
			name: "STARTTLS certificate not trusted",
			opts: mailtest.Options{STARTTLS: true},
			url:  (*mailtest.Server).URL,
			tls:  func(*mailtest.Server) *tls.Config { return nil }, wantErr: true,
		},
		{
			name: "implicit TLS certificate not trusted",
			opts: mailtest.Options{ImplicitTLS: true},
			url:  (*mailtest.Server).URL,
			tls:  func(*mailtest.Server) *tls.Config { return nil }, wantErr: true,
		},
		{
			name: "verification skipped only when asked",
			opts: mailtest.Options{STARTTLS: true},
			url:  (*mailtest.Server).URL,
			tls: func(*mailtest.Server) *tls.Config {
				return &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the point of this case
			},
			wantErr: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := mailtest.Start(t, tt.opts)
			sender, err := mail.NewSMTP(tt.url(srv), "no-reply@latchkey.test",
				mail.SMTPOptions{TLSConfig: tt.tls(srv), Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			err = sender.Send(context.Background(), msg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Send error = %v, want error: %v", err, tt.wantErr)
			}
			if tt.wantErr {
				t.Logf("error: %v", err)
				if n := len(srv.Messages()); n != 0 {
					t.Errorf("server captured %d messages", n)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error reveals the password: %v", err)
				}
			}
		})
	}
}

func TestSMTPPermanentFailureIsRejected(t *testing.T) {
	srv := mailtest.Start(t, mailtest.Options{})
	srv.FailNext(550, 451)
	msg := mail.Message{To: "ann@example.com", Subject: "hello", Text: "hello"}
	sender := srv.Sender(t)
	if err := sender.Send(context.Background(), msg); !errors.Is(err, mail.ErrRejected) {
		t.Errorf("after 550: error %v, want ErrRejected", err)
	}
	if err := sender.Send(context.Background(), msg); err == nil || errors.Is(err, mail.ErrRejected) {
		t.Errorf("after 451: error %v, want a transient error", err)
	}
}

func TestNewSMTP(t *testing.T) {
	tests := []struct {
		url, from string
		want      string // String() of the sender; "" means an error
	}{
		{"smtp://mail.example.com", "a@example.com", "smtp://mail.example.com:587"},
		{"smtp://mail.example.com:25", "a@example.com", "smtp://mail.example.com:25"},
		{"smtps://user:p%40ss@mail.example.com", "Latchkey <a@example.com>", "smtps://mail.example.com:465"},
		{"smtps://mail.example.com:2465", "a@example.com", "smtps://mail.example.com:2465"},
		{"http://mail.example.com", "a@example.com", ""},
		{"smtp://", "a@example.com", ""},
		{"smtp://mail.example.com:0", "a@example.com", ""},
		{"smtp://mail.example.com:99999", "a@example.com", ""},
		{"smtp://mail.example.com/path", "a@example.com", ""},
		{"smtp://mail.example.com?tls=off", "a@example.com", ""},
		{"mail.example.com:25", "a@example.com", ""},
		{"smtp://mail.example.com", "", ""},
		{"smtp://mail.example.com", "not an address", ""},
	}
	for _, tt := range tests {
		t.Run(tt.url+" "+tt.from, func(t *testing.T) {
			s, err := mail.NewSMTP(tt.url, tt.from, mail.SMTPOptions{})
			if tt.want == "" {
				if err == nil {
					t.Fatalf("NewSMTP succeeded: %v", s)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewSMTP: %v", err)
			}
			if got := s.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}
