package latchkey

import (
	"context"
	"errors"
	"time"

	"github.com/latchkey/latchkey/secret"
)

// Session is one sign-in of a user, in one active org. Its refresh tokens
// form a lineage; revoking the session kills them all and, because every
// access-token check reads the session, its access tokens too.
type Session struct {
	ID              string
	UserID          string
	OrgID           string
	CreatedAt       time.Time
	LastSeenAt      time.Time // sign-in or the latest refresh
	ExpiresAt       time.Time // slides forward on each refresh
	AuthenticatedAt time.Time // when a credential was last presented
	RevokedAt       time.Time // zero while live
	IP              string
	UserAgent       string
	// AAL is "aal1" or "aal2" (contract §7), AMR the RFC 8176 methods
	// used, MFAAt the last second-factor check (zero if none) and SSO
	// whether an identity provider signed the user in.
	AAL   string
	AMR   []string
	MFAAt time.Time
	SSO   bool
}

// Live reports whether the session may still be used at now.
func (s Session) Live(now time.Time) bool { return s.RevokedAt.IsZero() && now.Before(s.ExpiresAt) }

// RefreshToken is one link of a session's lineage, stored by hash.
type RefreshToken struct {
	Hash       string
	SessionID  string
	ParentHash string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	RotatedAt  time.Time // zero until used
}

// SessionAuth is what the hot path reads for an access token: every field
// an AuthContext or a flow started from one reads, and no more. Session
// carries ID, UserID, OrgID, ExpiresAt, AuthenticatedAt and RevokedAt
// (not CreatedAt, LastSeenAt, IP nor UserAgent); User everything but
// UpdatedAt; Org everything but CreatedAt.
type SessionAuth struct {
	Session Session
	User    User
	Org     Org
	Role    Role
	// OrgRequiresMFA is the org's policy; MFAEnrolled whether the user has
	// a confirmed second factor (mfa.go).
	OrgRequiresMFA bool
	MFAEnrolled    bool
}

// Meta describes the client behind a request, for sessions and audit events.
type Meta struct {
	IP        string
	UserAgent string
}

// SignIn is the result of every flow that creates or refreshes a session.
type SignIn struct {
	User         User
	Session      Session
	AccessToken  secret.Value
	RefreshToken secret.Value
	ExpiresIn    time.Duration
	// Created is true when the flow created the account.
	Created bool
}

// startSession creates a session for the user in org and its first refresh
// token, inside tx.
func (s *Service) startSession(ctx context.Context, tx Store, u User, orgID string, m Meta, now time.Time, how signInMethod) (SignIn, error) {
	if err := checkEnabled(ctx, tx, u.ID); err != nil { // admin_users.go
		return SignIn{}, err
	}
	ses := Session{
		ID: secret.ID("ses_"), UserID: u.ID, OrgID: orgID,
		CreatedAt: now, LastSeenAt: now, AuthenticatedAt: now,
		ExpiresAt: now.Add(s.Config.RefreshTokenTTL),
		IP:        truncate(m.IP, 64), UserAgent: truncate(m.UserAgent, 512),
		AAL: aal(how.AMR), AMR: how.AMR, SSO: how.SSO,
	}
	if ses.AAL == AAL2 {
		ses.MFAAt = now
	}
	if err := tx.CreateSession(ctx, ses); err != nil {
		return SignIn{}, err
	}
	if err := s.emitSessionCreated(ctx, tx, ses); err != nil {
		return SignIn{}, err
	}
	return s.issueTokens(ctx, tx, u, ses, "", now)
}

// issueTokens mints an access token and a new refresh token (child of
// parent) for the session.
func (s *Service) issueTokens(ctx context.Context, tx Store, u User, ses Session, parent string, now time.Time) (SignIn, error) {
	m, err := tx.Membership(ctx, u.ID, ses.OrgID)
	if err != nil {
		return SignIn{}, err
	}
	refresh := secret.Token("")
	rt := RefreshToken{
		Hash: secret.Hash(refresh), SessionID: ses.ID, ParentHash: parent,
		CreatedAt: now, ExpiresAt: now.Add(s.Config.RefreshTokenTTL),
	}
	if err := tx.CreateRefreshToken(ctx, rt); err != nil {
		return SignIn{}, err
	}
	access, err := s.keys.sign(ctx, accessClaims{
		Issuer: s.Config.Issuer, Subject: u.ID, Audience: s.audience(), ClientID: TokenClientID, JTI: secret.ID("at_"),
		Org: ses.OrgID, SessionID: ses.ID,
		Scope: joinScopes(m.Role.Scopes()), IssuedAt: now.Unix(), Expires: now.Add(s.Config.AccessTokenTTL).Unix(),
		AAL: ses.AAL, AMR: ses.AMR,
	})
	if err != nil {
		return SignIn{}, err
	}
	return SignIn{User: u, Session: ses, AccessToken: secret.Value(access), RefreshToken: secret.Value(refresh), ExpiresIn: s.Config.AccessTokenTTL}, nil
}

