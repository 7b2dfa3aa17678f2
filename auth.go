package latchkey

import (
	"context"
	"errors"

	"github.com/latchkey/latchkey/password"
	"github.com/latchkey/latchkey/secret"
)

// RegisterInput is the request of auth.register.
type RegisterInput struct {
	Email    string
	Password string
	Name     string
	OrgName  string
	Meta     Meta
}

// LoginInput is the request of auth.login and auth.login_or_register.
type LoginInput struct {
	Email    string
	Password string
	Meta     Meta
}

// checkPassword applies the password policy, naming field on failure.
func checkPassword(field, pw string) error {
	switch err := password.Check(pw); {
	case errors.Is(err, password.ErrTooShort):
		return &Error{Code: CodeWeakPassword, Field: field, Message: "The password must be at least 8 characters."}
	case errors.Is(err, password.ErrTooLong):
		return &Error{Code: CodeWeakPassword, Field: field, Message: "The password must be at most 128 characters."}
	case errors.Is(err, password.ErrCommon):
		return &Error{Code: CodeWeakPassword, Field: field, Message: "That password is too common. Choose another."}
	case err != nil:
		return err
	}
	return nil
}

// Register creates a user with a password, a single-user org they own, and
// a session; then it sends the first email verification code.
func (s *Service) Register(ctx context.Context, in RegisterInput) (SignIn, error) {
	email, err := NormalizeEmail("email", in.Email)
	if err != nil {
		return SignIn{}, err
	}
	name, err := checkName("name", in.Name)
	if err != nil {
		return SignIn{}, err
	}
	orgName, err := checkName("org_name", in.OrgName)
	if err != nil {
		return SignIn{}, err
	}
	if in.Password == "" {
		return SignIn{}, Invalid("password", "A password is required.")
	}
	if err := checkPassword("password", in.Password); err != nil {
		return SignIn{}, err
	}
	if err := s.rateLimit(ctx, "signup-ip:"+in.Meta.IP, ruleSignupIP); err != nil {
		return SignIn{}, err
	}
	if err := s.requireNoSSO(ctx, email); err != nil {
		return SignIn{}, err
	}
	hash, err := s.Config.Password.Hash(in.Password)
	if err != nil {
		return SignIn{}, err
	}
	now := s.now()
	u := User{ID: secret.ID("usr_"), Email: email, Name: name, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	var out SignIn
	err = s.Store.Tx(ctx, func(tx Store) error {
		if err := tx.CreateUser(ctx, u); errors.Is(err, ErrConflict) {
			return Errorf(CodeEmailTaken, "An account with this email already exists.")
		} else if err != nil {
			return err
		}
		if err := s.emitUser(ctx, tx, EventUserCreated, u); err != nil {
			return err
		}
		org, err := s.createOrgWithOwner(ctx, tx, personalOrgName(u, orgName), u.ID, now)
		if err != nil {
			return err
		}
		out, err = s.startSession(ctx, tx, u, org.ID, in.Meta, now, viaPassword)
		return err
	})
	if err != nil {
		return SignIn{}, err
	}
	out.Created = true
	s.audit(ctx, AuditEvent{ActorID: u.ID, OrgID: out.Session.OrgID, Action: "user.registered", Target: u.ID, IP: in.Meta.IP, UserAgent: in.Meta.UserAgent})
	s.track(u.ID, "signup_completed", map[string]any{"method": "password"})
	s.afterSignup(ctx, u)
	return out, nil
}

// Login signs in with email and password. Unknown email and wrong password
// fail alike, and an unknown email still costs one password hash.
func (s *Service) Login(ctx context.Context, in LoginInput) (SignIn, error) {
	email, err := NormalizeEmail("email", in.Email)
	if err != nil {
		return SignIn{}, err
	}
	if in.Password == "" {
		return SignIn{}, Invalid("password", "A password is required.")
	}
	if err := s.rateLimit(ctx, "login-ip:"+in.Meta.IP, ruleLoginIP); err != nil {
		return SignIn{}, err
	}
	if err := s.rateLimit(ctx, "login-account:"+email, ruleLoginAccount); err != nil {
		return SignIn{}, err
	}
	if err := s.requireNoSSO(ctx, email); err != nil {
		return SignIn{}, err
	}
	u, err := s.Store.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		s.Config.Password.Dummy(in.Password)
		return SignIn{}, s.loginFailed(ctx, "", in.Meta, "unknown_email")
	} else if err != nil {
		return SignIn{}, err
	}
	return s.loginUser(ctx, u, in)
}

