// Package password hashes and verifies passwords with argon2id, verifies
// bcrypt hashes of imported users so they can be rehashed on sign-in, and
// applies the contract's password policy.
package password

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // degree of parallelism
}

// DefaultParams are the OWASP-recommended argon2id parameters
// (19 MiB, 2 passes, 1 lane): about 35 ms of CPU per hash.
var DefaultParams = Params{Memory: 19456, Time: 2, Threads: 1}

// Hasher hashes new passwords with its Params and verifies argon2id and
// bcrypt hashes. The zero Hasher uses DefaultParams.
type Hasher struct {
	Params Params
}

const (
	saltLen = 16
	keyLen  = 32

	// Bounds on what Verify accepts from an encoded hash, so a corrupt or
	// hostile row cannot make one sign-in allocate gigabytes or run for
	// minutes. Hashes made with larger Params of the Hasher itself are
	// always accepted.
	maxMemory     = 256 * 1024 // KiB
	maxTime       = 16
	minSaltLen    = 8
	maxSaltLen    = 64
	minKeyLen     = 16 // never 0: an empty key would match every password
	maxKeyLen     = 64
	maxBcryptCost = 16 // cost 10 is ~70 ms here; 16 is ~4.5 s
)

var (
	errMalformed   = errors.New("password: malformed hash")
	errUnsupported = errors.New("password: unsupported hash algorithm")
	errBadParams   = errors.New("password: invalid argon2id parameters")
)

// params returns the Hasher's Params, or DefaultParams for the zero Hasher.
func (h Hasher) params() Params {
	if h.Params == (Params{}) {
		return DefaultParams
	}
	return h.Params
}

// Hash returns pw hashed with argon2id as a PHC string:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>, with a 16-byte random salt,
// a 32-byte key and unpadded standard base64.
func (h Hasher) Hash(pw string) (string, error) {
	p := h.params()
	if p.Time < 1 || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) {
		return "", fmt.Errorf("%w: %+v", errBadParams, p)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: reading salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, keyLen)
	return encode(p, salt, key), nil
}

func encode(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Verify reports whether pw matches encoded. needsRehash is true when pw
// matched but encoded is bcrypt ($2a$, $2b$, $2y$: imported users) or
// argon2id with Params other than the Hasher's, so the caller should store
// a fresh Hash. A malformed or unsupported encoded hash returns an error;
// a wrong password is ok == false with a nil error.
func (h Hasher) Verify(encoded, pw string) (ok, needsRehash bool, err error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		return h.verifyArgon2id(encoded, pw)
	case strings.HasPrefix(encoded, "$2a$"),
		strings.HasPrefix(encoded, "$2b$"),
		strings.HasPrefix(encoded, "$2y$"):
		return verifyBcrypt(encoded, pw)
	default:
		return false, false, errUnsupported
	}
}

func (h Hasher) verifyArgon2id(encoded, pw string) (ok, needsRehash bool, err error) {
	own := h.params()
	p, salt, key, err := decode(encoded, own)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 {
		return false, false, nil
	}
	return true, p != own, nil
}

// decode parses a PHC argon2id string. Hashes costlier than the package
// bounds are refused unless they do not exceed own, the Hasher's Params.
func decode(encoded string, own Params) (p Params, salt, key []byte, err error) {
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errMalformed
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("%w: version %q", errMalformed, parts[2])
	}
	if p, err = parseParams(parts[3]); err != nil {
		return p, nil, nil, err
	}
	if p.Time < 1 || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) {
		return p, nil, nil, fmt.Errorf("%w: %s", errBadParams, parts[3])
	}
	if (p.Memory > maxMemory && p.Memory > own.Memory) || (p.Time > maxTime && p.Time > own.Time) {
		return p, nil, nil, fmt.Errorf("%w: cost too high: %s", errBadParams, parts[3])
	}
	b64 := base64.RawStdEncoding.Strict()
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return p, nil, nil, fmt.Errorf("%w: salt", errMalformed)
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return p, nil, nil, fmt.Errorf("%w: key", errMalformed)
	}
	return p, salt, key, nil
}

// parseParams parses exactly "m=<uint32>,t=<uint32>,p=<uint8>", the order
// every argon2 implementation writes.
func parseParams(s string) (Params, error) {
	var p Params
	fields := strings.Split(s, ",")
	if len(fields) != 3 {
		return p, fmt.Errorf("%w: params %q", errMalformed, s)
	}
	var vals [3]uint64
	for i, name := range []string{"m=", "t=", "p="} {
		digits, found := strings.CutPrefix(fields[i], name)
		if !found || digits == "" || digits[0] == '+' || digits[0] == '-' {
			return p, fmt.Errorf("%w: params %q", errMalformed, s)
		}
		bits := 32
		if name == "p=" {
			bits = 8
		}
		v, err := strconv.ParseUint(digits, 10, bits)
		if err != nil {
			return p, fmt.Errorf("%w: params %q", errMalformed, s)
		}
		vals[i] = v
	}
	return Params{Memory: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2])}, nil
}

// verifyBcrypt checks an imported bcrypt hash; a match always needs a
// rehash to argon2id. As in every bcrypt, bytes of pw past the 72nd are
// ignored.
func verifyBcrypt(encoded, pw string) (ok, needsRehash bool, err error) {
	hash := []byte(encoded)
	cost, err := bcrypt.Cost(hash)
	if err != nil {
		return false, false, fmt.Errorf("%w: bcrypt: %v", errMalformed, err)
	}
	if cost > maxBcryptCost {
		return false, false, fmt.Errorf("%w: bcrypt cost %d too high", errBadParams, cost)
	}
	// bcrypt.Cost reads only the header; the rest must be 22 characters of
	// salt and 31 of hash in bcrypt's base64 alphabet.
	if len(hash) != 60 || !isBcryptBase64(hash[7:]) {
		return false, false, fmt.Errorf("%w: bcrypt", errMalformed)
	}
	switch err := bcrypt.CompareHashAndPassword(hash, []byte(pw)); {
	case err == nil:
		return true, true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, false, nil
	default:
		return false, false, fmt.Errorf("%w: bcrypt: %v", errMalformed, err)
	}
}

const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func isBcryptBase64(b []byte) bool {
	for _, c := range b {
		if bytes.IndexByte([]byte(bcryptAlphabet), c) < 0 {
			return false
		}
	}
	return true
}

// dummyHashes caches, per Params, the hash Dummy verifies against.
var dummyHashes sync.Map // Params -> string

// Dummy spends the cost of one Verify with the Hasher's Params, for sign-in
// attempts on unknown accounts, so response time does not reveal which
// accounts exist. The hash it verifies against is computed once per Params.
func (h Hasher) Dummy(pw string) {
	p := h.params()
	encoded, found := dummyHashes.Load(p)
	if !found {
		hash, err := Hasher{Params: p}.Hash("latchkey-dummy-password")
		if err != nil {
			return // invalid Params: Verify of a real hash would fail just as fast
		}
		encoded, _ = dummyHashes.LoadOrStore(p, hash)
	}
	_, _, _ = h.Verify(encoded.(string), pw)
}
