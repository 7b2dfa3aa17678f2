package latchkey

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// The one-time-code hand-off that ends every browser sign-in through an
// outside identity provider: the callback redirects to
// <dashboard>/auth/callback?code=..., and the page redeems the code with
// auth.oauth.exchange. Provisional copy for SSO until issue 5's lands.

// ChallengeSignInCode is the challenge kind of hand-off codes.
const ChallengeSignInCode = "signin_code"

// signInCodeTTL is how long a hand-off code lives: one redirect.
const signInCodeTTL = 2 * time.Minute

type signInCodePayload struct {
	OrgID  string `json:"org_id"`
	Method string `json:"method"`
}

// issueSignInCode stores a single-use code that signs userID in to orgID.
func (s *Service) issueSignInCode(ctx context.Context, st Store, userID, orgID, method string) (string, error) {
	payload, err := json.Marshal(signInCodePayload{OrgID: orgID, Method: method})
	if err != nil {
		return "", err
	}
	return s.issueToken(ctx, st, Challenge{Kind: ChallengeSignInCode, UserID: userID, Payload: payload}, signInCodeTTL)
}

// ExchangeSignInCode redeems a hand-off code for a session. Unknown,
// expired and used codes fail alike with invalid_code.
func (s *Service) ExchangeSignInCode(ctx context.Context, code string, m Meta) (SignIn, error) {
	invalid := Errorf(CodeInvalidCode, "The sign-in code is invalid, expired or already used.")
	if err := s.rateLimit("code-ip:"+m.IP, ruleCodeIP); err != nil {
		return SignIn{}, err
	}
	var out SignIn
	var p signInCodePayload
	err := s.Store.Tx(ctx, func(tx Store) error {
		c, err := s.redeemToken(ctx, tx, ChallengeSignInCode, code, invalid)
		if err != nil {
			return err
		}
		if json.Unmarshal(c.Payload, &p) != nil {
			return invalid
		}
		u, err := tx.UserByID(ctx, c.UserID)
		if errors.Is(err, ErrNotFound) {
			return invalid
		} else if err != nil {
			return err
		}
		if _, err := tx.Membership(ctx, u.ID, p.OrgID); errors.Is(err, ErrNotFound) {
			return invalid
		} else if err != nil {
			return err
		}
		out, err = s.startSession(ctx, tx, u, p.OrgID, m, s.now())
		return err
	})
	if err != nil {
		return SignIn{}, err
	}
	s.audit(ctx, AuditEvent{ActorID: out.User.ID, OrgID: p.OrgID, Action: "user.login", Target: out.Session.ID, IP: m.IP, UserAgent: m.UserAgent})
	s.track(out.User.ID, "login_succeeded", map[string]any{"method": p.Method})
	return out, nil
}
