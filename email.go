package latchkey

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/secret"
)

// Email verification: a 6-digit code mailed to the user's address. The
// newest code row of a user is the live one; older rows are superseded and
// stay only so that the send limit can count them, then are swept.
const (
	kindEmailCode = "email_verification"

	codeDigits      = 6
	maxCodeAttempts = 5         // wrong tries before a code dies
	maxCodesPerHour = 5         // sends per user, auth.register's included
	codeSendWindow  = time.Hour // the window of maxCodesPerHour
)

// Mail template names, as the mail package defines them.
const (
	templateVerifyEmail   = "verify_email"
	templatePasswordReset = "password_reset"
	templateInvitation    = "invitation"
)

// afterSignup runs once an account with an email address exists: it sends
// the first verification code unless the address is already verified.
func (s *Service) afterSignup(ctx context.Context, u User) {
	if u.EmailVerified {
		return
	}
	if err := s.sendVerificationCode(ctx, u); err != nil {
		s.Logger.ErrorContext(ctx, "first verification code not sent", "user", u.ID, "err", err)
	}
}

// SendVerificationCode mails the caller a fresh code, superseding earlier
// ones: auth.email.send_verification_code.
func (s *Service) SendVerificationCode(ctx context.Context, ac *AuthContext) error {
	if err := requireSession(ac); err != nil {
		return err
	}
	u, err := s.Store.UserByID(ctx, ac.User.ID)
	if err != nil {
		return err
	}
	if u.EmailVerified {
		return errAlreadyVerified
	}
	if err := s.sendVerificationCode(ctx, u); err != nil {
		return err
	}
	s.audit(ctx, AuditEvent{ActorID: u.ID, OrgID: ac.Org.ID, Action: "user.email_code_sent", Target: u.ID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent})
	return nil
}

var errAlreadyVerified = Errorf(CodeEmailAlreadyVerified, "This email address is already verified.")

// sendVerificationCode stores a new code for u's address and mails it,
// within the per-user send limit.
func (s *Service) sendVerificationCode(ctx context.Context, u User) error {
	var code string
	err := s.Store.Tx(ctx, func(tx Store) error {
		fresh, err := tx.UserByID(ctx, u.ID)
		if err != nil {
			return err
		}
		// Writing the user row first locks it, so that concurrent sends
		// of one user count each other against the limit (PostgreSQL;
		// SQLite's transactions are serial already).
		if err := tx.UpdateUser(ctx, fresh); err != nil {
			return err
		}
		u = fresh
		code, err = s.issueCode(ctx, tx, u)
		return err
	})
	if err != nil {
		return err
	}
	return s.Mailer.Send(ctx, u.Email, templateVerifyEmail, map[string]string{
		"Code": code, "Expires": humanDuration(s.Config.CodeTTL),
	})
}

// issueCode enforces the send limit, sweeps code rows that no longer
// count, and stores a new code, which supersedes every earlier one.
func (s *Service) issueCode(ctx context.Context, tx Store, u User) (string, error) {
	now := s.now()
	rows, err := tx.ChallengesOf(ctx, kindEmailCode, u.ID)
	if err != nil {
		return "", err
	}
	var recent []Challenge // newest first
	for _, c := range rows {
		if now.Sub(c.CreatedAt) < codeSendWindow {
			recent = append(recent, c)
		} else if err := tx.DeleteChallenge(ctx, c.ID); err != nil {
			return "", err
		}
	}
	if s.Config.RateLimits && len(recent) >= maxCodesPerHour {
		e := Errorf(CodeRateLimited, "Too many codes sent. Try again later.")
		e.RetryAfter = recent[maxCodesPerHour-1].CreatedAt.Add(codeSendWindow).Sub(now)
		return "", e
	}
	code := secret.Digits(codeDigits)
	c := Challenge{
		ID: secret.ID("chl_"), Kind: kindEmailCode, UserID: u.ID, Email: u.Email,
		Payload: []byte("{}"), CreatedAt: now, ExpiresAt: now.Add(s.Config.CodeTTL),
	}
	c.SecretHash = codeHash(c.ID, code)
	return code, tx.CreateChallenge(ctx, c)
}

// codeHash salts a code's hash with its challenge id, so that equal codes
// of different rows hash apart.
func codeHash(challengeID, code string) string { return secret.Hash(challengeID + ":" + code) }

