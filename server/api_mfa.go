package server

import (
	"encoding/json"
	"time"

	"github.com/latchkey/latchkey"
)

type mfaVerifyRequest struct {
	MFAToken    string       `json:"mfa_token,omitempty"`
	FactorID    string       `json:"factor_id,omitempty"`
	Code        string       `json:"code,omitempty"`
	ChallengeID string       `json:"challenge_id,omitempty"`
	Credential  webauthnJSON `json:"credential,omitempty"`
}

// mfaVerifyResponse is a sign-in's body: with tokens, or without them when
// the first step was auth.oauth.exchange (cookies only), plus the level.
type mfaVerifyResponse struct {
	AccessToken  string   `json:"access_token,omitempty"`
	RefreshToken string   `json:"refresh_token,omitempty"`
	TokenType    string   `json:"token_type,omitempty"`
	ExpiresIn    int      `json:"expires_in,omitempty"`
	User         userJSON `json:"user"`
	AAL          string   `json:"aal"`
}

type mfaPasskeyBeginRequest struct {
	MFAToken string `json:"mfa_token,omitempty"`
}

type totpEnrollRequest struct {
	Name string `json:"name,omitempty"`
}

type totpEnrollResponse struct {
	FactorID   string `json:"factor_id"`
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauth_url"`
	QRSVG      string `json:"qr_svg"`
}

type totpConfirmRequest struct {
	FactorID string `json:"factor_id"`
	Code     string `json:"code"`
}

