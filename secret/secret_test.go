package secret_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/secret"
)

func TestShapes(t *testing.T) {
	tests := []struct {
		name string
		got  string
		re   string
	}{
		{"id", secret.ID("usr_"), `^usr_[a-z2-7]{26}$`},
		{"token", secret.Token("sk_live_"), `^sk_live_[A-Za-z0-9_-]{43}$`},
		{"digits", secret.Digits(6), `^[0-9]{6}$`},
		{"hash", secret.Hash("x"), `^[0-9a-f]{64}$`},
	}
	for _, tt := range tests {
		if !regexp.MustCompile(tt.re).MatchString(tt.got) {
			t.Errorf("%s = %q, want match %s", tt.name, tt.got, tt.re)
		}
	}
}

func TestTokensDiffer(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		v := secret.Token("")
		if seen[v] {
			t.Fatalf("duplicate token %q", v)
		}
		seen[v] = true
	}
}

func TestEqual(t *testing.T) {
	if !secret.Equal("abc", "abc") || secret.Equal("abc", "abd") || secret.Equal("abc", "ab") {
		t.Fatal("Equal is wrong")
	}
}

func TestValueRedacts(t *testing.T) {
	v := secret.Value("sk_live_topsecret")
	for _, s := range []string{fmt.Sprint(v), fmt.Sprintf("%v %s %#v", v, v, v)} {
		if strings.Contains(s, "topsecret") {
			t.Fatalf("secret leaked: %s", s)
		}
	}
	if v.Reveal() != "sk_live_topsecret" {
		t.Fatal("Reveal lost the value")
	}
}
