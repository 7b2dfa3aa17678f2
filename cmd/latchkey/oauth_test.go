package main

import (
	"strings"
	"testing"
)

func TestOAuthConfigs(t *testing.T) {
	const pub = "https://auth.example.com"
	tests := []struct {
		name    string
		env     []string
		wantIDs []string
		wantErr string // the variable the error must name
	}{
		{"none", []string{"PATH=/bin", "LATCHKEY_ADDR=:1"}, nil, ""},
		{"built-ins and a generic one", []string{
			"LATCHKEY_OAUTH_OKTA_CLIENT_ID=o", "LATCHKEY_OAUTH_OKTA_ISSUER=https://okta.example.com",
			"LATCHKEY_OAUTH_GOOGLE_CLIENT_ID=g", "LATCHKEY_OAUTH_GOOGLE_CLIENT_SECRET=gs",
			"LATCHKEY_OAUTH_GITHUB_CLIENT_ID=h", "LATCHKEY_OAUTH_GITHUB_CLIENT_SECRET=hs",
		}, []string{"github", "google", "okta"}, ""},
		{"id with an underscore", []string{
			"LATCHKEY_OAUTH_MY_IDP_CLIENT_ID=x", "LATCHKEY_OAUTH_MY_IDP_ISSUER=http://127.0.0.1:9",
		}, []string{"my_idp"}, ""},
		{"github overrides", []string{
			"LATCHKEY_OAUTH_GITHUB_CLIENT_ID=h", "LATCHKEY_OAUTH_GITHUB_AUTH_URL=http://127.0.0.1:1/a",
			"LATCHKEY_OAUTH_GITHUB_TOKEN_URL=http://127.0.0.1:1/t", "LATCHKEY_OAUTH_GITHUB_USERINFO_URL=http://127.0.0.1:1/user",
		}, []string{"github"}, ""},
		{"generic without issuer", []string{"LATCHKEY_OAUTH_ACME_CLIENT_ID=a"}, nil, "LATCHKEY_OAUTH_ACME_ISSUER"},
		{"secret without client id", []string{"LATCHKEY_OAUTH_GITHUB_CLIENT_SECRET=s"}, nil, "LATCHKEY_OAUTH_GITHUB_CLIENT_ID"},
		{"bad override URL", []string{"LATCHKEY_OAUTH_GITHUB_CLIENT_ID=h", "LATCHKEY_OAUTH_GITHUB_TOKEN_URL=ftp://x"}, nil, "LATCHKEY_OAUTH_GITHUB_TOKEN_URL"},
		{"relative issuer", []string{"LATCHKEY_OAUTH_ACME_CLIENT_ID=a", "LATCHKEY_OAUTH_ACME_ISSUER=/x"}, nil, "LATCHKEY_OAUTH_ACME_ISSUER"},
		{"issuer for github", []string{"LATCHKEY_OAUTH_GITHUB_CLIENT_ID=h", "LATCHKEY_OAUTH_GITHUB_ISSUER=https://github.com"}, nil, "LATCHKEY_OAUTH_GITHUB_ISSUER"},
		{"id with a bad character", []string{"LATCHKEY_OAUTH_A.B_CLIENT_ID=x", "LATCHKEY_OAUTH_A.B_ISSUER=https://x.example"}, nil, "LATCHKEY_OAUTH_A.B_CLIENT_ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfgs, err := oauthConfigs(tt.env, pub)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr+": ") || strings.Contains(err.Error(), "\n") {
					t.Fatalf("err = %v, want one line naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, c := range cfgs {
				ids = append(ids, c.ID)
				if c.RedirectURL != pub+"/oauth/"+c.ID+"/callback" {
					t.Errorf("%s redirect URL = %s", c.ID, c.RedirectURL)
				}
			}
			if strings.Join(ids, ",") != strings.Join(tt.wantIDs, ",") {
				t.Errorf("providers = %v, want %v", ids, tt.wantIDs)
			}
			if _, err := oauthRegistry(cfgs); err != nil {
				t.Errorf("registry: %v", err)
			}
		})
	}
}
