package passkeytest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/descope/virtualwebauthn"
	"github.com/fxamacker/cbor/v2"
)

// fullWidthP256Key returns a PKCS#8 P-256 key whose public coordinates
// both take 32 bytes. virtualwebauthn encodes them with big.Int.Bytes,
// which drops leading zero bytes, so about one key in 128 would otherwise
// yield a COSE key that verifiers rightly reject.
func fullWidthP256Key() []byte {
	for {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		if len(k.X.Bytes()) != 32 || len(k.Y.Bytes()) != 32 {
			continue
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			panic(err)
		}
		return der
	}
}

// registrationJSON is RegistrationResponseJSON, what toJSON() returns for a
// credential from navigator.credentials.create().
type registrationJSON struct {
	ID                      string         `json:"id"`
	RawID                   string         `json:"rawId"`
	Type                    string         `json:"type"`
	AuthenticatorAttachment string         `json:"authenticatorAttachment"`
	Response                attestationRsp `json:"response"`
	ClientExtensionResults  map[string]any `json:"clientExtensionResults"`
}

type attestationRsp struct {
	ClientDataJSON     string   `json:"clientDataJSON"`
	AuthenticatorData  string   `json:"authenticatorData"`
	Transports         []string `json:"transports"`
	PublicKey          string   `json:"publicKey"`
	PublicKeyAlgorithm int      `json:"publicKeyAlgorithm"`
	AttestationObject  string   `json:"attestationObject"`
}

type attestationObject struct {
	Format    string         `cbor:"fmt"`
	Statement map[string]any `cbor:"attStmt"`
	AuthData  []byte         `cbor:"authData"`
}

// Create answers creation options as navigator.credentials.create() and
// toJSON() would: it makes a new discoverable credential for options.rp.id
// and options.user.id, and returns the credential JSON.
func (a *Authenticator) Create(options []byte) ([]byte, error) {
	member, err := unwrapOptions(options)
	if err != nil {
		return nil, err
	}
	parsed, err := virtualwebauthn.ParseAttestationOptions(string(member))
	if err != nil {
		return nil, fmt.Errorf("passkeytest: creation options: %w", err)
	}
	var extra struct {
		Attestation string `json:"attestation"`
	}
	_ = json.Unmarshal(member, &extra) // already parsed above

	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.creds {
		if c.rpID == parsed.RelyingPartyID && c.vc.IsExcludedForAttestation(*parsed) {
			return nil, ErrExcluded
		}
	}
	c := &credential{
		vc:             virtualwebauthn.NewCredentialWithImportedKey(virtualwebauthn.KeyTypeEC2, fullWidthP256Key()),
		rpID:           parsed.RelyingPartyID,
		userHandle:     []byte(parsed.UserID),
		backupEligible: a.backupEligible,
		backupState:    a.backupState,
	}
	raw := virtualwebauthn.CreateAttestationResponse(a.rp(parsed.RelyingPartyID), a.virtual(c), c.vc, *parsed)
	out, err := a.registrationJSON(raw, c, extra.Attestation)
	if err != nil {
		return nil, err
	}
	a.creds = append(a.creds, c)
	return out, nil
}

func (a *Authenticator) rp(id string) virtualwebauthn.RelyingParty {
	return virtualwebauthn.RelyingParty{ID: id, Origin: a.origin}
}

// virtual returns the virtualwebauthn authenticator state for one response.
func (a *Authenticator) virtual(c *credential) virtualwebauthn.Authenticator {
	return virtualwebauthn.Authenticator{
		Aaguid: a.aaguid,
		Options: virtualwebauthn.AuthenticatorOptions{
			UserHandle:      c.userHandle,
			UserNotVerified: a.userNotVerified,
			BackupEligible:  c.backupEligible,
			BackupState:     c.backupState,
		},
	}
}

// registrationJSON reshapes virtualwebauthn's response into the toJSON()
// form, adding what a browser adds: authenticatorData, the SPKI public key
// and its algorithm, transports, attachment and extension results. When no
// attestation was asked for, the browser replaces the statement with "none".
func (a *Authenticator) registrationJSON(raw string, c *credential, conveyance string) ([]byte, error) {
	var in struct {
		ID       string `json:"id"`
		RawID    string `json:"rawId"`
		Type     string `json:"type"`
		Response struct {
			AttestationObject string `json:"attestationObject"`
			ClientDataJSON    string `json:"clientDataJSON"`
		} `json:"response"`
	}
	if err := json.Unmarshal([]byte(raw), &in); err != nil {
		return nil, fmt.Errorf("passkeytest: attestation: %w", err)
	}
	objBytes, err := base64.RawURLEncoding.DecodeString(in.Response.AttestationObject)
	if err != nil {
		return nil, fmt.Errorf("passkeytest: attestation object: %w", err)
	}
	var obj attestationObject
	if err := cbor.Unmarshal(objBytes, &obj); err != nil {
		return nil, fmt.Errorf("passkeytest: attestation object: %w", err)
	}
	if conveyance == "" || conveyance == "none" {
		enc, err := cbor.CTAP2EncOptions().EncMode()
		if err != nil {
			return nil, err
		}
		if objBytes, err = enc.Marshal(attestationObject{Format: "none", Statement: map[string]any{}, AuthData: obj.AuthData}); err != nil {
			return nil, fmt.Errorf("passkeytest: attestation object: %w", err)
		}
	}
	spki, err := publicKeySPKI(c.vc)
	if err != nil {
		return nil, err
	}
	return json.Marshal(registrationJSON{
		ID:                      in.ID,
		RawID:                   in.RawID,
		Type:                    in.Type,
		AuthenticatorAttachment: "platform",
		Response: attestationRsp{
			ClientDataJSON:     in.Response.ClientDataJSON,
			AuthenticatorData:  b64(obj.AuthData),
			Transports:         []string{"internal"},
			PublicKey:          b64(spki),
			PublicKeyAlgorithm: -7, // ES256
			AttestationObject:  b64(objBytes),
		},
		ClientExtensionResults: map[string]any{},
	})
}

// publicKeySPKI returns the DER SubjectPublicKeyInfo that getPublicKey()
// returns in a browser.
func publicKeySPKI(vc virtualwebauthn.Credential) ([]byte, error) {
	priv, err := x509.ParsePKCS8PrivateKey(vc.Key.Data)
	if err != nil {
		return nil, fmt.Errorf("passkeytest: key: %w", err)
	}
	signer, ok := priv.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("passkeytest: key of type %T cannot sign", priv)
	}
	return x509.MarshalPKIXPublicKey(signer.Public())
}
