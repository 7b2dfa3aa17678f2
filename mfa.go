package latchkey

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/latchkey/latchkey/passkey"
	"github.com/latchkey/latchkey/secret"
)

// Multi-factor authentication (contract §7). A user turns MFA on by
// confirming a TOTP factor, which also issues ten recovery codes; from then
// on a password or OAuth sign-in stops at 403 mfa_required with a single-use
// mfa_token, and auth.mfa.verify finishes it with a TOTP code, a recovery
// code or any of the user's passkeys. Passkeys alone do not turn MFA on:
// a passkey sign-in with user verification is already aal2.

// Factor types and assurance levels.
const (
	FactorTOTP         = "totp"
	FactorPasskey      = "passkey"
	FactorRecoveryCode = "recovery_code"
	AAL1               = "aal1"
	AAL2               = "aal2"
)

const (
	kindMFA            = "mfa"         // an mfa_token: a sign-in waiting for its second factor
	kindMFAPasskey     = "mfa_passkey" // a passkey ceremony used as a second factor
	mfaTokenTTL        = 5 * time.Minute
	mfaTokenAttempts   = 5  // wrong codes before an mfa_token dies
	mfaUserAttempts    = 10 // wrong codes per user per window, across tokens and nodes
	mfaUserWindow      = 15 * time.Minute
	mfaStepUpMaxAge    = 15 * time.Minute
	totpEnrollTTL      = 15 * time.Minute
	maxTOTPFactors     = 10
	recoveryCodeCount  = 10
	recoveryCodeLength = 12 // base32 characters: 60 bits
	totpPeriod         = 30
)

// MFAFactor is a TOTP factor. Secret is the base32 seed sealed under the
// server secret; LastStep the last accepted time step.
type MFAFactor struct {
	ID          string
	UserID      string
	Type        string
	Name        string
	Secret      string
	LastStep    int64
	CreatedAt   time.Time
	ConfirmedAt time.Time // zero until confirmed
	LastUsedAt  time.Time
}

// Confirmed reports whether the factor signs anything.
func (f MFAFactor) Confirmed() bool { return !f.ConfirmedAt.IsZero() }

// FactorRef names a factor that an mfa_token accepts.
type FactorRef struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// MFAStore keeps factors, recovery codes and the org policy.
type MFAStore interface {
	CreateMFAFactor(ctx context.Context, f MFAFactor) error
	MFAFactorByID(ctx context.Context, id string) (MFAFactor, error)
	// MFAFactorsOfUser lists confirmed and unconfirmed factors, oldest first.
	MFAFactorsOfUser(ctx context.Context, userID string) ([]MFAFactor, error)
	// ConfirmMFAFactor confirms an unconfirmed factor (ErrNotFound otherwise).
	ConfirmMFAFactor(ctx context.Context, id string, step int64, at time.Time) error
	// UseTOTPStep accepts step only when it is later than the last accepted
	// one, atomically: false for a replay.
	UseTOTPStep(ctx context.Context, id string, step int64, at time.Time) (bool, error)
	DeleteMFAFactor(ctx context.Context, id string) error
	// DeleteUnconfirmedMFAFactors deletes a user's unconfirmed factors, or,
	// with an empty userID, everyone's created before t.
	DeleteUnconfirmedMFAFactors(ctx context.Context, userID string, t time.Time) error
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes []string, at time.Time) error
	// UseRecoveryCode deletes the code; false when there was none.
	UseRecoveryCode(ctx context.Context, userID, hash string) (bool, error)
	RecoveryCodesRemaining(ctx context.Context, userID string) (int, error)
	// DeleteMFA deletes every factor and recovery code of the user.
	DeleteMFA(ctx context.Context, userID string) (int, error)
	// CountChallengeAttempt adds one attempt to a challenge atomically.
	CountChallengeAttempt(ctx context.Context, id string) (int, error)
	// MarkSessionMFA makes a live session aal2 with amr, checked at at.
	MarkSessionMFA(ctx context.Context, id string, amr []string, at time.Time) error
	OrgRequiresMFA(ctx context.Context, orgID string) (bool, error)
	SetOrgRequiresMFA(ctx context.Context, orgID string, on bool) error
	// UserInMFAOrg reports whether an org the user belongs to requires MFA.
	UserInMFAOrg(ctx context.Context, userID string) (bool, error)
}

// signInMethod is how a session was signed in: its RFC 8176 methods and
// whether an identity provider (SSO) vouched for the user.
type signInMethod struct {
	AMR []string
	SSO bool
}

var (
	viaPassword  = signInMethod{AMR: []string{"pwd"}}
	viaOAuth     = signInMethod{AMR: []string{"fed"}}
	viaSSO       = signInMethod{AMR: []string{"fed"}, SSO: true}
	viaDashboard = signInMethod{} // an API key holder's hand-off: no method of the user's
)