// audience is the aud claim of access tokens: Config.TokenAudience, by
// default the issuer (the public URL).
func (s *Service) audience() string {
	if s.Config.TokenAudience != "" {
		return s.Config.TokenAudience
	}
	return s.Config.Issuer
}

// signIn runs startSession in its own transaction.
func (s *Service) signIn(ctx context.Context, u User, orgID string, m Meta, how signInMethod) (SignIn, error) {
	var out SignIn
	err := s.Store.Tx(ctx, func(tx Store) error {
		var err error
		out, err = s.startSession(ctx, tx, u, orgID, m, s.now(), how)
		return err
	})
	return out, err
}

// defaultOrg picks the org a fresh session starts in: the user's oldest
// membership.
func defaultOrg(ctx context.Context, st Store, userID string) (string, error) {
	ms, err := st.MembershipsOfUser(ctx, userID)
	if err != nil {
		return "", err
	}
	if len(ms) == 0 {
		return "", Errorf(CodeForbidden, "This account belongs to no organization.")
	}
	return ms[0].OrgID, nil
}

// Refresh rotates a refresh token: the presented token dies and a new pair
// is issued in the same session. A token already rotated within the grace
// window yields another fresh pair, so concurrent tabs both stay signed in;
// beyond it, the reuse revokes the whole session. The SignIn names the
// user by ID only.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (SignIn, error) {
	if refreshToken == "" {
		return SignIn{}, errBadToken
	}
	var out SignIn
	var reused, deadUser string
	err := s.Store.Tx(ctx, func(tx Store) error {
		now := s.now()
		hash := secret.Hash(refreshToken)
		// The session first, then the token: the order in which deleting
		// a user or an org locks them (store.go).
		ses, err := tx.SessionOfRefreshToken(ctx, hash)
		if errors.Is(err, ErrNotFound) {
			return errBadToken
		} else if err != nil {
			return err
		}
		rt, err := tx.RefreshTokenForUpdate(ctx, hash)
		if errors.Is(err, ErrNotFound) {
			return errBadToken
		} else if err != nil {
			return err
		}
		if !ses.Live(now) || !now.Before(rt.ExpiresAt) {
			deadUser = ses.UserID
			return errBadToken
		}
		if !rt.RotatedAt.IsZero() && now.Sub(rt.RotatedAt) > s.Config.RefreshReuseGrace {
			ses.RevokedAt = now
			reused = ses.ID
			if err := tx.UpdateSession(ctx, ses); err != nil {
				return err
			}
			return s.emitSessionRevoked(ctx, tx, ses, revokedReuse)
		}
		if rt.RotatedAt.IsZero() {
			if err := tx.MarkRefreshTokenRotated(ctx, rt.Hash, now); err != nil {
				return err
			}
		}
		ses.LastSeenAt = now
		ses.ExpiresAt = now.Add(s.Config.RefreshTokenTTL)
		if err := tx.ExtendSession(ctx, ses.ID, ses.LastSeenAt, ses.ExpiresAt); err != nil {
			return err
		}
		// No user row is read: flows that lock the user lock its sessions
		// after it (deleting the account, changing the password), and
		// taking the user here, after the session, deadlocked against
		// them. The session's lock keeps the user from going away.
		out, err = s.issueTokens(ctx, tx, User{ID: ses.UserID}, ses, rt.Hash, now)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		// The session's membership or user vanished under it.
		return SignIn{}, errBadToken
	}
	if err == errBadToken && deadUser != "" {
		// Read after the transaction, which locks no user row (above).
		if at, derr := s.Store.UserDisabledAt(ctx, deadUser); derr == nil && !at.IsZero() {
			return SignIn{}, errAccountDisabled
		}
	}
	if err != nil {
		return SignIn{}, err
	}
	if reused != "" {
		s.audit(ctx, AuditEvent{Action: "session.refresh_reuse_detected", Target: reused})
		return SignIn{}, errBadToken
	}
	return out, nil
}

// Logout revokes the caller's session and with it its refresh lineage.
// Revoking an already-revoked session succeeds.
func (s *Service) Logout(ctx context.Context, ac *AuthContext) error {
	if err := requireSession(ac); err != nil {
		return err
	}
	return s.revokeSession(ctx, ac, ac.SessionID, "session.logout")
}

