package server_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/latchkeytest"
)

func TestEmailPages(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	c := env.Client(t)
	tests := []struct {
		path   string
		has    []string
		hasNot []string
	}{
		{"/forgot-password", []string{`data-op="auth.password.reset.request"`, `type="email"`}, nil},
		{"/reset-password?token=abc_DEF-123", []string{`data-op="auth.password.reset.complete"`, `name="token" value="abc_DEF-123"`, `autocomplete="new-password"`}, nil},
		{"/reset-password", []string{"This link is incomplete", `href="/forgot-password"`}, []string{`data-op=`}},
		{`/reset-password?token="><script>alert(1)</script>`, []string{`value="&#34;&gt;&lt;script&gt;`}, []string{"<script>alert(1)"}},
		{"/verify-email", []string{`data-op="auth.email.verify"`, `autocomplete="one-time-code"`, `data-op="auth.email.send_verification_code"`}, nil},
		{"/invite?token=t0k", []string{`data-op="auth.complete_invitation"`, `name="token" value="t0k"`, `href="/login?next=%2finvite%3ftoken%3dt0k"`}, nil},
		{"/invite", []string{"This invitation link is incomplete"}, []string{`data-op=`}},
		{"/login", []string{`href="/forgot-password"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := c.Do(http.MethodGet, tt.path, nil, nil)
			if r.Status != http.StatusOK {
				t.Fatalf("status %d", r.Status)
			}
			if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("CSP = %q", csp)
			}
			body := string(r.Body)
			for _, s := range tt.has {
				if !strings.Contains(body, s) {
					t.Errorf("page lacks %q", s)
				}
			}
			for _, s := range tt.hasNot {
				if strings.Contains(body, s) {
					t.Errorf("page contains %q", s)
				}
			}
		})
	}
}

func TestOpenAPIListsTheEmailOperations(t *testing.T) {
	env := latchkeytest.New(t, latchkeytest.Options{})
	r := env.Client(t).Get("openapi.json")
	paths, _ := r.JSON["paths"].(map[string]any)
	for _, op := range []string{
		"auth.email.send_verification_code", "auth.email.verify", "auth.email.change",
		"auth.password.reset.request", "auth.password.reset.complete", "auth.onboarding.status",
		"auth.complete_invitation", "org.invitations.create", "org.invitations.list", "org.invitations.revoke",
		"org.members.list", "org.members.update_role", "org.members.remove",
	} {
		if paths["/v1/"+op] == nil {
			t.Errorf("openapi.json lacks /v1/%s", op)
		}
	}
}