// loginUser checks the password of a known user and starts a session.
func (s *Service) loginUser(ctx context.Context, u User, in LoginInput) (SignIn, error) {
	if !u.HasPassword() {
		return SignIn{}, s.noPasswordError(ctx, u)
	}
	ok, rehash, err := s.Config.Password.Verify(u.PasswordHash, in.Password)
	if err != nil {
		s.Logger.ErrorContext(ctx, "stored password hash unreadable", "user", u.ID, "err", err)
		ok = false
	}
	if !ok {
		return SignIn{}, s.loginFailed(ctx, u.ID, in.Meta, "wrong_password")
	}
	if rehash {
		s.rehashPassword(ctx, u, in.Password)
	}
	orgID, err := defaultOrg(ctx, s.Store, u.ID)
	if err != nil {
		return SignIn{}, err
	}
	if err := s.requireSecondFactor(ctx, u, orgID, mfaPayload{AMR: viaPassword.AMR, Method: "password"}); err != nil {
		return SignIn{}, err
	}
	out, err := s.signIn(ctx, u, orgID, in.Meta, viaPassword)
	if err != nil {
		return SignIn{}, err
	}
	s.audit(ctx, AuditEvent{ActorID: u.ID, OrgID: orgID, Action: "user.login", Target: out.Session.ID, IP: in.Meta.IP, UserAgent: in.Meta.UserAgent})
	s.track(u.ID, "login_succeeded", map[string]any{"method": "password"})
	return out, nil
}

// rehashPassword replaces u's verified hash with one of the current
// parameters. It re-reads the user in a transaction and gives up when the
// hash changed meanwhile, so writing back the copy read before the (slow)
// hashing can undo neither a concurrent password change nor an email
// verification.
func (s *Service) rehashPassword(ctx context.Context, u User, pw string) {
	h, err := s.Config.Password.Hash(pw)
	if err != nil {
		return
	}
	err = s.Store.Tx(ctx, func(tx Store) error {
		cur, err := tx.UserByID(ctx, u.ID)
		if err != nil || cur.PasswordHash != u.PasswordHash {
			return err
		}
		cur.PasswordHash, cur.UpdatedAt = h, s.now()
		return tx.UpdateUser(ctx, cur)
	})
	if err != nil {
		s.Logger.WarnContext(ctx, "password rehash not saved", "user", u.ID, "err", err)
	}
}

func (s *Service) loginFailed(ctx context.Context, userID string, m Meta, reason string) error {
	if userID != "" {
		s.audit(ctx, AuditEvent{ActorID: userID, Action: "user.login_failed", Target: userID, IP: m.IP, UserAgent: m.UserAgent})
	}
	distinct := userID
	if distinct == "" {
		distinct = "anonymous"
	}
	s.track(distinct, "login_failed", map[string]any{"method": "password", "reason": reason})
	return Errorf(CodeInvalidCredentials, "The email or password is incorrect.")
}

// noPasswordError tells a user without a password how they can sign in.
func (s *Service) noPasswordError(ctx context.Context, u User) error {
	ids, err := s.Store.OAuthIdentitiesOfUser(ctx, u.ID)
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return Errorf(CodePasswordNotSet, "This account has no password. Sign in another way, or reset the password by email.")
	}
	e := Errorf(CodeOAuthOnlyAccount, "This account signs in with an identity provider.")
	for _, id := range ids {
		e.Providers = append(e.Providers, id.Provider)
	}
	return e
}

// LoginOrRegister logs in an existing account or registers a new one.
func (s *Service) LoginOrRegister(ctx context.Context, in LoginInput) (SignIn, error) {
	email, err := NormalizeEmail("email", in.Email)
	if err != nil {
		return SignIn{}, err
	}
	if in.Password == "" {
		return SignIn{}, Invalid("password", "A password is required.")
	}
	_, err = s.Store.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		out, err := s.Register(ctx, RegisterInput{Email: email, Password: in.Password, Meta: in.Meta})
		if ErrorCode(err) != CodeEmailTaken {
			return out, err
		}
		// Someone registered the address a moment ago: log in instead.
	} else if err != nil {
		return SignIn{}, err
	}
	return s.Login(ctx, in)
}