type factorJSON struct {
	ID         string     `json:"id"`
	Type       string     `json:"type"`
	Name       string     `json:"name"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

func toFactorJSON(f latchkey.MFAFactor) factorJSON {
	out := factorJSON{ID: f.ID, Type: f.Type, Name: f.Name, CreatedAt: f.CreatedAt}
	if !f.LastUsedAt.IsZero() {
		out.LastUsedAt = &f.LastUsedAt
	}
	return out
}

type totpConfirmResponse struct {
	Factor        factorJSON `json:"factor"`
	RecoveryCodes []string   `json:"recovery_codes,omitempty"`
}

type mfaListResponse struct {
	Factors                []factorJSON `json:"factors"`
	RecoveryCodesRemaining int          `json:"recovery_codes_remaining"`
}

type mfaIDRequest struct {
	ID string `json:"id"`
}

type recoveryCodesResponse struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

type orgSettingsJSON struct {
	RequireMFA bool `json:"require_mfa"`
}

type orgSettingsResponse struct {
	Settings orgSettingsJSON `json:"settings"`
}

type orgSettingsUpdateRequest struct {
	RequireMFA *bool `json:"require_mfa"`
}

func (s *Server) mfaOps() []operation {
	return []operation{
		rpc("auth.mfa.verify", authOptional, "Check a second factor: finish a sign-in that answered mfa_required (with mfa_token), or step the caller's session up to aal2.",
			func(c *call, req mfaVerifyRequest) (mfaVerifyResponse, error) {
				in := latchkey.MFAVerifyInput{MFAToken: req.MFAToken, FactorID: req.FactorID, Code: req.Code, ChallengeID: req.ChallengeID, Meta: c.meta}
				if req.Credential != nil {
					in.Credential, _ = json.Marshal(req.Credential)
				}
				ac := c.auth
				if req.MFAToken != "" {
					ac = nil // the token names the user; a stale cookie alongside it is no step-up
				}
				out, err := s.svc.VerifyMFA(c.ctx, ac, in)
				if err != nil {
					return mfaVerifyResponse{}, tokenError400(err)
				}
				if out.CookiesOnly {
					body := c.startCookieSession(out.SignIn)
					return mfaVerifyResponse{User: body.User, AAL: out.Session.AAL}, nil
				}
				body := c.startSession(out.SignIn)
				return mfaVerifyResponse{AccessToken: body.AccessToken, RefreshToken: body.RefreshToken, TokenType: body.TokenType,
					ExpiresIn: body.ExpiresIn, User: body.User, AAL: out.Session.AAL}, nil
			}),
		rpc("auth.mfa.passkey.begin", authOptional, "Start a passkey assertion as a second factor (with mfa_token, or for the caller's session).",
			func(c *call, req mfaPasskeyBeginRequest) (passkeyBeginResponse, error) {
				ac := c.auth
				if req.MFAToken != "" {
					ac = nil
				}
				pc, err := s.svc.BeginMFAPasskey(c.ctx, ac, req.MFAToken)
				if err != nil {
					return passkeyBeginResponse{}, tokenError400(err)
				}
				return toBeginResponse(pc)
			}),
		rpc("auth.mfa.totp.enroll", authSession, "Start enrolling an authenticator app: an unconfirmed TOTP factor with its secret and QR code.",
			func(c *call, req totpEnrollRequest) (totpEnrollResponse, error) {
				e, err := s.svc.EnrollTOTP(c.ctx, c.auth, req.Name)
				if err != nil {
					return totpEnrollResponse{}, err
				}
				svg, err := qrSVG(e.OTPAuthURL.Reveal())
				if err != nil {
					return totpEnrollResponse{}, err
				}
				return totpEnrollResponse{FactorID: e.FactorID, Secret: e.Secret.Reveal(), OTPAuthURL: e.OTPAuthURL.Reveal(), QRSVG: svg}, nil
			}),
		rpc("auth.mfa.totp.confirm", authSession, "Confirm an authenticator app with a code; the first factor returns the recovery codes and makes the session aal2.",
			func(c *call, req totpConfirmRequest) (totpConfirmResponse, error) {
				out, err := s.svc.ConfirmTOTP(c.ctx, c.auth, req.FactorID, req.Code)
				if err != nil {
					return totpConfirmResponse{}, err
				}
				if out.SignIn != nil && c.cookie {
					s.setSessionCookies(c.w, *out.SignIn) // the aal2 access token, for the browser
				}
				res := totpConfirmResponse{Factor: toFactorJSON(out.Factor)}
				for _, code := range out.RecoveryCodes {
					res.RecoveryCodes = append(res.RecoveryCodes, code.Reveal())
				}
				return res, nil
			}),
		rpc("auth.mfa.list", authSession, "The caller's second factors (passkeys are in auth.passkey.list) and how many recovery codes remain.",
			func(c *call, _ empty) (mfaListResponse, error) {
				st, err := s.svc.ListMFA(c.ctx, c.auth)
				out := mfaListResponse{Factors: []factorJSON{}, RecoveryCodesRemaining: st.RecoveryCodesRemaining}
				for _, f := range st.Factors {
					out.Factors = append(out.Factors, toFactorJSON(f))
				}
				return out, err
			}).read(),
		rpc("auth.mfa.delete", authSession, "Remove an authenticator app; removing the last turns MFA off. Needs a fresh aal2 session.",
			func(c *call, req mfaIDRequest) (empty, error) {
				return empty{}, s.svc.DeleteMFAFactor(c.ctx, c.auth, req.ID)
			}),
		rpc("auth.mfa.recovery_codes.regenerate", authSession, "Replace the recovery codes with ten new ones. Needs a fresh aal2 session.",
			func(c *call, _ empty) (recoveryCodesResponse, error) {
				codes, err := s.svc.RegenerateRecoveryCodes(c.ctx, c.auth)
				out := recoveryCodesResponse{RecoveryCodes: []string{}}
				for _, code := range codes {
					out.RecoveryCodes = append(out.RecoveryCodes, code.Reveal())
				}
				return out, err
			}),
		rpc("org.settings.get", authAny, "The caller's organization's settings.",
			func(c *call, _ empty) (orgSettingsResponse, error) {
				st, err := s.svc.GetOrgSettings(c.ctx, c.auth)
				return orgSettingsResponse{orgSettingsJSON{st.RequireMFA}}, err
			}).read(),
		rpc("org.settings.update", authAny, "Change the organization's settings (owners and admins, or a key with org:admin).",
			func(c *call, req orgSettingsUpdateRequest) (orgSettingsResponse, error) {
				if req.RequireMFA == nil {
					return orgSettingsResponse{}, latchkey.Invalid("require_mfa", "require_mfa is required.")
				}
				st, err := s.svc.UpdateOrgSettings(c.ctx, c.auth, latchkey.OrgSettings{RequireMFA: *req.RequireMFA})
				return orgSettingsResponse{orgSettingsJSON{st.RequireMFA}}, err
			}),
	}
}