// VerifyEmail checks a code against the caller's live code and marks the
// address verified: auth.email.verify. A wrong or superseded code is
// invalid_code; an expired one, or any code once the live one has taken
// five wrong tries, is code_expired. The attempt limit is always on.
func (s *Service) VerifyEmail(ctx context.Context, ac *AuthContext, code string) error {
	if err := requireSession(ac); err != nil {
		return err
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return Invalid("code", "code is required.")
	}
	if err := s.rateLimit(ctx, "code-ip:"+ac.Meta.IP, ruleCodeIP); err != nil {
		return err
	}
	var verdict error // the caller's error; the transaction still commits the attempt count
	var verified User
	err := s.Store.Tx(ctx, func(tx Store) error {
		u, err := tx.UserByID(ctx, ac.User.ID)
		if err != nil {
			return err
		}
		if u.EmailVerified {
			verdict = errAlreadyVerified
			return nil
		}
		rows, err := tx.ChallengesOf(ctx, kindEmailCode, u.ID)
		if err != nil {
			return err
		}
		if len(rows) == 0 || rows[0].Email != u.Email {
			verdict = errInvalidCode
			return nil
		}
		live := rows[0]
		if live.Attempts >= maxCodeAttempts || !s.now().Before(live.ExpiresAt) {
			verdict = errCodeExpired
			return nil
		}
		if len(code) != codeDigits || !secret.Equal(codeHash(live.ID, code), live.SecretHash) {
			live.Attempts++
			verdict = errInvalidCode
			return tx.UpdateChallenge(ctx, live)
		}
		u.EmailVerified = true
		u.UpdatedAt = s.now()
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if err := s.emitUser(ctx, tx, EventUserUpdated, u); err != nil {
			return err
		}
		verified = u
		return tx.DeleteChallengesOf(ctx, kindEmailCode, u.ID)
	})
	if err != nil {
		return err
	}
	if verdict != nil {
		return verdict
	}
	s.audit(ctx, AuditEvent{ActorID: verified.ID, OrgID: ac.Org.ID, Action: "user.email_verified", Target: verified.ID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent,
		Data: jsonData(map[string]string{"email": verified.Email})})
	s.track(verified.ID, "email_verified", nil)
	return nil
}

var (
	errInvalidCode = Errorf(CodeInvalidCode, "The code is not right. Check the latest email we sent.")
	errCodeExpired = Errorf(CodeCodeExpired, "The code has expired. Ask for a new one.")
)

// ChangeEmail replaces the caller's unverified address and sends a code to
// the new one: auth.email.change. Pending codes and reset links of the old
// address die with it.
func (s *Service) ChangeEmail(ctx context.Context, ac *AuthContext, email string) (User, error) {
	if err := requireSession(ac); err != nil {
		return User{}, err
	}
	email, err := NormalizeEmail("email", email)
	if err != nil {
		return User{}, err
	}
	if err := s.requireNoSSO(ctx, email); err != nil {
		return User{}, err
	}
	var u User
	var old, code string
	err = s.Store.Tx(ctx, func(tx Store) error {
		var err error
		if u, err = tx.UserByID(ctx, ac.User.ID); err != nil {
			return err
		}
		if u.EmailVerified {
			return errAlreadyVerified
		}
		old = u.Email
		u.Email = email
		u.UpdatedAt = s.now()
		if err := tx.UpdateUser(ctx, u); errors.Is(err, ErrConflict) {
			return Errorf(CodeEmailTaken, "An account with this email already exists.")
		} else if err != nil {
			return err
		}
		if err := s.emitUser(ctx, tx, EventUserUpdated, u); err != nil {
			return err
		}
		if err := tx.DeleteChallengesOf(ctx, kindPasswordReset, u.ID); err != nil {
			return err
		}
		// The new code supersedes every earlier one, and still counts
		// against the send limit, so changing address cannot bypass it.
		code, err = s.issueCode(ctx, tx, u)
		return err
	})
	if err != nil {
		return User{}, err
	}
	s.audit(ctx, AuditEvent{ActorID: u.ID, OrgID: ac.Org.ID, Action: "user.email_changed", Target: u.ID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent,
		Data: jsonData(map[string]string{"from": old, "to": email})})
	err = s.Mailer.Send(ctx, u.Email, templateVerifyEmail, map[string]string{"Code": code, "Expires": humanDuration(s.Config.CodeTTL)})
	return u, err
}

// OnboardingStep is one thing a new account should do.
type OnboardingStep struct {
	ID       string // "verify_email" or "set_password"
	Complete bool
}

// Onboarding is the answer of auth.onboarding.status.
type Onboarding struct {
	EmailVerified bool
	HasPassword   bool
	Steps         []OnboardingStep
	Complete      bool
}

// OnboardingStatus tells what the caller still has to do.
func (s *Service) OnboardingStatus(ctx context.Context, ac *AuthContext) (Onboarding, error) {
	if err := requireSession(ac); err != nil {
		return Onboarding{}, err
	}
	u := *ac.User // read with the session on this request
	o := Onboarding{
		EmailVerified: u.EmailVerified,
		HasPassword:   u.HasPassword(),
		Steps: []OnboardingStep{
			{ID: "verify_email", Complete: u.EmailVerified},
			{ID: "set_password", Complete: u.HasPassword()},
		},
	}
	o.Complete = o.EmailVerified && o.HasPassword
	return o, nil
}

// humanDuration writes a TTL the way an email states it: "15 minutes".
func humanDuration(d time.Duration) string {
	unit := func(n int, one string) string {
		if n == 1 {
			return "1 " + one
		}
		return fmt.Sprintf("%d %ss", n, one)
	}
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return unit(int(d/(24*time.Hour)), "day")
	case d >= time.Hour && d%time.Hour == 0:
		return unit(int(d/time.Hour), "hour")
	case d >= time.Minute:
		return unit(int(d.Round(time.Minute)/time.Minute), "minute")
	}
	return unit(int(d.Round(time.Second)/time.Second), "second")
}

// jsonData encodes audit details.
func jsonData(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage("{}")
	}
	return b
}
