package main

import (
	"io"
	"slices"
	"strings"
	"testing"
)

func TestRelyingPartyFromConfig(t *testing.T) {
	for _, tc := range []struct {
		name        string
		env         map[string]string
		wantRPID    string
		wantOrigins []string
		wantWarning bool   // passkeys work, with a warning (or are off when wantRPID is "")
		wantErr     string // the variable a start-up error names
	}{
		{name: "defaults", env: map[string]string{},
			wantRPID: "localhost", wantOrigins: []string{"http://localhost:8080"}},
		{name: "dashboard on the same host", env: map[string]string{"LATCHKEY_PUBLIC_URL": "https://auth.example.com", "LATCHKEY_DASHBOARD_URL": "https://auth.example.com:8443/app"},
			wantRPID: "auth.example.com", wantOrigins: []string{"https://auth.example.com", "https://auth.example.com:8443"}},
		{name: "dashboard on another host", env: map[string]string{"LATCHKEY_PUBLIC_URL": "https://auth.example.com", "LATCHKEY_DASHBOARD_URL": "https://app.example.com"},
			wantRPID: "auth.example.com", wantOrigins: []string{"https://auth.example.com"}, wantWarning: true},
		{name: "shared parent domain", env: map[string]string{"LATCHKEY_PUBLIC_URL": "https://auth.example.com", "LATCHKEY_DASHBOARD_URL": "https://app.example.com", "LATCHKEY_WEBAUTHN_RP_ID": "Example.com"},
			wantRPID: "example.com", wantOrigins: []string{"https://auth.example.com", "https://app.example.com"}},
		{name: "explicit origins", env: map[string]string{"LATCHKEY_WEBAUTHN_RP_ID": "example.com", "LATCHKEY_WEBAUTHN_ORIGINS": "https://a.example.com, https://example.com"},
			wantRPID: "example.com", wantOrigins: []string{"https://a.example.com", "https://example.com"}},
		{name: "public URL on an IP", env: map[string]string{"LATCHKEY_PUBLIC_URL": "http://127.0.0.1:8080"},
			wantWarning: true},
		{name: "origin outside the RP ID", env: map[string]string{"LATCHKEY_WEBAUTHN_RP_ID": "example.com", "LATCHKEY_WEBAUTHN_ORIGINS": "https://example.com.evil.test"},
			wantErr: "LATCHKEY_WEBAUTHN_ORIGINS"},
		{name: "origin with a path", env: map[string]string{"LATCHKEY_WEBAUTHN_ORIGINS": "http://localhost:8080/login"},
			wantErr: "LATCHKEY_WEBAUTHN_ORIGINS"},
		{name: "RP ID is an IP", env: map[string]string{"LATCHKEY_WEBAUTHN_RP_ID": "10.0.0.1", "LATCHKEY_WEBAUTHN_ORIGINS": "http://10.0.0.1"},
			wantErr: "LATCHKEY_WEBAUTHN_"},
		{name: "RP ID covering neither URL", env: map[string]string{"LATCHKEY_WEBAUTHN_RP_ID": "other.test"},
			wantErr: "LATCHKEY_WEBAUTHN_RP_ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseConfig("serve", nil, func(k string) string { return tc.env[k] }, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			dcfg := c.domainConfig()
			rp, warning := c.relyingParty(dcfg.PublicURL, dcfg.DashboardURL)
			if tc.wantErr != "" {
				if c.err == nil || !strings.HasPrefix(c.err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want one naming %s", c.err, tc.wantErr)
				}
				return
			}
			if c.err != nil {
				t.Fatal(c.err)
			}
			if (warning != "") != tc.wantWarning {
				t.Errorf("warning = %q", warning)
			}
			if tc.wantRPID == "" {
				if rp != nil {
					t.Fatalf("passkeys on with RP ID %s", rp.RPID())
				}
				return
			}
			if rp == nil || rp.RPID() != tc.wantRPID || !slices.Equal(rp.Origins(), tc.wantOrigins) {
				if rp != nil {
					t.Fatalf("relying party %s for %v", rp.RPID(), rp.Origins())
				}
				t.Fatal("passkeys off")
			}
		})
	}
}
