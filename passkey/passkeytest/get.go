package passkeytest

import (
	"encoding/json"
	"fmt"

	"github.com/descope/virtualwebauthn"
)

// authenticationJSON is AuthenticationResponseJSON, what toJSON() returns
// for a credential from navigator.credentials.get().
type authenticationJSON struct {
	ID                      string         `json:"id"`
	RawID                   string         `json:"rawId"`
	Type                    string         `json:"type"`
	AuthenticatorAttachment string         `json:"authenticatorAttachment"`
	Response                assertionRsp   `json:"response"`
	ClientExtensionResults  map[string]any `json:"clientExtensionResults"`
}

type assertionRsp struct {
	ClientDataJSON    string `json:"clientDataJSON"`
	AuthenticatorData string `json:"authenticatorData"`
	Signature         string `json:"signature"`
	UserHandle        string `json:"userHandle,omitempty"`
}

// Get answers request options as navigator.credentials.get() and toJSON()
// would. With allowCredentials it uses the oldest listed credential it holds;
// without (a discoverable login) the newest credential it holds for the RP,
// as if the person picked it. The response carries the user handle.
func (a *Authenticator) Get(options []byte) ([]byte, error) {
	member, err := unwrapOptions(options)
	if err != nil {
		return nil, err
	}
	parsed, err := virtualwebauthn.ParseAssertionOptions(string(member))
	if err != nil {
		return nil, fmt.Errorf("passkeytest: request options: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.choose(parsed)
	if c == nil {
		return nil, ErrNoCredential
	}
	raw := virtualwebauthn.CreateAssertionResponse(a.rp(c.rpID), a.virtual(c), c.vc, *parsed)
	var out authenticationJSON
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		return nil, fmt.Errorf("passkeytest: assertion: %w", err)
	}
	out.AuthenticatorAttachment = "platform"
	out.ClientExtensionResults = map[string]any{}
	return json.Marshal(out)
}

func (a *Authenticator) choose(opts *virtualwebauthn.AssertionOptions) *credential {
	if len(opts.AllowCredentials) > 0 {
		for _, c := range a.creds {
			if c.rpID == opts.RelyingPartyID && c.vc.IsAllowedForAssertion(*opts) {
				return c
			}
		}
		return nil
	}
	for i := len(a.creds) - 1; i >= 0; i-- {
		if a.creds[i].rpID == opts.RelyingPartyID {
			return a.creds[i]
		}
	}
	return nil
}
