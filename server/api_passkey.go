package server

import (
	"encoding/json"
	"time"

	"github.com/latchkey/latchkey"
)

// WebAuthn JSON travels as objects: the options the browser parses with
// PublicKeyCredential.parse*OptionsFromJSON, and the credential its
// toJSON() returns. They are passed through, not modelled field by field.
type webauthnJSON = map[string]any

type passkeyRegisterBeginRequest struct {
	Email string `json:"email,omitempty"`
}

type passkeyBeginResponse struct {
	ChallengeID string       `json:"challenge_id"`
	Options     webauthnJSON `json:"options"`
}

type passkeyRegisterFinishRequest struct {
	ChallengeID string       `json:"challenge_id"`
	Credential  webauthnJSON `json:"credential"`
	Name        string       `json:"name,omitempty"`
}

// passkeyRegisterFinishResponse is a sign-in body (sign-up) plus the new
// passkey, or only the passkey (added to the signed-in user).
type passkeyRegisterFinishResponse struct {
	AccessToken  string      `json:"access_token,omitempty"`
	RefreshToken string      `json:"refresh_token,omitempty"`
	TokenType    string      `json:"token_type,omitempty"`
	ExpiresIn    int         `json:"expires_in,omitempty"`
	User         *userJSON   `json:"user,omitempty"`
	Passkey      passkeyJSON `json:"passkey"`
}

type passkeyLoginBeginRequest struct {
	Email string `json:"email,omitempty"`
}

type passkeyLoginFinishRequest struct {
	ChallengeID string       `json:"challenge_id"`
	Credential  webauthnJSON `json:"credential"`
}

type passkeyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func toPasskeyJSON(p latchkey.PasskeyCredential) passkeyJSON {
	out := passkeyJSON{ID: p.ID, Name: p.Name, CreatedAt: p.CreatedAt}
	if !p.LastUsedAt.IsZero() {
		t := p.LastUsedAt
		out.LastUsedAt = &t
	}
	return out
}

type passkeyListResponse struct {
	Passkeys []passkeyJSON `json:"passkeys"`
}

type passkeyIDRequest struct {
	ID string `json:"id"`
}

type passkeyRenameRequest struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type passkeyResponse struct {
	Passkey passkeyJSON `json:"passkey"`
}

func (s *Server) passkeyOps() []operation {
	return []operation{
		rpc("auth.passkey.register.begin", authOptional, "Start creating a passkey: with email, a new account (created when the ceremony finishes); signed in, another passkey for the account.",
			func(c *call, req passkeyRegisterBeginRequest) (passkeyBeginResponse, error) {
				pc, err := s.svc.BeginPasskeyRegistration(c.ctx, c.auth, req.Email, c.meta)
				if err != nil {
					return passkeyBeginResponse{}, err
				}
				return toBeginResponse(pc)
			}),
		rpc("auth.passkey.register.finish", authOptional, "Verify the created passkey and store it; a sign-up also creates the account and sets a session.",
			func(c *call, req passkeyRegisterFinishRequest) (passkeyRegisterFinishResponse, error) {
				cred, err := credentialBytes(req.Credential)
				if err != nil {
					return passkeyRegisterFinishResponse{}, err
				}
				reg, err := s.svc.FinishPasskeyRegistration(c.ctx, c.auth, req.ChallengeID, cred, req.Name, c.meta)
				if err != nil {
					return passkeyRegisterFinishResponse{}, err
				}
				out := passkeyRegisterFinishResponse{Passkey: toPasskeyJSON(reg.Passkey)}
				if reg.SignIn != nil {
					sj := c.startSession(*reg.SignIn)
					out.AccessToken, out.RefreshToken, out.TokenType, out.ExpiresIn, out.User = sj.AccessToken, sj.RefreshToken, sj.TokenType, sj.ExpiresIn, &sj.User
				}
				return out, nil
			}),
		rpc("auth.passkey.login.begin", authNone, "Start signing in with a passkey: with email, that account's passkeys are allowed; without, any discoverable passkey.",
			func(c *call, req passkeyLoginBeginRequest) (passkeyBeginResponse, error) {
				pc, err := s.svc.BeginPasskeyLogin(c.ctx, req.Email, c.meta)
				if err != nil {
					return passkeyBeginResponse{}, err
				}
				return toBeginResponse(pc)
			}),
		rpc("auth.passkey.login.finish", authNone, "Verify the passkey assertion and sign in.",
			func(c *call, req passkeyLoginFinishRequest) (sessionJSON, error) {
				cred, err := credentialBytes(req.Credential)
				if err != nil {
					return sessionJSON{}, err
				}
				in, err := s.svc.FinishPasskeyLogin(c.ctx, req.ChallengeID, cred, c.meta)
				if err != nil {
					return sessionJSON{}, err
				}
				return c.startSession(in), nil
			}),
		rpc("auth.passkey.list", authSession, "The caller's passkeys.",
			func(c *call, _ empty) (passkeyListResponse, error) {
				ps, err := s.svc.ListPasskeys(c.ctx, c.auth)
				if err != nil {
					return passkeyListResponse{}, err
				}
				out := passkeyListResponse{Passkeys: []passkeyJSON{}}
				for _, p := range ps {
					out.Passkeys = append(out.Passkeys, toPasskeyJSON(p))
				}
				return out, nil
			}).read(),
		rpc("auth.passkey.rename", authSession, "Rename one of the caller's passkeys.",
			func(c *call, req passkeyRenameRequest) (passkeyResponse, error) {
				p, err := s.svc.RenamePasskey(c.ctx, c.auth, req.ID, req.Name)
				if err != nil {
					return passkeyResponse{}, err
				}
				return passkeyResponse{toPasskeyJSON(p)}, nil
			}),
		rpc("auth.passkey.delete", authSession, "Delete one of the caller's passkeys, unless it is their last way to sign in.",
			func(c *call, req passkeyIDRequest) (empty, error) {
				return empty{}, s.svc.DeletePasskey(c.ctx, c.auth, req.ID)
			}),
	}
}

func toBeginResponse(pc latchkey.PasskeyCeremony) (passkeyBeginResponse, error) {
	var opts webauthnJSON
	if err := json.Unmarshal(pc.Options, &opts); err != nil {
		return passkeyBeginResponse{}, err
	}
	return passkeyBeginResponse{ChallengeID: pc.ChallengeID, Options: opts}, nil
}

// credentialBytes re-encodes the credential object for the domain; a
// missing one is an invalid_request naming the field.
func credentialBytes(cred webauthnJSON) (json.RawMessage, error) {
	if cred == nil {
		return nil, latchkey.Invalid("credential", "credential is required: the JSON of PublicKeyCredential.toJSON().")
	}
	return json.Marshal(cred)
}
