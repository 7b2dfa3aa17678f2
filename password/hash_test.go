package password_test

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/latchkey/latchkey/password"
)

// cheap keeps tests fast on the shared machine.
var cheap = password.Params{Memory: 64, Time: 1, Threads: 1}

var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

func mustHash(t testing.TB, h password.Hasher, pw string) string {
	t.Helper()
	encoded, err := h.Hash(pw)
	if err != nil {
		t.Fatalf("Hash(%q): %v", pw, err)
	}
	return encoded
}

func TestHashFormat(t *testing.T) {
	h := password.Hasher{Params: password.Params{Memory: 128, Time: 3, Threads: 2}}
	a := mustHash(t, h, "correct horse battery staple")
	m := phc.FindStringSubmatch(a)
	if m == nil {
		t.Fatalf("Hash = %q, not a PHC argon2id string", a)
	}
	if m[1] != "128" || m[2] != "3" || m[3] != "2" {
		t.Errorf("params in %q = m=%s,t=%s,p=%s, want m=128,t=3,p=2", a, m[1], m[2], m[3])
	}
	for _, f := range []struct {
		name string
		b64  string
		want int
	}{{"salt", m[4], 16}, {"key", m[5], 32}} {
		raw, err := base64.RawStdEncoding.DecodeString(f.b64)
		if err != nil || len(raw) != f.want {
			t.Errorf("%s %q: %d bytes, err %v; want %d bytes", f.name, f.b64, len(raw), err, f.want)
		}
	}
	if b := mustHash(t, h, "correct horse battery staple"); a == b {
		t.Errorf("two hashes of one password are equal (%q): salt not random", a)
	}
}

func TestVerify(t *testing.T) {
	h := password.Hasher{Params: cheap}
	tests := []struct {
		name string
		pw   string // hashed
		try  string // verified
		ok   bool
	}{
		{"same", "correct horse battery staple", "correct horse battery staple", true},
		{"wrong", "correct horse battery staple", "correct horse battery stapler", false},
		{"case differs", "Secret-Passw0rd", "secret-passw0rd", false},
		{"empty try", "Secret-Passw0rd", "", false},
		{"multibyte", "pässwörd-日本語-🔑", "pässwörd-日本語-🔑", true},
		{"multibyte differs", "pässwörd-日本語-🔑", "passwörd-日本語-🔑", false},
		{"long", strings.Repeat("x", 1000), strings.Repeat("x", 1000), true},
		{"long differs at end", strings.Repeat("x", 1000), strings.Repeat("x", 999) + "y", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			encoded := mustHash(t, h, tt.pw)
			ok, rehash, err := h.Verify(encoded, tt.try)
			if err != nil || ok != tt.ok || rehash {
				t.Errorf("Verify = ok %v, needsRehash %v, err %v; want ok %v, false, nil", ok, rehash, err, tt.ok)
			}
		})
	}
}

func TestVerifyDefaultParams(t *testing.T) {
	var zero password.Hasher // the zero Hasher uses DefaultParams
	h := password.Hasher{Params: password.DefaultParams}
	encoded := mustHash(t, zero, "default-params-pw")
	if !strings.HasPrefix(encoded, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("Hash with DefaultParams = %q", encoded)
	}
	for _, tt := range []struct {
		try string
		ok  bool
	}{{"default-params-pw", true}, {"default-params-pW", false}} {
		ok, rehash, err := h.Verify(encoded, tt.try)
		if err != nil || ok != tt.ok || rehash {
			t.Errorf("Verify(%q) = %v, %v, %v; want %v, false, nil", tt.try, ok, rehash, err, tt.ok)
		}
	}
}

