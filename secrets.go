package latchkey

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"strings"
	"time"
)

// Secrets at rest (contract §10). Every secret Latchkey must read back is
// sealed with AES-256-GCM under the server secret (Config.SecretKey, from
// LATCHKEY_SECRET_KEY or latchkey-data/secret.key): the signing keys, the
// SAML SP key and SSO client secrets here, TOTP seeds and webhook secrets
// through the same sealString/openString. A copy of the database alone
// reveals none of them. Rows written before (clear seeds and PEM, and
// "plain:" values written without a key) are sealed when the service
// opens with a key.

// SecretStore finds and replaces the stored secrets that are not sealed.
type SecretStore interface {
	// ClearSecrets lists stored secrets whose value is not sealed ("v1:").
	ClearSecrets(ctx context.Context) ([]StoredSecret, error)
	// ReplaceSecret writes sealed in place of the secret's value, unless
	// the row has changed since it was listed.
	ReplaceSecret(ctx context.Context, sec StoredSecret, sealed string) error
}

// StoredSecret is one secret value in its row.
type StoredSecret struct {
	Kind  string // SecretSigningKey, SecretSAMLKey, SecretSSOClient, SecretTOTPSeed or SecretWebhook
	ID    string // the row: slot or connection id
	Value string // as stored
}

// Kinds of StoredSecret.
const (
	SecretSigningKey = "signing_key" // base64 Ed25519 seed
	SecretSAMLKey    = "saml_key"    // PEM
	SecretSSOClient  = "sso_client_secret"
	SecretTOTPSeed   = "totp_seed"       // base32, mfa.go
	SecretWebhook    = "webhook_secrets" // JSON list of whsec_ secrets, webhooks.go
)

// sealAtRest seals every clear secret row, when there is a key to seal
// with. Nodes starting at once may both seal a row; the second write
// is refused by ReplaceSecret's check and the row stays sealed once.
func (s *Service) sealAtRest(ctx context.Context) error {
	if len(s.Config.SecretKey) == 0 {
		return nil
	}
	list, err := s.Store.ClearSecrets(ctx)
	if err != nil {
		return err
	}
	for _, sec := range list {
		if err := s.Store.ReplaceSecret(ctx, sec, sealString(s.Config.SecretKey, strings.TrimPrefix(sec.Value, "plain:"))); err != nil {
			return fmt.Errorf("seal %s %s: %w", sec.Kind, sec.ID, err)
		}
	}
	if len(list) > 0 {
		s.Logger.InfoContext(ctx, "sealed stored secrets under the server secret", "count", len(list))
	}
	return nil
}

// openStored opens a stored value: sealed ("v1:"), written without a key
// ("plain:"), or a row from before sealing (as is).
func openStored(key []byte, v string) (string, error) {
	if strings.HasPrefix(v, "v1:") || strings.HasPrefix(v, "plain:") {
		return openString(key, v)
	}
	return v, nil
}

// signingKeys reads the signing keys and opens their private keys.
func (s *Service) signingKeys(ctx context.Context) ([]SigningKey, error) {
	list, err := s.Store.SigningKeys(ctx)
	if err != nil {
		return nil, err
	}
	for i, k := range list {
		if k.PrivateKey != nil {
			continue
		}
		seed, err := openStored(s.Config.SecretKey, k.Sealed)
		if err != nil {
			return nil, fmt.Errorf("signing key %s: %w", k.KID, err)
		}
		raw, err := base64.StdEncoding.DecodeString(seed)
		if err != nil || len(raw) != ed25519.SeedSize {
			return nil, fmt.Errorf("signing key %s is corrupt", k.KID)
		}
		list[i].PrivateKey = ed25519.NewKeyFromSeed(raw)
	}
	return list, nil
}

// newSigningKey generates a key for slot, sealed for the store.
func (s *Service) newSigningKey(slot int, notBefore, now time.Time) (SigningKey, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return SigningKey{}, err
	}
	return SigningKey{
		Slot: slot, KID: keyID(priv.Public().(ed25519.PublicKey)), PrivateKey: priv,
		Sealed:    sealString(s.Config.SecretKey, base64.StdEncoding.EncodeToString(priv.Seed())),
		NotBefore: notBefore, CreatedAt: now,
	}, nil
}

// DefaultKeyRotationOverlap is LATCHKEY_KEY_ROTATION_OVERLAP's default.
const DefaultKeyRotationOverlap = 10 * time.Minute

// RotateSigningKey (latchkey keys rotate) adds a signing key: published in
// the JWKS at once, signing from now+overlap, so resource servers' JWKS
// caches know it before the first token it signs. The old key stays
// published (and verifying) until its last token has expired.
func (s *Service) RotateSigningKey(ctx context.Context, overlap time.Duration) (SigningKey, error) {
	if overlap < 0 {
		return SigningKey{}, Invalid("overlap", "The overlap cannot be negative.")
	}
	list, err := s.Store.SigningKeys(ctx)
	if err != nil {
		return SigningKey{}, err
	}
	slot := 1
	for _, k := range list {
		slot = max(slot, k.Slot+1)
	}
	now := s.now()
	k, err := s.newSigningKey(slot, now.Add(overlap), now)
	if err != nil {
		return SigningKey{}, err
	}
	if err := s.Store.CreateSigningKey(ctx, k); err != nil {
		return SigningKey{}, err
	}
	s.audit(ctx, AuditEvent{Action: "signing_key.rotated", Target: k.KID})
	return k, nil
}

// SigningKeyStatus is a key as `latchkey keys list` shows it.
type SigningKeyStatus struct {
	KID       string
	Slot      int
	CreatedAt time.Time
	NotBefore time.Time
	Signing   bool // signs new tokens now
	Published bool // in the JWKS (not retired)
}

// SigningKeyStatuses lists the keys with what each does now.
func (s *Service) SigningKeyStatuses(ctx context.Context) ([]SigningKeyStatus, error) {
	list, err := s.Store.SigningKeys(ctx)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	now := s.now()
	signer := signerAt(list, now)
	out := make([]SigningKeyStatus, len(list))
	for i, k := range list {
		out[i] = SigningKeyStatus{KID: k.KID, Slot: k.Slot, CreatedAt: k.CreatedAt, NotBefore: k.NotBefore,
			Signing: k.Slot == signer.Slot, Published: !retiredAt(list, i, s.Config.AccessTokenTTL, now)}
	}
	return out, nil
}