// LogoutExpired revokes the session of an access token whose signature is
// ours but which has expired: a browser that comes back after the access
// cookie's lifetime and signs out must not leave its session (and refresh
// token) alive. Any other token is ignored; the caller clears the cookies
// either way.
func (s *Service) LogoutExpired(ctx context.Context, token string, m Meta) error {
	c, err := s.keys.verify(ctx, token)
	if err != nil || c.Issuer != s.Config.Issuer || c.SessionID == "" {
		return nil
	}
	ses, err := s.Store.SessionByID(ctx, c.SessionID)
	if errors.Is(err, ErrNotFound) || (err == nil && ses.UserID != c.Subject) {
		return nil
	} else if err != nil {
		return err
	}
	if !ses.RevokedAt.IsZero() {
		return nil
	}
	ses.RevokedAt = s.now()
	if err := s.Store.Tx(ctx, func(tx Store) error {
		if err := tx.UpdateSession(ctx, ses); err != nil {
			return err
		}
		return s.emitSessionRevoked(ctx, tx, ses, revokedLogout)
	}); err != nil {
		return err
	}
	s.audit(ctx, AuditEvent{ActorID: ses.UserID, OrgID: ses.OrgID, Action: "session.logout", Target: ses.ID, IP: m.IP, UserAgent: m.UserAgent})
	return nil
}

func (s *Service) revokeSession(ctx context.Context, ac *AuthContext, id, action string) error {
	ses, err := s.Store.SessionByID(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && ses.UserID != ac.User.ID) {
		return Errorf(CodeNotFound, "No such session.")
	} else if err != nil {
		return err
	}
	if ses.RevokedAt.IsZero() {
		ses.RevokedAt = s.now()
		reason := revokedByUser
		if action == "session.logout" {
			reason = revokedLogout
		}
		if err := s.Store.Tx(ctx, func(tx Store) error {
			if err := tx.UpdateSession(ctx, ses); err != nil {
				return err
			}
			return s.emitSessionRevoked(ctx, tx, ses, reason)
		}); err != nil {
			return err
		}
		s.audit(ctx, AuditEvent{ActorID: ac.User.ID, OrgID: ac.Org.ID, Action: action, Target: id, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent})
	}
	return nil
}

// SessionInfo is a session as auth.sessions.list shows it.
type SessionInfo struct {
	Session
	Current bool
}

// ListSessions lists the caller's live sessions.
func (s *Service) ListSessions(ctx context.Context, ac *AuthContext) ([]SessionInfo, error) {
	if err := requireSession(ac); err != nil {
		return nil, err
	}
	list, err := s.Store.ActiveSessions(ctx, ac.User.ID, s.now())
	if err != nil {
		return nil, err
	}
	out := make([]SessionInfo, len(list))
	for i, ses := range list {
		out[i] = SessionInfo{Session: ses, Current: ses.ID == ac.SessionID}
	}
	return out, nil
}

// RevokeSession revokes one of the caller's sessions.
func (s *Service) RevokeSession(ctx context.Context, ac *AuthContext, sessionID string) error {
	if err := requireSession(ac); err != nil {
		return err
	}
	if sessionID == "" {
		return Invalid("session_id", "session_id is required.")
	}
	return s.revokeSession(ctx, ac, sessionID, "session.revoke")
}

// SwitchOrg moves the caller's session to another org the user belongs to
// and re-issues its tokens; the old access token stops working.
func (s *Service) SwitchOrg(ctx context.Context, ac *AuthContext, orgID string) (SignIn, error) {
	if err := requireSession(ac); err != nil {
		return SignIn{}, err
	}
	if orgID == "" {
		return SignIn{}, Invalid("org_id", "org_id is required.")
	}
	var out SignIn
	err := s.Store.Tx(ctx, func(tx Store) error {
		if _, err := tx.Membership(ctx, ac.User.ID, orgID); errors.Is(err, ErrNotFound) {
			return Errorf(CodeForbidden, "You are not a member of that organization.")
		} else if err != nil {
			return err
		}
		ses, err := tx.SessionByID(ctx, ac.SessionID)
		if err != nil {
			return err
		}
		now := s.now()
		ses.OrgID = orgID
		ses.LastSeenAt = now
		if err := tx.UpdateSession(ctx, ses); err != nil {
			return err
		}
		out, err = s.issueTokens(ctx, tx, *ac.User, ses, "", now)
		return err
	})
	if err == nil {
		s.audit(ctx, AuditEvent{ActorID: ac.User.ID, OrgID: orgID, Action: "session.org_switched", Target: ac.SessionID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent})
	}
	return out, err
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
