package mail_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/mail"
)

func TestRender(t *testing.T) {
	tests := []struct {
		name         string
		template     string
		data         map[string]string
		subject      string   // exact subject
		inText       []string // substrings of the text body
		inHTML       []string // substrings of the HTML body
		notInHTML    []string
		notInSubject []string
	}{
		{
			name:     "verification code",
			template: mail.TemplateVerifyEmail,
			data:     map[string]string{"Code": "123456", "Expires": "15 minutes"},
			subject:  "Your verification code: 123456",
			inText:   []string{"123456", "expires in 15 minutes"},
			inHTML:   []string{">123456</p>", "expires in 15 minutes"},
		},
		{
			name:     "verification code without the optional expiry",
			template: mail.TemplateVerifyEmail,
			data:     map[string]string{"Code": "654321"},
			subject:  "Your verification code: 654321",
			inText:   []string{"654321"},
			inHTML:   []string{"654321"},
		},
		{
			name:     "password reset",
			template: mail.TemplatePasswordReset,
			data:     map[string]string{"Link": "https://dash.example.com/reset-password?token=abc&x=1", "Expires": "30 minutes"},
			subject:  "Reset your Latchkey password",
			inText:   []string{"https://dash.example.com/reset-password?token=abc&x=1", "30 minutes"},
			inHTML:   []string{`href="https://dash.example.com/reset-password?token=abc&amp;x=1"`},
		},
		{
			name:     "invitation escapes what users typed",
			template: mail.TemplateInvitation,
			data: map[string]string{
				"Link": "https://dash.example.com/invite?token=t", "OrgName": "<script>alert(1)</script>",
				"InviterName": "Ann", "Role": "admin",
			},
			subject:   "Ann invited you to join <script>alert(1)</script> on Latchkey",
			inText:    []string{"Ann invited you", "as admin", "https://dash.example.com/invite?token=t"},
			inHTML:    []string{"&lt;script&gt;alert(1)&lt;/script&gt;", `href="https://dash.example.com/invite?token=t"`},
			notInHTML: []string{"<script>"},
		},
		{
			name:     "line breaks in data cannot add headers",
			template: mail.TemplateInvitation,
			data: map[string]string{
				"Link": "https://dash.example.com/invite?token=t", "OrgName": "Acme\r\nBcc: victim@example.com",
				"InviterName": "Ann\nX-Evil: 1", "Role": "member",
			},
			subject:      "Ann X-Evil: 1 invited you to join Acme Bcc: victim@example.com on Latchkey",
			notInSubject: []string{"\n", "\r"},
		},
		{
			name:      "a javascript link is neutralised in HTML",
			template:  mail.TemplatePasswordReset,
			data:      map[string]string{"Link": "javascript:alert(1)"},
			subject:   "Reset your Latchkey password",
			notInHTML: []string{`href="javascript:`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := mail.Render("user@example.com", tt.template, tt.data)
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if m.To != "user@example.com" {
				t.Errorf("To = %q", m.To)
			}
			if m.Subject != tt.subject {
				t.Errorf("Subject = %q, want %q", m.Subject, tt.subject)
			}
			for _, s := range tt.inText {
				if !strings.Contains(m.Text, s) {
					t.Errorf("text body lacks %q:\n%s", s, m.Text)
				}
			}
			for _, s := range tt.inHTML {
				if !strings.Contains(m.HTML, s) {
					t.Errorf("HTML body lacks %q:\n%s", s, m.HTML)
				}
			}
			for _, s := range tt.notInHTML {
				if strings.Contains(m.HTML, s) {
					t.Errorf("HTML body contains %q:\n%s", s, m.HTML)
				}
			}
			for _, s := range tt.notInSubject {
				if strings.Contains(m.Subject, s) {
					t.Errorf("subject contains %q", s)
				}
			}
			if !strings.HasPrefix(m.HTML, "<!DOCTYPE html>") {
				t.Errorf("HTML body does not start with the layout: %.40q", m.HTML)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name     string
		template string
		data     map[string]string
		want     error // nil: any error
	}{
		{"unknown template", "welcome", map[string]string{"Code": "1"}, mail.ErrUnknownTemplate},
		{"missing code", mail.TemplateVerifyEmail, nil, nil},
		{"missing link", mail.TemplatePasswordReset, map[string]string{"Code": "1"}, nil},
		{"missing org name", mail.TemplateInvitation, map[string]string{"Link": "https://x", "InviterName": "A", "Role": "member"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mail.Render("user@example.com", tt.template, tt.data)
			if err == nil {
				t.Fatal("Render succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}