func TestVerifyNeedsRehash(t *testing.T) {
	h := password.Hasher{Params: cheap}
	const pw = "imported-user-pw"
	tests := []struct {
		name    string
		encoded string
	}{
		{"other memory", mustHash(t, password.Hasher{Params: password.Params{Memory: 128, Time: 1, Threads: 1}}, pw)},
		{"other time", mustHash(t, password.Hasher{Params: password.Params{Memory: 64, Time: 2, Threads: 1}}, pw)},
		{"other threads", mustHash(t, password.Hasher{Params: password.Params{Memory: 64, Time: 1, Threads: 2}}, pw)},
		{"bcrypt 2a", bcryptHash(t, pw, "$2a$")},
		{"bcrypt 2b", bcryptHash(t, pw, "$2b$")},
		{"bcrypt 2y", bcryptHash(t, pw, "$2y$")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(tt.encoded, pw)
			if err != nil || !ok || !rehash {
				t.Errorf("Verify(%q) = ok %v, needsRehash %v, err %v; want true, true, nil", tt.encoded, ok, rehash, err)
			}
			ok, rehash, err = h.Verify(tt.encoded, pw+"x")
			if err != nil || ok || rehash {
				t.Errorf("Verify(wrong pw) = ok %v, needsRehash %v, err %v; want false, false, nil", ok, rehash, err)
			}
		})
	}
}

// bcryptHash hashes pw at bcrypt.MinCost and rewrites the version prefix
// ($2a$ from x/crypto) to prefix, as other systems write it.
func bcryptHash(t *testing.T, pw, prefix string) string {
	t.Helper()
	b, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return prefix + strings.TrimPrefix(string(b), "$2a$")
}

func TestVerifyMalformed(t *testing.T) {
	h := password.Hasher{Params: cheap}
	const pw = "some-password"
	good := mustHash(t, h, pw)
	i := strings.LastIndexByte(good, '$')
	head, key := good[:i+1], good[i+1:]
	j := strings.LastIndexByte(good[:i], '$')
	prefix, salt := good[:j+1], good[j+1:i]
	bc := bcryptHash(t, pw, "$2a$")
	b64 := base64.RawStdEncoding.EncodeToString
	withParams := func(params string) string {
		return "$argon2id$v=19$" + params + "$" + salt + "$" + key
	}

	tests := []struct {
		name    string
		encoded string
	}{
		{"empty", ""},
		{"plain text", "some-password"},
		{"dollar only", "$"},
		{"unknown algorithm", "$scrypt$ln=16,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2g"},
		{"argon2i", strings.Replace(good, "$argon2id$", "$argon2i$", 1)},
		{"md5 crypt", "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/"},
		{"prefix only", "$argon2id$"},
		{"no version", "$argon2id$m=64,t=1,p=1$" + salt + "$" + key},
		{"version 16", strings.Replace(good, "v=19", "v=16", 1)},
		{"truncated before key", good[:i]},
		{"truncated in params", good[:len("$argon2id$v=19$m=6")]},
		{"truncated key", head + key[:len(key)/2]},
		{"extra field", good + "$" + key},
		{"bad base64 salt", prefix + "!!!!" + good[i:]},
		{"bad base64 key", head + "****" + key[4:]},
		{"padded key", head + key + "="},
		{"empty key", head},
		{"short key", head + b64([]byte("short"))},
		{"short salt", prefix + b64([]byte("salt")) + good[i:]},
		{"huge memory", withParams("m=4294967295,t=1,p=1")},
		{"memory overflows uint32", withParams("m=4294967296,t=1,p=1")},
		{"huge time", withParams("m=64,t=4294967295,p=1")},
		{"zero time", withParams("m=64,t=0,p=1")},
		{"zero threads", withParams("m=64,t=1,p=0")},
		{"threads over uint8", withParams("m=64,t=1,p=256")},
		{"memory below 8*threads", withParams("m=8,t=1,p=2")},
		{"negative memory", withParams("m=-64,t=1,p=1")},
		{"plus sign", withParams("m=+64,t=1,p=1")},
		{"params reordered", withParams("t=1,m=64,p=1")},
		{"params missing", withParams("m=64,t=1")},
		{"params empty value", withParams("m=,t=1,p=1")},
		{"bcrypt truncated", bc[:40]},
		{"bcrypt header only", "$2a$04$"},
		{"bcrypt cost 3", strings.Replace(bc, "$04$", "$03$", 1)},
		{"bcrypt cost 31", strings.Replace(bc, "$04$", "$31$", 1)},
		{"bcrypt bad alphabet", bc[:len(bc)-1] + "!"},
		{"bcrypt too long", bc + "AAAA"},
		{"bcrypt 2x", strings.Replace(bc, "$2a$", "$2x$", 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, rehash, err := h.Verify(tt.encoded, pw)
			if err == nil || ok || rehash {
				t.Errorf("Verify(%q) = ok %v, needsRehash %v, err %v; want false, false, an error", tt.encoded, ok, rehash, err)
			}
		})
	}
}

