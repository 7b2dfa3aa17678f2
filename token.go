package latchkey

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
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
	Slot       int // rotation generation; one key per slot
	KID        string
	PrivateKey ed25519.PrivateKey
	CreatedAt  time.Time
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
	signer   SigningKey
	store    Store
	reloaded time.Time // last reload for an unknown kid

	// verified remembers the claims of tokens whose signature checked out,
	// because a dashboard presents the same access token on every page
	// load for its whole life and Ed25519 verification is most of the cost
	// of auth.me. It caches the signature check only: expiry and the
	// session (revocation) are checked on every request by the caller.
	// Whoever adds key retirement must clear it when a key is withdrawn.
	cacheMu  sync.Mutex
	verified map[string]accessClaims
}

// maxVerified bounds the cache; when full it starts over (a burst of new
// tokens costs one verification each, as without the cache).
const maxVerified = 20000

// keyReloadEvery bounds how often tokens naming an unknown kid make the
// node re-read the signing keys: without it every forged token would cost
// a database read and a key derivation per stored key.
const keyReloadEvery = time.Second

// loadKeys reads the signing keys, creating the first one on a fresh
// database, and signs with the newest.
func loadKeys(ctx context.Context, st Store, now time.Time) (*keyring, error) {
	list, err := st.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		if err := st.CreateSigningKey(ctx, SigningKey{Slot: 1, KID: keyID(priv.Public().(ed25519.PublicKey)), PrivateKey: priv, CreatedAt: now}); err != nil {
			return nil, err
		}
		if list, err = st.SigningKeys(ctx); err != nil {
			return nil, err
		}
	}
	if len(list) == 0 {
		return nil, errors.New("no signing key after creating one")
	}
	kr := &keyring{keys: map[string]ed25519.PublicKey{}, store: st}
	for _, k := range list {
		kr.keys[k.KID] = k.PrivateKey.Public().(ed25519.PublicKey)
		if k.Slot > kr.signer.Slot {
			kr.signer = k
		}
	}
	return kr, nil
}

// keyID derives a stable kid from the public key (RFC 7638 style digest).
func keyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}

func (kr *keyring) sign(c accessClaims) (string, error) {
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"EdDSA","typ":"at+jwt","kid":"` + kr.signer.KID + `"}`))
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	signing := header + "." + base64.RawURLEncoding.EncodeToString(payload)
	sig := ed25519.Sign(kr.signer.PrivateKey, []byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

var errMalformedJWT = errors.New("malformed token")

// verify checks the token's signature with the key its kid names and
// returns its claims. Expiry is the caller's to check. Only EdDSA is
// accepted, whatever the header says, so no algorithm confusion.
func (kr *keyring) verify(ctx context.Context, token string) (accessClaims, error) {
	kr.cacheMu.Lock()
	c, ok := kr.verified[token]
	kr.cacheMu.Unlock()
	if ok {
		return c, nil
	}
	c, err := kr.verifySignature(ctx, token)
	if err != nil {
		return c, err
	}
	kr.cacheMu.Lock()
	if len(kr.verified) >= maxVerified || kr.verified == nil {
		kr.verified = make(map[string]accessClaims, 1024)
	}
	kr.verified[token] = c
	kr.cacheMu.Unlock()
	return c, nil
}

// verifySignature is verify without the cache.
func (kr *keyring) verifySignature(ctx context.Context, token string) (accessClaims, error) {
	var c accessClaims
	h, rest, ok := strings.Cut(token, ".")
	if !ok {
		return c, errMalformedJWT
	}
	p, sigPart, ok := strings.Cut(rest, ".")
	if !ok || len(sigPart) != 86 || len(token) > 4096 {
		return c, errMalformedJWT
	}
	hdr, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return c, errMalformedJWT
	}
	var header struct {
		Alg string `json:"alg"`
		KID string `json:"kid"`
	}
	if err := json.Unmarshal(hdr, &header); err != nil || header.Alg != "EdDSA" {
		return c, errMalformedJWT
	}
	pub, err := kr.key(ctx, header.KID)
	if err != nil {
		return c, err
	}
	var sig [ed25519.SignatureSize]byte
	if n, err := base64.RawURLEncoding.Decode(sig[:], []byte(sigPart)); err != nil || n != len(sig) {
		return c, errMalformedJWT
	}
	if !ed25519.Verify(pub, []byte(token[:len(h)+1+len(p)]), sig[:]) {
		return c, errMalformedJWT
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return c, errMalformedJWT
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&c); err != nil {
		return c, errMalformedJWT
	}
	return c, nil
}

// key returns the public key for kid, reading the database once more when
// another node has added a key since this one started.
func (kr *keyring) key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	kr.mu.RLock()
	pub, ok := kr.keys[kid]
	kr.mu.RUnlock()
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
	list, err := kr.store.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	for _, k := range list {
		kr.keys[k.KID] = k.PrivateKey.Public().(ed25519.PublicKey)
	}
	if pub, ok = kr.keys[kid]; !ok {
		return nil, errMalformedJWT
	}
	return pub, nil
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
// /.well-known/jwks.json.
func (s *Service) JWKS(ctx context.Context) ([]JWK, error) {
	list, err := s.Store.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]JWK, 0, len(list))
	for _, k := range list {
		pub := k.PrivateKey.Public().(ed25519.PublicKey)
		out = append(out, JWK{KTY: "OKP", CRV: "Ed25519", X: base64.RawURLEncoding.EncodeToString(pub), KID: k.KID, Alg: "EdDSA", Use: "sig"})
	}
	return out, nil
}