// viaPasskey is a passkey sign-in; with user verification it is already
// multi-factor (possession and a PIN or biometric).
func viaPasskey(userVerified bool) signInMethod {
	if userVerified {
		return signInMethod{AMR: []string{"hwk", "mfa"}}
	}
	return signInMethod{AMR: []string{"hwk"}}
}

// aal is the assurance level of a set of methods.
func aal(amr []string) string {
	if slices.Contains(amr, "mfa") {
		return AAL2
	}
	return AAL1
}

// withSecondFactor adds a second factor's method to amr, and "mfa".
func withSecondFactor(amr []string, method string) []string {
	out := slices.Clone(amr)
	for _, m := range []string{method, "mfa"} {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// mfaPayload is what an mfa_token remembers of the first step.
type mfaPayload struct {
	OrgID       string   `json:"org_id"`
	AMR         []string `json:"amr"`
	Method      string   `json:"method"`       // for events: password, oauth
	CookiesOnly bool     `json:"cookies_only"` // auth.oauth.exchange's sessions travel in cookies alone
}

// requireSecondFactor lets a first-factor sign-in through when the user has
// no confirmed factor; otherwise it stores an mfa_token and returns
// mfa_required with it and the factors that can finish the sign-in.
func (s *Service) requireSecondFactor(ctx context.Context, u User, orgID string, p mfaPayload) error {
	factors, err := s.secondFactors(ctx, u.ID)
	if err != nil || len(factors) == 0 {
		return err
	}
	if err := checkEnabled(ctx, s.Store, u.ID); err != nil {
		return err // a disabled account learns nothing more
	}
	p.OrgID = orgID
	payload, _ := json.Marshal(p)
	token, err := s.issueToken(ctx, s.Store, Challenge{Kind: kindMFA, UserID: u.ID, Payload: payload}, mfaTokenTTL)
	if err != nil {
		return err
	}
	return &Error{Code: CodeMFARequired, Message: "A second factor is required to finish signing in.", MFAToken: token, Factors: factors}
}

// secondFactors lists what can finish a sign-in of the user: confirmed
// TOTP factors, then passkeys, then the recovery codes as one entry. It is
// empty unless a TOTP factor is confirmed (MFA is on).
func (s *Service) secondFactors(ctx context.Context, userID string) ([]FactorRef, error) {
	fs, err := s.Store.MFAFactorsOfUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	var out []FactorRef
	for _, f := range fs {
		if f.Confirmed() {
			out = append(out, FactorRef{ID: f.ID, Type: f.Type})
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	pks, err := s.Store.PasskeysOfUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	for _, pk := range pks {
		out = append(out, FactorRef{ID: pk.ID, Type: FactorPasskey})
	}
	n, err := s.Store.RecoveryCodesRemaining(ctx, userID)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		out = append(out, FactorRef{ID: FactorRecoveryCode, Type: FactorRecoveryCode})
	}
	return out, nil
}

// MFAVerifyInput is the request of auth.mfa.verify.
type MFAVerifyInput struct {
	MFAToken    string
	FactorID    string
	Code        string
	ChallengeID string
	Credential  json.RawMessage
	Meta        Meta
}

// MFAVerified is the result of auth.mfa.verify: a new session (sign-in) or
// the caller's session upgraded (step-up), with fresh tokens either way.
type MFAVerified struct {
	SignIn
	CookiesOnly bool
}

var (
	errBadMFAToken = Errorf(CodeInvalidToken, "The mfa_token is invalid, expired or already used. Sign in again.")
	errBadMFACode  = Errorf(CodeInvalidCode, "The code is not right. Check your authenticator app and try again.")
	// Neither an mfa_token nor a session: the credential is absent.
	errMFANoCredential = Errorf(CodeUnauthenticated, "Send the mfa_token of the sign-in, or call with a session to step it up.")
)

// VerifyMFA checks a second factor. Anonymous with an mfa_token it
// finishes that sign-in; with a session (ac) it steps the session up to
// aal2. Wrong codes count against the token (5) and the user (10 per 15
// minutes across tokens and nodes), each counted in the database before
// the code is checked, so parallel guesses cannot pass the limits.
func (s *Service) VerifyMFA(ctx context.Context, ac *AuthContext, in MFAVerifyInput) (MFAVerified, error) {
	if len(in.Code) > 64 {
		return MFAVerified{}, Invalid("code", "code is too long.")
	}
	if in.Code == "" && len(in.Credential) == 0 {
		return MFAVerified{}, Invalid("code", "code is required (or challenge_id and credential for a passkey).")
	}
	var userID string
	var token Challenge
	var p mfaPayload
	switch {
	case in.MFAToken != "":
		c, err := s.liveMFAToken(ctx, in.MFAToken)
		if err != nil {
			return MFAVerified{}, err
		}
		if err := json.Unmarshal(c.Payload, &p); err != nil {
			return MFAVerified{}, fmt.Errorf("mfa challenge %s: %w", c.ID, err)
		}
		token, userID = c, c.UserID
	case ac != nil:
		if err := requireSession(ac); err != nil {
			return MFAVerified{}, err
		}
		userID = ac.User.ID
	default:
		return MFAVerified{}, errMFANoCredential
	}

	// Count first, then check: the token's tries, then the user's window
	// (a guess the dead token refused is not counted against the user).
	if token.ID != "" {
		tries, err := s.Store.CountChallengeAttempt(ctx, token.ID)
		if errors.Is(err, ErrNotFound) {
			return MFAVerified{}, errBadMFAToken
		} else if err != nil {
			return MFAVerified{}, err
		}
		if tries > mfaTokenAttempts {
			return MFAVerified{}, errBadMFAToken
		}
	}
	userKey := "mfa-user:" + userID
	if err := s.countMFAAttempt(ctx, userKey); err != nil {
		return MFAVerified{}, err
	}
	method, err := s.checkSecondFactor(ctx, userID, in)
	if err != nil {
		if token.ID != "" && ErrorCode(err) == CodeInvalidCode {
			s.audit(ctx, AuditEvent{ActorID: userID, Action: "mfa.verify_failed", Target: userID, IP: in.Meta.IP, UserAgent: in.Meta.UserAgent})
		}
		return MFAVerified{}, err
	}
	// A right answer is no guess.
	if err := s.Store.UncountAttempt(ctx, userKey); err != nil {
		return MFAVerified{}, err
	}
	if method == FactorRecoveryCode {
		s.audit(ctx, AuditEvent{ActorID: userID, Action: "mfa.recovery_code_used", Target: userID, IP: in.Meta.IP, UserAgent: in.Meta.UserAgent})
		s.track(userID, "recovery_code_used", nil)
	}
	if token.ID == "" {
		return s.stepUp(ctx, ac, method)
	}
	return s.finishMFASignIn(ctx, token, p, method, in.Meta)
}

// liveMFAToken finds the pending sign-in of an mfa_token without using it
// up: unknown, expired and exhausted tokens fail alike.
func (s *Service) liveMFAToken(ctx context.Context, token string) (Challenge, error) {
	if len(token) > 256 {
		return Challenge{}, errBadMFAToken
	}
	c, err := s.Store.ChallengeBySecret(ctx, kindMFA, secret.Hash(token))
	if errors.Is(err, ErrNotFound) {
		return Challenge{}, errBadMFAToken
	} else if err != nil {
		return Challenge{}, err
	}
	if !s.now().Before(c.ExpiresAt) || c.Attempts >= mfaTokenAttempts {
		return Challenge{}, errBadMFAToken
	}
	return c, nil
}

// countMFAAttempt reserves one of the user's ten code checks per window,
// in the database, so every node and every parallel request share them;
// a right code gives its reservation back.
func (s *Service) countMFAAttempt(ctx context.Context, key string) error {
	n, start, err := s.Store.CountAttempt(ctx, key, mfaUserWindow, s.now())
	if err != nil {
		return err
	}
	if n > mfaUserAttempts {
		return &Error{Code: CodeRateLimited, Message: "Too many wrong codes. Try again later.", RetryAfter: start.Add(mfaUserWindow).Sub(s.now())}
	}
	return nil
}

// amrOf maps a second factor to its RFC 8176 method: a recovery code is a
// one-time password too.
func amrOf(factor string) string {
	if factor == FactorPasskey {
		return "hwk"
	}
	return "otp"
}

// finishMFASignIn redeems the mfa_token and starts the session the first
// step would have started, at aal2.
func (s *Service) finishMFASignIn(ctx context.Context, token Challenge, p mfaPayload, factor string, m Meta) (MFAVerified, error) {
	if err := s.Store.DeleteChallenge(ctx, token.ID); errors.Is(err, ErrNotFound) {
		return MFAVerified{}, errBadMFAToken // a concurrent request finished it first
	} else if err != nil {
		return MFAVerified{}, err
	}
	u, err := s.Store.UserByID(ctx, token.UserID)
	if errors.Is(err, ErrNotFound) {
		return MFAVerified{}, errBadMFAToken
	} else if err != nil {
		return MFAVerified{}, err
	}
	orgID := p.OrgID
	if _, err := s.Store.Membership(ctx, u.ID, orgID); err != nil {
		if orgID, err = defaultOrg(ctx, s.Store, u.ID); err != nil {
			return MFAVerified{}, err
		}
	}
	how := signInMethod{AMR: withSecondFactor(p.AMR, amrOf(factor))}
	var out SignIn
	err = s.Store.Tx(ctx, func(tx Store) error {
		out, err = s.startSession(ctx, tx, u, orgID, m, s.now(), how)
		return err
	})
	if err != nil {
		return MFAVerified{}, err
	}
	s.audit(ctx, AuditEvent{ActorID: u.ID, OrgID: orgID, Action: "user.login", Target: out.Session.ID, IP: m.IP, UserAgent: m.UserAgent,
		Data: mustJSON(map[string]string{"method": p.Method, "second_factor": factor})})
	s.audit(ctx, AuditEvent{ActorID: u.ID, OrgID: orgID, Action: "mfa.verified", Target: out.Session.ID, IP: m.IP, UserAgent: m.UserAgent,
		Data: mustJSON(map[string]string{"factor": factor})})
	s.track(u.ID, "mfa_verified", map[string]any{"factor": factor, "step_up": false})
	s.track(u.ID, "login_succeeded", map[string]any{"method": p.Method, "mfa": true})
	return MFAVerified{SignIn: out, CookiesOnly: p.CookiesOnly}, nil
}

// stepUp upgrades the caller's session to aal2 and re-issues its tokens, so
// the access token's aal and amr claims say so too.
func (s *Service) stepUp(ctx context.Context, ac *AuthContext, factor string) (MFAVerified, error) {
	var out SignIn
	err := s.Store.Tx(ctx, func(tx Store) error {
		ses, err := tx.SessionByID(ctx, ac.SessionID)
		if err != nil {
			return err
		}
		now := s.now()
		amr := withSecondFactor(ses.AMR, amrOf(factor))
		if err := tx.MarkSessionMFA(ctx, ses.ID, amr, now); errors.Is(err, ErrNotFound) {
			return errBadToken // revoked meanwhile
		} else if err != nil {
			return err
		}
		ses.AAL, ses.AMR, ses.MFAAt = AAL2, amr, now
		out, err = s.issueTokens(ctx, tx, *ac.User, ses, "", now)
		return err
	})
	if err != nil {
		return MFAVerified{}, err
	}
	s.audit(ctx, AuditEvent{ActorID: ac.User.ID, OrgID: ac.Org.ID, Action: "mfa.verified", Target: ac.SessionID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent,
		Data: mustJSON(map[string]string{"factor": factor, "step_up": "true"})})
	s.track(ac.User.ID, "mfa_verified", map[string]any{"factor": factor, "step_up": true})
	return MFAVerified{SignIn: out}, nil
}

// checkSecondFactor checks the code or passkey assertion of in against
// the user's factors and returns the kind of factor that passed.
func (s *Service) checkSecondFactor(ctx context.Context, userID string, in MFAVerifyInput) (string, error) {
	if len(in.Credential) > 0 || in.ChallengeID != "" {
		return FactorPasskey, s.checkPasskeyFactor(ctx, userID, in.ChallengeID, in.Credential)
	}
	code := normalizeCode(in.Code)
	useRecovery := in.FactorID == FactorRecoveryCode || (in.FactorID == "" && !isTOTPCode(code))
	if useRecovery {
		ok, err := s.Store.UseRecoveryCode(ctx, userID, secret.Hash(code))
		if err != nil {
			return "", err
		}
		if !ok {
			return "", errBadMFACode
		}
		return FactorRecoveryCode, nil
	}
	fs, err := s.Store.MFAFactorsOfUser(ctx, userID)
	if err != nil {
		return "", err
	}
	found := false
	for _, f := range fs {
		if !f.Confirmed() || (in.FactorID != "" && f.ID != in.FactorID) {
			continue
		}
		found = true
		ok, err := s.acceptTOTP(ctx, f, code)
		if err != nil || ok {
			return FactorTOTP, err
		}
	}
	if !found && in.FactorID != "" {
		return "", Invalid("factor_id", "No such factor.")
	}
	return "", errBadMFACode
}

// acceptTOTP checks code against f at the current time step and one step
// either way, and records the step it matched; an earlier or the same step
// again (a replayed code) fails.
func (s *Service) acceptTOTP(ctx context.Context, f MFAFactor, code string) (bool, error) {
	seed, err := openString(s.Config.SecretKey, f.Secret)
	if err != nil {
		return false, fmt.Errorf("totp factor %s: %w", f.ID, err)
	}
	step, ok := matchTOTP(seed, code, s.now())
	if !ok {
		return false, nil
	}
	return s.Store.UseTOTPStep(ctx, f.ID, step, s.now())
}

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// matchTOTP finds the time step, among now's and its neighbours, whose
// code is code, comparing in constant time.
func matchTOTP(seed, code string, now time.Time) (int64, bool) {
	if !isTOTPCode(code) {
		return 0, false
	}
	for _, skew := range []int64{0, -1, 1} {
		t := now.Add(time.Duration(skew*totpPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(seed, t, totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / totpPeriod, true
		}
	}
	return 0, false
}

// normalizeCode drops the spaces and dashes people type or copy with a
// code, and lower-cases it (recovery codes are base32).
func normalizeCode(code string) string {
	return strings.ToLower(strings.NewReplacer(" ", "", "-", "", "\t", "").Replace(code))
}

func isTOTPCode(code string) bool {
	if len(code) != 6 {
		return false
	}
	for _, c := range code {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// mfaPasskeyPayload binds a second-factor passkey ceremony to its user.
type mfaPasskeyPayload struct {
	Session json.RawMessage `json:"session"`
	UserID  string          `json:"user_id"`
}

// BeginMFAPasskey starts a passkey ceremony as a second factor, listing
// only the user's credentials: the user of mfaToken, or the caller.
func (s *Service) BeginMFAPasskey(ctx context.Context, ac *AuthContext, mfaToken string) (PasskeyCeremony, error) {
	rp, err := s.passkeys()
	if err != nil {
		return PasskeyCeremony{}, err
	}
	var userID string
	switch {
	case mfaToken != "":
		c, err := s.liveMFAToken(ctx, mfaToken)
		if err != nil {
			return PasskeyCeremony{}, err
		}
		userID = c.UserID
	case ac != nil:
		if err := requireSession(ac); err != nil {
			return PasskeyCeremony{}, err
		}
		userID = ac.User.ID
	default:
		return PasskeyCeremony{}, errMFANoCredential
	}
	pks, err := s.Store.PasskeysOfUser(ctx, userID)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	if len(pks) == 0 {
		return PasskeyCeremony{}, Errorf(CodeNotFound, "This account has no passkey.")
	}
	c, err := rp.BeginLogin(passkey.User{Handle: []byte(userID), Credentials: toPasskeyCredentials(pks)})
	if err != nil {
		return PasskeyCeremony{}, err
	}
	payload, _ := json.Marshal(mfaPasskeyPayload{Session: c.Session, UserID: userID})
	id, err := s.issueToken(ctx, s.Store, Challenge{Kind: kindMFAPasskey, UserID: userID, Payload: payload}, passkeyChallengeTTL)
	if err != nil {
		return PasskeyCeremony{}, err
	}
	return PasskeyCeremony{ChallengeID: id, Options: c.Options}, nil
}

// checkPasskeyFactor verifies an assertion from BeginMFAPasskey by one of
// the user's own passkeys, with the same counter rule as passkey sign-in.
func (s *Service) checkPasskeyFactor(ctx context.Context, userID, challengeID string, credential json.RawMessage) error {
	rp, err := s.passkeys()
	if err != nil {
		return err
	}
	if len(credential) == 0 {
		return Invalid("credential", "credential is required with challenge_id.")
	}
	ch, err := s.consumeChallenge(ctx, kindMFAPasskey, challengeID)
	if err != nil {
		return err
	}
	var p mfaPasskeyPayload
	if err := json.Unmarshal(ch.Payload, &p); err != nil {
		return fmt.Errorf("mfa passkey challenge %s: %w", ch.ID, err)
	}
	if p.UserID != userID {
		return errInvalidChallenge // a ceremony begun for someone else
	}
	var used PasskeyCredential
	lookup := func(credentialID []byte) (passkey.User, error) {
		pk, err := s.Store.PasskeyByCredentialID(ctx, credentialID)
		if errors.Is(err, ErrNotFound) || (err == nil && pk.UserID != userID) {
			return passkey.User{}, passkey.ErrUnknownCredential
		} else if err != nil {
			return passkey.User{}, err
		}
		all, err := s.Store.PasskeysOfUser(ctx, userID)
		if err != nil {
			return passkey.User{}, err
		}
		used = pk
		return passkey.User{Handle: []byte(userID), Credentials: toPasskeyCredentials(all)}, nil
	}
	a, err := rp.FinishLogin(p.Session, credential, lookup)
	if err != nil {
		if e := s.passkeyLoginError(ctx, err, used, Meta{}); ErrorCode(e) == CodeInvalidCredentials {
			return errBadMFACode
		} else {
			return e
		}
	}
	used.SignCount, used.UserVerified, used.BackupState = a.Credential.SignCount, a.Credential.UserVerified, a.Credential.BackupState
	used.LastUsedAt = s.now()
	return s.Store.UpdatePasskeyUse(ctx, used)
}

// TOTPEnrollment is the answer of auth.mfa.totp.enroll. Secret and the URL
// carry the seed: shown once, to the user enrolling.
type TOTPEnrollment struct {
	FactorID   string
	Secret     secret.Value
	OTPAuthURL secret.Value
}

// EnrollTOTP creates an unconfirmed TOTP factor for the caller. Only the
// latest enrollment stays pending; earlier unconfirmed ones are dropped.
func (s *Service) EnrollTOTP(ctx context.Context, ac *AuthContext, name string) (TOTPEnrollment, error) {
	if err := requireSession(ac); err != nil {
		return TOTPEnrollment{}, err
	}
	name, err := checkName("name", name)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	if name == "" {
		name = "Authenticator app"
	}
	fs, err := s.Store.MFAFactorsOfUser(ctx, ac.User.ID)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	if confirmedCount(fs) >= maxTOTPFactors {
		return TOTPEnrollment{}, Errorf(CodeInvalidRequest, "An account has at most %d authenticator apps. Remove one first.", maxTOTPFactors)
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer: s.totpIssuer(), AccountName: ac.User.Email,
		Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, SecretSize: 20,
	})
	if err != nil {
		return TOTPEnrollment{}, err
	}
	now := s.now()
	f := MFAFactor{ID: secret.ID("fac_"), UserID: ac.User.ID, Type: FactorTOTP, Name: name, Secret: sealString(s.Config.SecretKey, key.Secret()), CreatedAt: now}
	err = s.Store.Tx(ctx, func(tx Store) error {
		if err := tx.DeleteUnconfirmedMFAFactors(ctx, ac.User.ID, now); err != nil {
			return err
		}
		return tx.CreateMFAFactor(ctx, f)
	})
	if err != nil {
		return TOTPEnrollment{}, err
	}
	return TOTPEnrollment{FactorID: f.ID, Secret: secret.Value(key.Secret()), OTPAuthURL: secret.Value(key.URL())}, nil
}

// totpIssuer names this deployment in authenticator apps: the public
// URL's host, so two deployments' entries can be told apart.
func (s *Service) totpIssuer() string {
	if u, err := url.Parse(s.Config.Issuer); err == nil && u.Host != "" {
		return "Latchkey (" + u.Host + ")"
	}
	return "Latchkey"
}

func confirmedCount(fs []MFAFactor) int {
	n := 0
	for _, f := range fs {
		if f.Confirmed() {
			n++
		}
	}
	return n
}

// TOTPConfirmation is the answer of auth.mfa.totp.confirm; RecoveryCodes
// is set when the factor turned MFA on.
type TOTPConfirmation struct {
	Factor        MFAFactor
	RecoveryCodes []secret.Value
	SignIn        *SignIn // the session's re-issued tokens at aal2, with recovery codes
}

// ConfirmTOTP confirms a pending factor with a code from the app. The
// user's first factor turns MFA on: it issues the recovery codes and makes
// the current session aal2 (the user just proved both factors).
func (s *Service) ConfirmTOTP(ctx context.Context, ac *AuthContext, factorID, code string) (TOTPConfirmation, error) {
	if err := requireSession(ac); err != nil {
		return TOTPConfirmation{}, err
	}
	if factorID == "" {
		return TOTPConfirmation{}, Invalid("factor_id", "factor_id is required.")
	}
	if code == "" || len(code) > 64 {
		return TOTPConfirmation{}, Invalid("code", "code is required: the 6 digits the app shows.")
	}
	f, err := s.Store.MFAFactorByID(ctx, factorID)
	if errors.Is(err, ErrNotFound) || (err == nil && (f.UserID != ac.User.ID || f.Confirmed() || !s.now().Before(f.CreatedAt.Add(totpEnrollTTL)))) {
		return TOTPConfirmation{}, Invalid("factor_id", "No pending factor with that id: enroll again.")
	} else if err != nil {
		return TOTPConfirmation{}, err
	}
	userKey := "mfa-user:" + ac.User.ID
	if err := s.countMFAAttempt(ctx, userKey); err != nil {
		return TOTPConfirmation{}, err
	}
	seed, err := openString(s.Config.SecretKey, f.Secret)
	if err != nil {
		return TOTPConfirmation{}, fmt.Errorf("totp factor %s: %w", f.ID, err)
	}
	step, ok := matchTOTP(seed, normalizeCode(code), s.now())
	if !ok {
		return TOTPConfirmation{}, errBadMFACode
	}
	if err := s.Store.UncountAttempt(ctx, userKey); err != nil {
		return TOTPConfirmation{}, err
	}
	now := s.now()
	var out TOTPConfirmation
	err = s.Store.Tx(ctx, func(tx Store) error {
		// The user's row orders concurrent confirmations and removals, so
		// exactly one of them is the first factor.
		if _, err := tx.UserForUpdate(ctx, ac.User.ID); err != nil {
			return err
		}
		fs, err := tx.MFAFactorsOfUser(ctx, ac.User.ID)
		if err != nil {
			return err
		}
		first := confirmedCount(fs) == 0
		if err := tx.ConfirmMFAFactor(ctx, f.ID, step, now); errors.Is(err, ErrNotFound) {
			return Invalid("factor_id", "No pending factor with that id: enroll again.")
		} else if err != nil {
			return err
		}
		f.ConfirmedAt, f.LastUsedAt, f.LastStep = now, now, step
		out.Factor = f
		if err := s.emitFactor(ctx, tx, EventMFAEnrolled, f); err != nil {
			return err
		}
		if !first {
			return nil
		}
		if out.RecoveryCodes, err = s.newRecoveryCodes(ctx, tx, ac.User.ID, now); err != nil {
			return err
		}
		ses, err := tx.SessionByID(ctx, ac.SessionID)
		if err != nil {
			return err
		}
		amr := withSecondFactor(ses.AMR, "otp")
		if err := tx.MarkSessionMFA(ctx, ses.ID, amr, now); err != nil {
			return err
		}
		ses.AAL, ses.AMR, ses.MFAAt = AAL2, amr, now
		in, err := s.issueTokens(ctx, tx, *ac.User, ses, "", now)
		out.SignIn = &in
		return err
	})
	if err != nil {
		return TOTPConfirmation{}, err
	}
	s.audit(ctx, AuditEvent{ActorID: ac.User.ID, OrgID: ac.Org.ID, Action: "mfa.enrolled", Target: f.ID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent,
		Data: mustJSON(map[string]string{"type": FactorTOTP})})
	s.track(ac.User.ID, "mfa_enrolled", map[string]any{"type": FactorTOTP})
	return out, nil
}

// newRecoveryCodes replaces the user's recovery codes with ten new ones
// and returns them, the only time they are readable.
func (s *Service) newRecoveryCodes(ctx context.Context, tx Store, userID string, now time.Time) ([]secret.Value, error) {
	codes := make([]secret.Value, recoveryCodeCount)
	hashes := make([]string, recoveryCodeCount)
	for i := range codes {
		raw := secret.ID("")[:recoveryCodeLength] // 60 random bits in base32
		codes[i] = secret.Value(raw[:recoveryCodeLength/2] + "-" + raw[recoveryCodeLength/2:])
		hashes[i] = secret.Hash(raw)
	}
	return codes, tx.ReplaceRecoveryCodes(ctx, userID, hashes, now)
}

// MFAStatus is the answer of auth.mfa.list.
type MFAStatus struct {
	Factors                []MFAFactor
	RecoveryCodesRemaining int
}

// ListMFA lists the caller's confirmed factors.
func (s *Service) ListMFA(ctx context.Context, ac *AuthContext) (MFAStatus, error) {
	if err := requireSession(ac); err != nil {
		return MFAStatus{}, err
	}
	fs, err := s.Store.MFAFactorsOfUser(ctx, ac.User.ID)
	if err != nil {
		return MFAStatus{}, err
	}
	out := MFAStatus{Factors: []MFAFactor{}}
	for _, f := range fs {
		if f.Confirmed() {
			out.Factors = append(out.Factors, f)
		}
	}
	out.RecoveryCodesRemaining, err = s.Store.RecoveryCodesRemaining(ctx, ac.User.ID)
	return out, err
}

// requireStepUp fails with mfa_step_up_required unless a user with MFA
// checked a second factor in this session within 15 minutes. Users without
// MFA (and API keys) pass.
func (s *Service) requireStepUp(ac *AuthContext) error {
	if ac == nil || ac.Credential != CredentialSession || !ac.MFAEnrolled {
		return nil
	}
	if ac.AAL != AAL2 || ac.MFAAt.IsZero() || s.now().Sub(ac.MFAAt) > mfaStepUpMaxAge {
		return Errorf(CodeMFAStepUpRequired, "Confirm it is you with your second factor (auth.mfa.verify), then try again.")
	}
	return nil
}

// DeleteMFAFactor removes one of the caller's TOTP factors. Removing the
// last one turns MFA off and deletes the recovery codes, unless an org of
// the user requires MFA.
func (s *Service) DeleteMFAFactor(ctx context.Context, ac *AuthContext, id string) error {
	if err := requireSession(ac); err != nil {
		return err
	}
	if id == "" {
		return Invalid("id", "id is required.")
	}
	if err := s.requireStepUp(ac); err != nil {
		return err
	}
	var last bool
	err := s.Store.Tx(ctx, func(tx Store) error {
		if _, err := tx.UserForUpdate(ctx, ac.User.ID); err != nil {
			return err
		}
		fs, err := tx.MFAFactorsOfUser(ctx, ac.User.ID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(fs, func(f MFAFactor) bool { return f.ID == id })
		if i < 0 {
			return Errorf(CodeNotFound, "No such factor.")
		}
		last = fs[i].Confirmed() && confirmedCount(fs) == 1
		if last {
			if required, err := tx.UserInMFAOrg(ctx, ac.User.ID); err != nil {
				return err
			} else if required {
				return Errorf(CodeOrgRequiresMFA, "An organization you belong to requires two-factor authentication; add another factor first.")
			}
			if _, err := tx.DeleteMFA(ctx, ac.User.ID); err != nil {
				return err
			}
		} else if err := tx.DeleteMFAFactor(ctx, id); err != nil {
			return err
		}
		if !fs[i].Confirmed() {
			return nil
		}
		return s.emitFactor(ctx, tx, EventMFARemoved, fs[i])
	})
	if err != nil {
		return err
	}
	s.audit(ctx, AuditEvent{ActorID: ac.User.ID, OrgID: ac.Org.ID, Action: "mfa.removed", Target: id, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent,
		Data: mustJSON(map[string]bool{"mfa_off": last})})
	s.track(ac.User.ID, "mfa_removed", map[string]any{"type": FactorTOTP, "mfa_off": last})
	return nil
}

// RegenerateRecoveryCodes replaces the caller's recovery codes.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, ac *AuthContext) ([]secret.Value, error) {
	if err := requireSession(ac); err != nil {
		return nil, err
	}
	if !ac.MFAEnrolled {
		return nil, Errorf(CodeMFAStepUpRequired, "Turn on two-factor authentication first.")
	}
	if err := s.requireStepUp(ac); err != nil {
		return nil, err
	}
	var codes []secret.Value
	err := s.Store.Tx(ctx, func(tx Store) error {
		var err error
		codes, err = s.newRecoveryCodes(ctx, tx, ac.User.ID, s.now())
		return err
	})
	if err != nil {
		return nil, err
	}
	s.audit(ctx, AuditEvent{ActorID: ac.User.ID, OrgID: ac.Org.ID, Action: "mfa.recovery_codes_regenerated", Target: ac.User.ID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent})
	return codes, nil
}

// ResetMFA deletes a user's TOTP factors and recovery codes (an operator's
// help for a lost device, admin.users.mfa.reset) and reports how many
// factors went.
func (s *Service) ResetMFA(ctx context.Context, userID string) (int, error) {
	var n int
	err := s.Store.Tx(ctx, func(tx Store) error {
		fs, err := tx.MFAFactorsOfUser(ctx, userID)
		if err != nil {
			return err
		}
		if n, err = tx.DeleteMFA(ctx, userID); err != nil {
			return err
		}
		for _, f := range fs {
			if f.Confirmed() {
				if err := s.emitFactor(ctx, tx, EventMFARemoved, f); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return n, err
}

// OrgSettings is an org's policy.
type OrgSettings struct {
	RequireMFA bool
}

// GetOrgSettings reads the caller's org's settings.
func (s *Service) GetOrgSettings(ctx context.Context, ac *AuthContext) (OrgSettings, error) {
	if ac == nil {
		return OrgSettings{}, errNoSession
	}
	on, err := s.Store.OrgRequiresMFA(ctx, ac.Org.ID)
	return OrgSettings{RequireMFA: on}, err
}

// UpdateOrgSettings writes the caller's org's settings (owners, admins,
// org:admin keys).
func (s *Service) UpdateOrgSettings(ctx context.Context, ac *AuthContext, in OrgSettings) (OrgSettings, error) {
	if err := RequireAdmin(ac); err != nil {
		return OrgSettings{}, err
	}
	if err := s.Store.SetOrgRequiresMFA(ctx, ac.Org.ID, in.RequireMFA); err != nil {
		return OrgSettings{}, err
	}
	s.audit(ctx, AuditEvent{ActorID: actorOf(ac), OrgID: ac.Org.ID, Action: "org.settings_updated", Target: ac.Org.ID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent,
		Data: mustJSON(map[string]bool{"require_mfa": in.RequireMFA})})
	return in, nil
}

// MFAPolicyExempt reports the operations a session may call while its org's
// MFA policy is not met (contract §7): enough to enroll, sign out or leave.
func MFAPolicyExempt(op string) bool {
	switch op {
	case "auth.me", "auth.logout", "auth.refresh", "auth.providers", "auth.org.switch":
		return true
	}
	for _, prefix := range []string{"auth.sessions.", "auth.passkey.register.", "auth.mfa."} {
		if strings.HasPrefix(op, prefix) {
			return true
		}
	}
	return false
}

// CheckMFAPolicy applies the org's require_mfa to a session calling op:
// without a factor only enrollment is open (mfa_enrollment_required);
// with one, an aal1 session must step up (mfa_required). SSO sessions
// satisfy the policy; API keys are not affected.
func CheckMFAPolicy(ac *AuthContext, op string) error {
	if ac == nil || ac.Credential != CredentialSession || !ac.OrgRequiresMFA || ac.SSO || MFAPolicyExempt(op) {
		return nil
	}
	if !ac.MFAEnrolled {
		return Errorf(CodeMFAEnrollmentRequired, "This organization requires two-factor authentication. Set it up first.")
	}
	if ac.AAL != AAL2 {
		return Errorf(CodeMFARequired, "This organization requires two-factor authentication. Verify your second factor (auth.mfa.verify).")
	}
	return nil
}
