package latchkey

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"
)

// SigningKey is an Ed25519 key that signs access tokens. Keys live in the
// database so that every node signs and verifies with the same ones.
type SigningKey struct {
	Slot int // rotation generation; one key per slot
	KID  string
	// PrivateKey is the key in memory. Stores never write it in clear
	// when Sealed is set: Sealed is the base64 seed sealed under the
	// server secret (secrets.go). A store given a key without Sealed (old
	// rows, tests) keeps the clear seed, which Open seals at the next start.
	PrivateKey ed25519.PrivateKey
	Sealed     string
	// NotBefore is when the key starts signing (latchkey keys rotate:
	// after the overlap, so JWKS caches have it first). Zero: at once.
	NotBefore time.Time
	CreatedAt time.Time
}

// accessClaims are the claims of an access token (RFC 9068, plus the
// contract's org, sid, aal and amr).
type accessClaims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  string   `json:"aud,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	JTI       string   `json:"jti,omitempty"`
	Org       string   `json:"org"`
	SessionID string   `json:"sid"`
	Scope     string   `json:"scope"`
	AAL       string   `json:"aal,omitempty"`
	AMR       []string `json:"amr,omitempty"`
	IssuedAt  int64    `json:"iat"`
	Expires   int64    `json:"exp"`
}

// TokenClientID is the client_id claim of every access token (RFC 9068):
// Latchkey issues tokens to itself, for the platform's own services.
const TokenClientID = "latchkey"

type keyring struct {
	mu       sync.RWMutex
	keys     map[string]ed25519.PublicKey
	list     []SigningKey // every key, oldest slot first
	ttl      time.Duration
	load     func(ctx context.Context) ([]SigningKey, error)
	reloaded time.Time // last reload for an unknown kid
	loadedAt time.Time // service time of the last load, for rotations
	now      func() time.Time

	// verified remembers the claims of tokens whose signature checked out,
	// because a dashboard presents the same access token on every page
	// load for its whole life and Ed25519 verification is most of the cost
	// of auth.me. It caches the signature check only: expiry and the
	// session (revocation) are checked on every request by the caller.
	// Each entry lasts until its key retires (time known when cached);
	// a change of the key list (a rotation) empties the cache, so entries
	// are always computed against the current list.
	cacheMu  sync.Mutex
	verified map[string]verifiedToken
}

type verifiedToken struct {
	claims accessClaims
	until  time.Time // the signing key's retirement; zero: none planned
}

// maxVerified bounds the cache; when full it starts over (a burst of new
// tokens costs one verification each, as without the cache).
const maxVerified = 20000

// keyReloadEvery bounds how often tokens naming an unknown kid make the
// node re-read the signing keys: without it every forged token would cost
// a database read and a key derivation per stored key.
const keyReloadEvery = time.Second

// keyReloadPeriod is how often a node re-reads the signing keys, so it
// learns a rotation made elsewhere well within the overlap.
const keyReloadPeriod = time.Minute

// loadKeys reads the signing keys, creating the first one on a fresh
// database.
func (s *Service) loadKeys(ctx context.Context, now time.Time) (*keyring, error) {
	list, err := s.signingKeys(ctx)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		k, err := s.newSigningKey(1, now, now)
		if err != nil {
			return nil, err
		}
		if err := s.Store.CreateSigningKey(ctx, k); err != nil {
			return nil, err
		}
		if list, err = s.signingKeys(ctx); err != nil {
			return nil, err
		}
	}
	if len(list) == 0 {
		return nil, errors.New("no signing key after creating one")
	}
	kr := &keyring{keys: map[string]ed25519.PublicKey{}, load: s.signingKeys, ttl: s.Config.AccessTokenTTL, now: s.now}
	kr.setKeys(list, now)
	return kr, nil
}

// setKeys replaces the key list; kr.mu must be held or kr unshared. A
// changed list empties the verification cache (lock order: mu, then
// cacheMu).
func (kr *keyring) setKeys(list []SigningKey, now time.Time) {
	if len(list) != len(kr.list) {
		kr.cacheMu.Lock()
		kr.verified = nil
		kr.cacheMu.Unlock()
	}
	kr.list, kr.loadedAt = list, now
	kr.keys = map[string]ed25519.PublicKey{}
	for _, k := range list {
		kr.keys[k.KID] = k.PrivateKey.Public().(ed25519.PublicKey)
	}
}

// signsFrom is when k started (or starts) signing: keys from before
// rotations have no NotBefore and signed from their creation.
func (k SigningKey) signsFrom() time.Time {
	if k.NotBefore.IsZero() {
		return k.CreatedAt
	}
	return k.NotBefore
}

// signerAt is the key that signs at now: the newest whose NotBefore has
// come (the oldest if none has).
func signerAt(list []SigningKey, now time.Time) SigningKey {
	signer := list[0]
	for _, k := range list[1:] {
		if !k.signsFrom().After(now) {
			signer = k
		}
	}
	return signer
}

// retiredAt reports whether key i's every token has expired at now: a
// newer key has been signing for longer than a token lives (plus a
// minute for clock skew and the reload period). A retired key leaves the
// JWKS and verifies nothing more, so its private key no longer matters.
func retiredAt(list []SigningKey, i int, ttl time.Duration, now time.Time) bool {
	for _, k := range list[i+1:] {
		if !k.signsFrom().Add(ttl + keyReloadPeriod).After(now) {
			return true
		}
	}
	return false
}

// refresh re-reads the keys when the last load is older than the period.
func (kr *keyring) refresh(ctx context.Context, now time.Time) {
	kr.mu.RLock()
	stale := now.Sub(kr.loadedAt) >= keyReloadPeriod
	kr.mu.RUnlock()
	if !stale {
		return
	}
	list, err := kr.load(ctx)
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if err != nil || len(list) == 0 {
		kr.loadedAt = now // keep the keys we have; retry next period
		return
	}
	kr.setKeys(list, now)
}

// keyID derives a stable kid from the public key (RFC 7638 style digest).
func keyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

func (kr *keyring) sign(ctx context.Context, c accessClaims) (string, error) {
	now := kr.now()
	kr.refresh(ctx, now)
	kr.mu.RLock()
	signer := signerAt(kr.list, now)
	kr.mu.RUnlock()
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","typ":"at+jwt","kid":"` + signer.KID + `"}`))
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signing := header + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig := ed25519.Sign(signer.PrivateKey, []byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

var errMalformedJWT = errors.New("malformed token")

// verify checks the token's signature with the key its kid names and
// returns its claims. Expiry is the caller's to check. Only EdDSA is
// accepted, whatever the header says, so no algorithm confusion.
func (kr *keyring) verify(ctx context.Context, token string) (accessClaims, error) {
	kr.refresh(ctx, kr.now()) // a node that only verifies learns rotations too
	kr.cacheMu.Lock()
	e, ok := kr.verified[token]
	kr.cacheMu.Unlock()
	if ok && (e.until.IsZero() || kr.now().Before(e.until)) {
		return e.claims, nil
	}
	c, kid, err := kr.verifySignature(ctx, token)
	if err != nil {
		return c, err
	}
	until := kr.retireTime(kid)
	kr.cacheMu.Lock()
	if len(kr.verified) >= maxVerified || kr.verified == nil {
		kr.verified = make(map[string]verifiedToken, 1024)
	}
	kr.verified[token] = verifiedToken{c, until}
	kr.cacheMu.Unlock()
	return c, nil
}

// retireTime is when kid retires under the current key list (zero: no
// newer key yet).
func (kr *keyring) retireTime(kid string) time.Time {
	kr.mu.RLock()
	defer kr.mu.RUnlock()
	var at time.Time
	for i, k := range kr.list {
		if k.KID != kid {
			continue
		}
		for _, newer := range kr.list[i+1:] {
			if t := newer.signsFrom().Add(kr.ttl + keyReloadPeriod); at.IsZero() || t.Before(at) {
				at = t
			}
		}
	}
	return at
}

// verifySignature is verify without the cache; it also returns the kid.
func (kr *keyring) verifySignature(ctx context.Context, token string) (accessClaims, string, error) {
	var c accessClaims
	h, rest, ok := strings.Cut(token, ".")
	if !ok {
		return c, "", errMalformedJWT
	}
	p, sigPart, ok := strings.Cut(rest, ".")
	if !ok || len(sigPart) != 86 || len(token) > 4096 {
		return c, "", errMalformedJWT
	}
	hdr, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return c, "", errMalformedJWT
	}
	var header struct {
		Alg string `json:"alg"`
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(hdr, &header); err != nil || header.Alg != "EdDSA" {
		return c, "", errMalformedJWT
	}
	pub, err := kr.key(ctx, header.KID)
	if err != nil {
		return c, "", err
	}
	var sig [ed25519.SignatureSize]byte
	if n, err := base64.RawURLEncoding.Decode(sig[:], []byte(sigPart)); err != nil || n != len(sig) {
		return c, "", errMalformedJWT
	}
	if !ed25519.Verify(pub, []byte(token[:len(h)+1+len(p)]), sig[:]) {
		return c, "", errMalformedJWT
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return c, "", errMalformedJWT
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&c); err != nil {
		return c, "", errMalformedJWT
	}
	return c, header.KID, nil
}

// key returns the public key for kid, reading the database once more when
// another node has added a key since this one started.
func (kr *keyring) key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	kr.mu.RLock()
	pub, ok := kr.keys[kid]
	retired := ok && kr.retired(kid)
	kr.mu.RUnlock()
	if retired {
		return nil, errMalformedJWT
	}
	if ok {
		return pub, nil
	}
	if kid == "" || len(kid) > 64 {
		return nil, errMalformedJWT
	}
	kr.mu.Lock()
	defer kr.mu.Unlock()
	if pub, ok = kr.keys[kid]; ok {
		return pub, nil // another request reloaded meanwhile
	}
	if time.Since(kr.reloaded) < keyReloadEvery {
		return nil, errMalformedJWT
	}
	kr.reloaded = time.Now()
	list, err := kr.load(ctx)
	if err != nil {
		return nil, err
	}
	if len(list) > 0 {
		kr.setKeys(list, kr.loadedAt)
	}
	if pub, ok = kr.keys[kid]; !ok || kr.retired(kid) {
		return nil, errMalformedJWT
	}
	return pub, nil
}

// retired reports whether kid is retired now; kr.mu must be held.
func (kr *keyring) retired(kid string) bool {
	for i, k := range kr.list {
		if k.KID == kid {
			return retiredAt(kr.list, i, kr.ttl, kr.now())
		}
	}
	return false
}

// JWK is one public key of the JSON Web Key Set.
type JWK struct {
	KTY string `json:"kty"`
	CRV string `json:"crv"`
	X   string `json:"x"`
	KID string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// JWKS returns the public keys that verify access tokens, for
// /.well-known/jwks.json: every key not retired, including one that will
// only sign after its rotation overlap.
func (s *Service) JWKS(ctx context.Context) ([]JWK, error) {
	list, err := s.signingKeys(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]JWK, 0, len(list))
	for i, k := range list {
		if retiredAt(list, i, s.Config.AccessTokenTTL, now) {
			continue
		}
		pub := k.PrivateKey.Public().(ed25519.PublicKey)
		out = append(out, JWK{KTY: "OKP", CRV: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub), KID: k.KID, Alg: "EdDSA", Use: "sig"})
	}
	return out, nil
}
