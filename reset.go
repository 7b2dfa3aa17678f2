package latchkey

import (
	"context"
	"errors"
	"net/url"
	"sync"
	"time"
)

const kindPasswordReset = "password_reset"

// Rate rules of the reset request: by client and by address, so that
// nobody can flood a mailbox. They apply alike to known and unknown
// addresses.
var (
	ruleResetIP    = rule{10, 2 * time.Minute}
	ruleResetEmail = rule{3, 30 * time.Minute}
)

// RequestPasswordReset answers auth.password.reset.request. Its answer and
// its timing do not depend on whether the address has an account: the
// lookup, the token and the mail happen after the response, in the
// background (see Drain).
func (s *Service) RequestPasswordReset(ctx context.Context, email string, m Meta) error {
	email, err := NormalizeEmail("email", email)
	if err != nil {
		return err
	}
	if err := s.rateLimit(ctx, "reset-ip:"+m.IP, ruleResetIP); err != nil {
		return err
	}
	if err := s.rateLimit(ctx, "reset-email:"+email, ruleResetEmail); err != nil {
		return err
	}
	// An enforced SSO domain has no passwords to reset. The answer depends
	// on the domain only (auth.sso.discover tells as much), not the account.
	if err := s.requireNoSSO(ctx, email); err != nil {
		return err
	}
	s.bg.run(ctx, func(ctx context.Context) {
		if err := s.sendResetLink(ctx, email, m); err != nil {
			s.Logger.ErrorContext(ctx, "password reset not sent", "err", err)
		}
	})
	return nil
}

// sendResetLink stores a reset token for the account of email, if there is
// one, and mails the link. Only the newest link works.
func (s *Service) sendResetLink(ctx context.Context, email string, m Meta) error {
	u, err := s.Store.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	var token string
	err = s.Store.Tx(ctx, func(tx Store) error {
		if err := tx.DeleteChallengesOf(ctx, kindPasswordReset, u.ID); err != nil {
			return err
		}
		token, err = s.issueToken(ctx, tx, Challenge{Kind: kindPasswordReset, UserID: u.ID, Email: u.Email}, s.Config.ResetTokenTTL)
		return err
	})
	if err != nil {
		return err
	}
	s.audit(ctx, AuditEvent{ActorID: u.ID, Action: "user.password_reset_requested", Target: u.ID, IP: m.IP, UserAgent: m.UserAgent})
	link := s.Config.DashboardURL + "/reset-password?token=" + url.QueryEscape(token)
	return s.Mailer.Send(ctx, u.Email, templatePasswordReset, map[string]string{
		"Link": link, "Expires": humanDuration(s.Config.ResetTokenTTL),
	})
}

// CompletePasswordReset sets a new password with a reset token:
// auth.password.reset.complete. The link proved the mailbox, so the
// address becomes verified; every session of the user is revoked.
func (s *Service) CompletePasswordReset(ctx context.Context, token, newPassword string, m Meta) error {
	if token == "" {
		return Invalid("token", "token is required.")
	}
	if newPassword == "" {
		return Invalid("new_password", "new_password is required.")
	}
	if err := s.rateLimit(ctx, "code-ip:"+m.IP, ruleCodeIP); err != nil {
		return err
	}
	// The policy first, so that a weak password leaves the link usable.
	if err := checkPassword("new_password", newPassword); err != nil {
		return err
	}
	hash, err := s.Config.Password.Hash(newPassword)
	if err != nil {
		return err
	}
	invalid := Errorf(CodeInvalidToken, "This reset link is invalid, expired or already used. Ask for a new one.")
	var u User
	err = s.Store.Tx(ctx, func(tx Store) error {
		c, err := s.redeemToken(ctx, tx, kindPasswordReset, token, invalid)
		if err != nil {
			return err
		}
		u, err = tx.UserByID(ctx, c.UserID)
		if errors.Is(err, ErrNotFound) || (err == nil && u.Email != c.Email) {
			return invalid
		} else if err != nil {
			return err
		}
		if err := checkEnabled(ctx, tx, u.ID); err != nil {
			return err // the link stays unused: the rollback keeps it
		}
		now := s.now()
		u.PasswordHash, u.EmailVerified, u.UpdatedAt = hash, true, now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.DeleteChallengesOf(ctx, kindPasswordReset, u.ID); err != nil {
			return err
		}
		if err := s.emitUser(ctx, tx, EventUserUpdated, u); err != nil {
			return err
		}
		_, err = s.revokeSessionsOf(ctx, tx, u.ID, "", revokedReset, now)
		return err
	})
	if errors.Is(err, ErrNotFound) { // another request redeemed it first
		return invalid
	}
	if err != nil {
		return err
	}
	s.audit(ctx, AuditEvent{ActorID: u.ID, Action: "user.password_reset", Target: u.ID, IP: m.IP, UserAgent: m.UserAgent})
	s.track(u.ID, "password_reset_completed", nil)
	return nil
}

// background runs work that must not delay or shape a response, such as
// the lookup behind a reset request, with bounded concurrency.
type background struct {
	once  sync.Once
	slots chan struct{}
	wg    sync.WaitGroup
}

// maxBackground bounds the background flows in flight; beyond it a
// request waits for a slot, which depends on load, never on the data.
const maxBackground = 64

// run starts fn in the background with ctx's values but not its deadline.
func (b *background) run(ctx context.Context, fn func(context.Context)) {
	b.once.Do(func() { b.slots = make(chan struct{}, maxBackground) })
	select {
	case b.slots <- struct{}{}:
	case <-ctx.Done():
		return
	}
	b.wg.Add(1)
	go func() {
		defer func() { <-b.slots; b.wg.Done() }()
		fn(context.WithoutCancel(ctx))
	}()
}

// Drain waits until the background flows started so far have finished, or
// ctx ends. The server calls it at shutdown, before closing the mailer;
// tests call it before asserting that no mail was sent.
func (s *Service) Drain(ctx context.Context) error {
	done := make(chan struct{})
	go func() { s.bg.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
