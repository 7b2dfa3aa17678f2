package server_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
)

// jwks fetches the server's key set as a resource server would.
func jwks(t *testing.T, env *latchkeytest.Env) jose.JSONWebKeySet {
	t.Helper()
	r := env.Client(t).Do(http.MethodGet, "/.well-known/jwks.json", nil, nil)
	var set jose.JSONWebKeySet
	if r.Status != http.StatusOK || json.Unmarshal(r.Body, &set) != nil {
		t.Fatalf("jwks: %d %s", r.Status, r.Body)
	}
	return set
}

func kids(set jose.JSONWebKeySet) []string {
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.KeyID)
	}
	return out
}

// verifyWithJOSE checks a token the way a resource server using go-jose
// does: EdDSA only, the key named by kid from the JWKS, then issuer,
// audience and expiry required at the server's clock.
func verifyWithJOSE(t *testing.T, env *latchkeytest.Env, token, issuer, audience string) (jwt.Claims, error) {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		return jwt.Claims{}, err
	}
	if typ, _ := tok.Headers[0].ExtraHeaders["typ"].(string); typ != "at+jwt" {
		t.Errorf("typ = %q, want at+jwt", typ)
	}
	set := jwks(t, env)
	keys := set.Key(tok.Headers[0].KeyID)
	if len(keys) != 1 {
		return jwt.Claims{}, errors.New("kid not in the JWKS")
	}
	var c jwt.Claims
	var extra struct {
		ClientID string `json:"client_id"`
		Scope    string `json:"scope"`
	}
	if err := tok.Claims(keys[0].Key, &c, &extra); err != nil {
		return c, err
	}
	if extra.ClientID != "latchkey" || c.ID == "" {
		t.Errorf("client_id %q, jti %q", extra.ClientID, c.ID)
	}
	return c, c.ValidateWithLeeway(jwt.Expected{Issuer: issuer, AnyAudience: jwt.Audience{audience}, Time: env.Clock.Now()}, 0)
}

// TestTokensForResourceServers: the RFC 8414 metadata names the issuer
// and the JWKS, and go-jose verifies an access token from them requiring
// issuer and audience (LATCHKEY_TOKEN_AUDIENCE); a wrong audience or
// issuer is refused.
func TestTokensForResourceServers(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db, Configure: func(c *latchkey.Config) { c.TokenAudience = "https://api.example.com" }})
		r := env.Client(t).Do(http.MethodGet, "/.well-known/oauth-authorization-server", nil, nil)
		if r.Status != http.StatusOK || r.Str("issuer") != env.URL || r.Str("jwks_uri") != env.URL+"/.well-known/jwks.json" {
			t.Fatalf("metadata: %d %s", r.Status, r.Body)
		}
		token := env.Client(t).Register("rs@example.com", ownerPassword).Str("access_token")
		c, err := verifyWithJOSE(t, env, token, r.Str("issuer"), "https://api.example.com")
		if err != nil {
			t.Fatalf("go-jose: %v", err)
		}
		if !strings.HasPrefix(c.Subject, "usr_") {
			t.Errorf("sub = %q", c.Subject)
		}
		if _, err := verifyWithJOSE(t, env, token, r.Str("issuer"), env.URL); err == nil {
			t.Error("a token for https://api.example.com verified for another audience")
		}
		if _, err := verifyWithJOSE(t, env, token, "https://elsewhere.example.com", "https://api.example.com"); err == nil {
			t.Error("a token verified for another issuer")
		}
	})
}

// TestSigningKeyRotation: `latchkey keys rotate` (Service.RotateSigningKey)
// publishes the new key at once, signs with it after the overlap, and
// keeps the old public key until the old key's tokens have expired:
// tokens from before verify through the JWKS and auth.me meanwhile.
func TestSigningKeyRotation(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		c := env.Client(t)
		before := c.Register("rot@example.com", ownerPassword).Str("access_token")
		oldKID := kids(jwks(t, env))[0]

		k, err := env.Service.RotateSigningKey(t.Context(), 10*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if got := kids(jwks(t, env)); len(got) != 2 || got[0] != oldKID || got[1] != k.KID {
			t.Fatalf("JWKS right after the rotation: %v, want [%s %s]", got, oldKID, k.KID)
		}
		_, r := login(t, env, "rot@example.com", ownerPassword)
		if kid := kidOfToken(t, r.Str("access_token")); kid != oldKID {
			t.Errorf("signed with %s during the overlap, want the old key", kid)
		}

		env.Clock.Advance(11 * time.Minute)
		_, r = login(t, env, "rot@example.com", ownerPassword)
		after := r.Str("access_token")
		if kid := kidOfToken(t, after); kid != k.KID {
			t.Errorf("signed with %s after the overlap, want %s", kid, k.KID)
		}
		for name, tok := range map[string]string{"pre-rotation": before, "post-rotation": after} {
			wantTokenWorks(t, env, name+" token on auth.me", tok)
			if _, err := verifyWithJOSE(t, env, tok, env.URL, env.URL); err != nil {
				t.Errorf("%s token through the JWKS: %v", name, err)
			}
		}

		// The old key's last token expired 15 min after the new key began
		// signing: the old key leaves the JWKS and verifies nothing.
		env.Clock.Advance(17 * time.Minute)
		if got := kids(jwks(t, env)); len(got) != 1 || got[0] != k.KID {
			t.Errorf("JWKS after the old tokens expired: %v, want [%s]", got, k.KID)
		}
		_, r = login(t, env, "rot@example.com", ownerPassword)
		wantTokenWorks(t, env, "token of the new key", r.Str("access_token"))
		wantTokenDead(t, env, "pre-rotation token after expiry", before)
	})
}

func kidOfToken(t *testing.T, token string) string {
	t.Helper()
	tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Headers[0].KeyID
}

// TestRetiredKeyVerifiesNothing: a token signed by a key that has since
// retired is refused even if its exp is far away and it was verified (and
// cached) before: a leaked old key forges nothing after its retirement.
func TestRetiredKeyVerifiesNothing(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		c := env.Client(t)
		c.Register("leak@example.com", ownerPassword)
		me := c.Get("auth.me")
		// The key that will leak: a key of the test's own, signing now.
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		if err := env.Store.CreateSigningKey(t.Context(), latchkey.SigningKey{Slot: 2, KID: "leaked", PrivateKey: priv, CreatedAt: env.Service.Now()}); err != nil {
			t.Fatal(err)
		}
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.EdDSA, Key: priv},
			(&jose.SignerOptions{}).WithType("at+jwt").WithHeader(jose.HeaderKey("kid"), "leaked"))
		if err != nil {
			t.Fatal(err)
		}
		now := env.Clock.Now()
		forged, err := jwt.Signed(signer).Claims(map[string]any{
			"iss": env.URL, "aud": env.URL, "sub": me.Obj("user")["id"], "org": me.Obj("org")["id"], "sid": me.Str("session_id"),
			"scope": "org:admin", "iat": now.Unix(), "exp": now.Add(30 * 24 * time.Hour).Unix(),
		}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		wantTokenWorks(t, env, "long-lived token of the current key", forged) // now in the cache

		if _, err := env.Service.RotateSigningKey(t.Context(), 10*time.Minute); err != nil {
			t.Fatal(err)
		}
		env.Clock.Advance(20 * time.Minute)
		wantTokenWorks(t, env, "during the old key's last tokens' lifetime", forged)
		env.Clock.Advance(7 * time.Minute) // 10 min overlap + 15 min tokens + 1 min
		wantTokenDead(t, env, "token of a retired key", forged)
	})
}