// TestVerifyOwnCostlyParams checks that the bounds on hostile hashes never
// refuse a hash made with the Hasher's own, costlier Params.
func TestVerifyOwnCostlyParams(t *testing.T) {
	h := password.Hasher{Params: password.Params{Memory: 64, Time: 20, Threads: 1}}
	encoded := mustHash(t, h, "pw-with-many-passes")
	ok, rehash, err := h.Verify(encoded, "pw-with-many-passes")
	if err != nil || !ok || rehash {
		t.Errorf("Verify = %v, %v, %v; want true, false, nil", ok, rehash, err)
	}
	ok, rehash, err = password.Hasher{Params: cheap}.Verify(encoded, "pw-with-many-passes")
	if err == nil || ok || rehash {
		t.Errorf("Verify with cheap Hasher = %v, %v, %v; want t=20 refused", ok, rehash, err)
	}
}

func TestHashInvalidParams(t *testing.T) {
	for _, p := range []password.Params{
		{Memory: 64, Time: 0, Threads: 1},
		{Memory: 64, Time: 1, Threads: 0},
		{Memory: 7, Time: 1, Threads: 1},
	} {
		t.Run(fmt.Sprintf("%+v", p), func(t *testing.T) {
			h := password.Hasher{Params: p}
			if encoded, err := h.Hash("whatever-pw"); err == nil {
				t.Errorf("Hash = %q, nil; want an error", encoded)
			}
			h.Dummy("whatever-pw") // must not panic
		})
	}
}

func TestDummy(t *testing.T) {
	for _, p := range []password.Params{cheap, {Memory: 256, Time: 1, Threads: 1}} {
		h := password.Hasher{Params: p}
		h.Dummy("warm-up") // the first call also computes the cached hash
		// Argon2id allocates its whole memory cost as a block array, so a
		// Dummy that does a Verify's work with p allocates at least that;
		// this asserts the work is done, not how long it takes.
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		h.Dummy("unknown-user-pw")
		runtime.ReadMemStats(&after)
		if got, want := after.TotalAlloc-before.TotalAlloc, uint64(p.Memory)*1024; got < want {
			t.Errorf("Dummy with %+v allocated %d bytes, want >= %d: no argon2id work", p, got, want)
		}
	}
}

func FuzzVerify(f *testing.F) {
	h := password.Hasher{Params: cheap}
	good := mustHash(f, h, "fuzz-pw")
	b, err := bcrypt.GenerateFromPassword([]byte("fuzz-pw"), bcrypt.MinCost)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{
		good, string(b), "", "$", "$argon2id$", "$2a$", "$2y$04$",
		"$argon2id$v=19$m=64,t=1,p=1$$", "$argon2id$v=19$m=0,t=0,p=0$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA",
	} {
		f.Add(s, "fuzz-pw")
	}
	f.Fuzz(func(t *testing.T, encoded, pw string) {
		ok, rehash, err := h.Verify(encoded, pw)
		if err != nil && (ok || rehash) {
			t.Errorf("Verify(%q) = ok %v, needsRehash %v with error %v", encoded, ok, rehash, err)
		}
		if rehash && !ok {
			t.Errorf("Verify(%q) = needsRehash without ok", encoded)
		}
	})
}

func BenchmarkHashDefault(b *testing.B) {
	h := password.Hasher{Params: password.DefaultParams}
	for b.Loop() {
		if _, err := h.Hash("benchmark-password"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyDefault(b *testing.B) {
	h := password.Hasher{Params: password.DefaultParams}
	encoded := mustHash(b, h, "benchmark-password")
	for b.Loop() {
		if ok, _, err := h.Verify(encoded, "benchmark-password"); !ok || err != nil {
			b.Fatalf("Verify = %v, %v", ok, err)
		}
	}
}
