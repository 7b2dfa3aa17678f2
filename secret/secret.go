// Package secret makes and handles the random values Latchkey hands out:
// identifiers, tokens, and the hashes it stores in their place.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
)

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// ID returns prefix followed by 128 random bits in lower-case base32,
// e.g. "usr_…". IDs are not secret, only unguessable.
func ID(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	return prefix + idEncoding.EncodeToString(b[:])
}

// Token returns prefix followed by 256 random bits in base64url. The value
// is a credential: store only Hash(token).
func Token(prefix string) string {
	var b [32]byte
	rand.Read(b[:])
	return prefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// Digits returns n random decimal digits, for codes a person types.
func Digits(n int) string {
	max := big.NewInt(1)
	for range n {
		max.Mul(max, big.NewInt(10))
	}
	v, err := rand.Int(rand.Reader, max)
	if err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return fmt.Sprintf("%0*d", n, v)
}

// Hash returns the hex SHA-256 of a high-entropy token. It is what the
// database stores; a slow hash would add nothing for 256-bit secrets.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Equal compares two secrets in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Value holds a secret that must never reach a log: its String and
// GoString methods redact it.
type Value string

// String redacts the value.
func (Value) String() string { return "[redacted]" }

// GoString redacts the value in %#v.
func (Value) GoString() string { return "[redacted]" }

// Reveal returns the secret itself, for the one place that must send it.
func (v Value) Reveal() string { return string(v) }
