package latchkey_test

import (
	"testing"

	"github.com/latchkey/latchkey"
)

func TestSafeRedirect(t *testing.T) {
	s := &latchkey.Service{Config: latchkey.Config{DashboardURL: "https://app.example.com"}}
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"/account", "https://app.example.com/account"},
		{"/settings?tab=keys#top", "https://app.example.com/settings?tab=keys#top"},
		{"https://app.example.com/x", "https://app.example.com/x"},
		{"HTTPS://APP.EXAMPLE.COM/x", "https://APP.EXAMPLE.COM/x"},
		{"//evil.com", ""},
		{"//evil.com/account", ""},
		{"/\\evil.com", ""},
		{"\\\\evil.com", ""},
		{"https://evil.com/account", ""},
		{"https://app.example.com.evil.com/", ""},
		{"https://app.example.com@evil.com/", ""},
		{"https://good@app.example.com/", ""},
		{"http://app.example.com/", ""}, // scheme downgrade
		{"https://app.example.com:8443/", ""},
		{"javascript:alert(1)", ""},
		{"JavaScript:alert(1)", ""},
		{"data:text/html,hi", ""},
		{"account", ""},
		{"/%2F%2Fevil.com", "https://app.example.com/%2F%2Fevil.com"}, // a path on our origin
		{"/\tevil", ""},
		{"/x\r\nSet-Cookie: a=b", ""},
		{"https:evil.com", ""},
		{"https:/evil.com", ""},
	}
	for _, tt := range tests {
		if got := s.SafeRedirect(tt.in); got != tt.want {
			t.Errorf("SafeRedirect(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
