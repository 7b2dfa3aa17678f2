package passkeytest_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/passkey/passkeytest"
)

const creationOptions = `{"publicKey":{"rp":{"id":"localhost","name":"Test"},
 "user":{"id":"dXNyXzE","name":"a@example.test","displayName":"A"},
 "challenge":"AAECAwQFBgcICQoLDA0ODw","pubKeyCredParams":[{"type":"public-key","alg":-7}]}}`

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func decode(t *testing.T, s json.RawMessage) []byte {
	t.Helper()
	var str string
	if err := json.Unmarshal(s, &str); err != nil {
		t.Fatal(err)
	}
	b, err := base64.RawURLEncoding.DecodeString(str)
	if err != nil {
		t.Fatalf("%s is not base64url: %v", s, err)
	}
	return b
}

// The responses have the members of RegistrationResponseJSON and
// AuthenticationResponseJSON, with the values a browser puts there.
func TestResponsesHaveToJSONShape(t *testing.T) {
	a := passkeytest.New("http://localhost:8080")
	created, err := a.Create([]byte(creationOptions))
	if err != nil {
		t.Fatal(err)
	}
	var reg map[string]json.RawMessage
	if err := json.Unmarshal(created, &reg); err != nil {
		t.Fatal(err)
	}
	want := []string{"authenticatorAttachment", "clientExtensionResults", "id", "rawId", "response", "type"}
	if got := keys(reg); !slices.Equal(got, want) {
		t.Errorf("registration members = %v, want %v", got, want)
	}
	var rsp map[string]json.RawMessage
	if err := json.Unmarshal(reg["response"], &rsp); err != nil {
		t.Fatal(err)
	}
	want = []string{"attestationObject", "authenticatorData", "clientDataJSON", "publicKey", "publicKeyAlgorithm", "transports"}
	if got := keys(rsp); !slices.Equal(got, want) {
		t.Errorf("registration response members = %v, want %v", got, want)
	}
	if _, err := x509.ParsePKIXPublicKey(decode(t, rsp["publicKey"])); err != nil {
		t.Errorf("publicKey is not SPKI DER: %v", err)
	}
	clientData := string(decode(t, rsp["clientDataJSON"]))
	for _, part := range []string{`"type":"webauthn.create"`, `"challenge":"AAECAwQFBgcICQoLDA0ODw"`, `"origin":"http://localhost:8080"`} {
		if !strings.Contains(clientData, part) {
			t.Errorf("clientDataJSON %s lacks %s", clientData, part)
		}
	}

	creds := a.Credentials()
	if len(creds) != 1 || string(creds[0].UserHandle) != "usr_1" || creds[0].RPID != "localhost" {
		t.Fatalf("credentials = %+v, want one for usr_1 at localhost", creds)
	}

	got, err := a.Get([]byte(`{"publicKey":{"challenge":"AAECAwQFBgcICQoLDA0ODw","rpId":"localhost","allowCredentials":[]}}`))
	if err != nil {
		t.Fatal(err)
	}
	var auth struct {
		ID       string                     `json:"id"`
		Response map[string]json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(got, &auth); err != nil {
		t.Fatal(err)
	}
	want = []string{"authenticatorData", "clientDataJSON", "signature", "userHandle"}
	if got := keys(auth.Response); !slices.Equal(got, want) {
		t.Errorf("assertion response members = %v, want %v", got, want)
	}
	if string(decode(t, auth.Response["userHandle"])) != "usr_1" {
		t.Errorf("userHandle = %s, want usr_1", auth.Response["userHandle"])
	}

	if _, err := a.Get([]byte(`{"challenge":"AAECAwQFBgcICQoLDA0ODw","rpId":"other.test"}`)); !errors.Is(err, passkeytest.ErrNoCredential) {
		t.Errorf("request for another RP: err = %v, want ErrNoCredential", err)
	}
}
