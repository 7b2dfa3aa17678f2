package password_test

import (
	"bufio"
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/latchkey/latchkey/password"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		pw   string
		want error
	}{
		{"empty", "", password.ErrTooShort},
		{"7 chars", "xk7#Qm2", password.ErrTooShort},
		{"8 chars", "xk7#Qm2v", nil},
		{"7 runes in 21 bytes", "日本語日本語日", password.ErrTooShort},
		{"8 runes in 24 bytes", "日本語日本語日本", nil},
		{"7 emoji in 28 bytes", strings.Repeat("🔑", 7), password.ErrTooShort},
		{"128 chars", strings.Repeat("ab", 64), nil},
		{"129 chars", strings.Repeat("ab", 64) + "c", password.ErrTooLong},
		{"128 runes in 384 bytes", strings.Repeat("語", 128), nil},
		{"129 runes", strings.Repeat("語", 129), password.ErrTooLong},
		{"128 runes mixed widths", strings.Repeat("aé語🔑", 32), nil},
		{"129 runes mixed widths", strings.Repeat("aé語🔑", 32) + "a", password.ErrTooLong},
		{"common", "password", password.ErrCommon},
		{"common upper-case", "PASSWORD", password.ErrCommon},
		{"common mixed case", "PassWord1", password.ErrCommon},
		{"common digits", "12345678", password.ErrCommon},
		{"common keyboard", "QwertyUiop", password.ErrCommon},
		{"common iloveyou1", "iloveyou1", password.ErrCommon},
		{"common baseball1", "Baseball1", password.ErrCommon},
		{"common short is too short", "qwerty", password.ErrTooShort},
		{"common with suffix", "password-is-not-enough-here", nil},
		{"common with space", " password", nil},
		{"passphrase", "correct horse battery staple", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := password.Check(tt.pw); !errors.Is(got, tt.want) || (got == nil) != (tt.want == nil) {
				t.Errorf("Check(%q) = %v, want %v", tt.pw, got, tt.want)
			}
		})
	}
}

// TestCommonList checks the embedded list's shape, and that Check refuses
// every entry in any case.
func TestCommonList(t *testing.T) {
	f, err := os.Open("common.txt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	seen := make(map[string]bool)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := sc.Text()
		switch {
		case w != strings.TrimSpace(w) || w == "":
			t.Errorf("entry %q: blank or surrounded by space", w)
		case w != strings.ToLower(w):
			t.Errorf("entry %q: not lower-case", w)
		case utf8.RuneCountInString(w) < password.MinLength:
			t.Errorf("entry %q: shorter than %d, already refused by length", w, password.MinLength)
		case seen[w]:
			t.Errorf("entry %q: duplicate", w)
		}
		seen[w] = true
		for _, v := range []string{w, strings.ToUpper(w)} {
			if err := password.Check(v); !errors.Is(err, password.ErrCommon) {
				t.Errorf("Check(%q) = %v, want ErrCommon", v, err)
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(seen) < 500 {
		t.Errorf("common.txt has %d entries, want several hundred", len(seen))
	}
}
