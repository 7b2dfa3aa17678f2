package main

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/mail"
)

func TestMailSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string // prefix of the start-up error; "" for none
		wantLog bool   // the log sender
	}{
		{"no SMTP URL logs mail", nil, "", true},
		{"SMTP URL", map[string]string{"LATCHKEY_SMTP_URL": "smtp://user:pw@mail.example.com:2525"}, "", false},
		{"SMTPS URL", map[string]string{"LATCHKEY_SMTP_URL": "smtps://mail.example.com"}, "", false},
		{"bad scheme", map[string]string{"LATCHKEY_SMTP_URL": "http://mail.example.com"}, "LATCHKEY_SMTP_URL: ", false},
		{"bad port", map[string]string{"LATCHKEY_SMTP_URL": "smtp://user:secretpw@mail.example.com:x"}, "LATCHKEY_SMTP_URL: ", false},
		{"bad sender", map[string]string{"LATCHKEY_EMAIL_FROM": "nobody"}, "LATCHKEY_EMAIL_FROM: ", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseConfig("serve", nil, func(k string) string { return tt.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			sender := c.mailSender(slog.New(slog.DiscardHandler))
			if tt.wantErr != "" {
				if c.err == nil || !strings.HasPrefix(c.err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one starting %q", c.err, tt.wantErr)
				}
				if strings.Contains(c.err.Error(), "secretpw") || strings.Contains(c.err.Error(), "\n") {
					t.Errorf("error leaks the password or spans lines: %v", c.err)
				}
				return
			}
			if c.err != nil {
				t.Fatalf("error %v", c.err)
			}
			if _, isLog := sender.(mail.Log); isLog != tt.wantLog {
				t.Errorf("sender %T, want the log sender: %v", sender, tt.wantLog)
			}
		})
	}
}
