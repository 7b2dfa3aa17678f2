package latchkey

import (
	"context"
	"errors"
	"net/url"
	"time"

	"github.com/latchkey/latchkey/secret"
)

// Invitation asks someone, by email, to join an org with a role. Its token
// travels only in the invitation email; the row keeps the token's hash.
type Invitation struct {
	ID        string
	OrgID     string
	Email     string
	Role      Role
	InviterID string // the user, or API key, that sent it
	TokenHash string
	ExpiresAt time.Time
	CreatedAt time.Time
}

// InvitationStore is the storage of invitations.
type InvitationStore interface {
	// CreateInvitation inserts an invitation; ErrConflict when the org
	// already has one for the address.
	CreateInvitation(ctx context.Context, inv Invitation) error
	// InvitationByToken finds an invitation by token hash, locking it
	// inside a transaction.
	InvitationByToken(ctx context.Context, tokenHash string) (Invitation, error)
	// Invitations lists an org's invitations, newest first.
	Invitations(ctx context.Context, orgID string) ([]Invitation, error)
	// DeleteInvitation deletes an org's invitation; ErrNotFound when absent.
	DeleteInvitation(ctx context.Context, orgID, id string) error
	// DeleteInvitationTo deletes the org's invitation to an address, if any.
	DeleteInvitationTo(ctx context.Context, orgID, email string) error
}

// CodeAlreadyMember answers an invitation to someone already in the org.
const CodeAlreadyMember = "already_member"

// CreateInvitation invites email to the caller's org with role and mails
// the link <dashboard>/invite?token=…: org.invitations.create. Inviting an
// address again replaces its pending invitation (the old link dies). Nobody
// grants a role above their own.
func (s *Service) CreateInvitation(ctx context.Context, ac *AuthContext, email string, role Role) (Invitation, error) {
	if err := RequireAdmin(ac); err != nil {
		return Invitation{}, err
	}
	email, err := NormalizeEmail("email", email)
	if err != nil {
		return Invitation{}, err
	}
	if !role.Valid() {
		return Invitation{}, Invalid("role", "role must be owner, admin or member.")
	}
	if role.rank() > ac.Role.rank() {
		return Invitation{}, Errorf(CodeForbidden, "You cannot invite someone with a role above your own.")
	}
	token := secret.Token("")
	now := s.now()
	inv := Invitation{
		ID: secret.ID("inv_"), OrgID: ac.Org.ID, Email: email, Role: role, InviterID: actorID(ac),
		TokenHash: secret.Hash(token), CreatedAt: now, ExpiresAt: now.Add(s.Config.InvitationTTL),
	}
	err = s.Store.Tx(ctx, func(tx Store) error {
		if u, err := tx.UserByEmail(ctx, email); err == nil {
			if _, err := tx.Membership(ctx, u.ID, ac.Org.ID); err == nil {
				return Errorf(CodeAlreadyMember, "%s is already a member of this organization.", email)
			} else if !errors.Is(err, ErrNotFound) {
				return err
			}
		} else if !errors.Is(err, ErrNotFound) {
			return err
		}
		if err := tx.DeleteInvitationTo(ctx, ac.Org.ID, email); err != nil {
			return err
		}
		return tx.CreateInvitation(ctx, inv)
	})
	if err != nil {
		return Invitation{}, err
	}
	s.audit(ctx, AuditEvent{ActorID: actorID(ac), OrgID: ac.Org.ID, Action: "org.invitation_created", Target: inv.ID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent,
		Data: jsonData(map[string]string{"email": email, "role": string(role)})})
	inviter := ac.Org.Name
	if ac.User != nil {
		inviter = ac.User.Name
		if inviter == "" {
			inviter = ac.User.Email
		}
	}
	link := s.Config.DashboardURL + "/invite?token=" + url.QueryEscape(token)
	err = s.Mailer.Send(ctx, email, templateInvitation, map[string]string{
		"Link": link, "OrgName": ac.Org.Name, "InviterName": inviter, "Role": string(role),
		"Expires": humanDuration(s.Config.InvitationTTL),
	})
	return inv, err
}

// ListInvitations lists the caller's org's pending invitations:
// org.invitations.list. Expired ones are left out.
func (s *Service) ListInvitations(ctx context.Context, ac *AuthContext) ([]Invitation, error) {
	if err := RequireAdmin(ac); err != nil {
		return nil, err
	}
	all, err := s.Store.Invitations(ctx, ac.Org.ID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := []Invitation{}
	for _, inv := range all {
		if now.Before(inv.ExpiresAt) {
			out = append(out, inv)
		}
	}
	return out, nil
}

// RevokeInvitation deletes a pending invitation of the caller's org, so
// its link stops working: org.invitations.revoke.
func (s *Service) RevokeInvitation(ctx context.Context, ac *AuthContext, id string) error {
	if err := RequireAdmin(ac); err != nil {
		return err
	}
	if id == "" {
		return Invalid("id", "id is required.")
	}
	if err := s.Store.DeleteInvitation(ctx, ac.Org.ID, id); errors.Is(err, ErrNotFound) {
		return Errorf(CodeNotFound, "No such invitation.")
	} else if err != nil {
		return err
	}
	s.audit(ctx, AuditEvent{ActorID: actorID(ac), OrgID: ac.Org.ID, Action: "org.invitation_revoked", Target: id, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent})
	return nil
}

// CompleteInvitationInput is the request of auth.complete_invitation.
type CompleteInvitationInput struct {
	Token    string
	Password string
	Name     string
	Meta     Meta
}

// CompleteInvitation accepts an invitation and signs in to the inviting
// org: auth.complete_invitation. For a new address it creates the user
// (with a password, verified by the link, without a personal org); an
// existing user must be signed in as the invited address. The token works
// once.
func (s *Service) CompleteInvitation(ctx context.Context, ac *AuthContext, in CompleteInvitationInput) (SignIn, error) {
	if in.Token == "" {
		return SignIn{}, Invalid("token", "token is required.")
	}
	name, err := checkName("name", in.Name)
	if err != nil {
		return SignIn{}, err
	}
	if err := s.rateLimit(ctx, "code-ip:"+in.Meta.IP, ruleCodeIP); err != nil {
		return SignIn{}, err
	}
	if ac != nil && ac.Credential != CredentialSession {
		ac = nil // an API key signs nobody in
	}
	inv, err := s.Store.InvitationByToken(ctx, secret.Hash(in.Token))
	if errors.Is(err, ErrNotFound) || (err == nil && !s.now().Before(inv.ExpiresAt)) {
		return SignIn{}, errInvalidInvitation
	} else if err != nil {
		return SignIn{}, err
	}
	existing, err := s.Store.UserByEmail(ctx, inv.Email)
	switch {
	case errors.Is(err, ErrNotFound):
		return s.joinAsNewUser(ctx, inv, in, name)
	case err != nil:
		return SignIn{}, err
	}
	if err := checkEnabled(ctx, s.Store, existing.ID); err != nil {
		return SignIn{}, err
	}
	switch {
	case ac == nil:
		return SignIn{}, Errorf(CodeUnauthenticated, "Sign in as %s to accept this invitation.", inv.Email)
	case ac.User.ID != existing.ID:
		return SignIn{}, Errorf(CodeInvitationMismatch, "This invitation is for another email address. Sign in as that address to accept it.")
	}
	return s.joinAsExistingUser(ctx, ac, inv)
}

var errInvalidInvitation = Errorf(CodeInvalidToken, "This invitation is invalid, expired or already used.")

// consumeInvitation deletes the invitation inside tx; another request that
// consumed it first makes this one fail as an invalid token.
func (s *Service) consumeInvitation(ctx context.Context, tx Store, inv Invitation) error {
	cur, err := tx.InvitationByToken(ctx, inv.TokenHash)
	if errors.Is(err, ErrNotFound) || (err == nil && cur.ID != inv.ID) {
		return errInvalidInvitation
	} else if err != nil {
		return err
	}
	if err := tx.DeleteInvitation(ctx, inv.OrgID, inv.ID); errors.Is(err, ErrNotFound) {
		return errInvalidInvitation
	} else if err != nil {
		return err
	}
	return nil
}

func (s *Service) joinAsNewUser(ctx context.Context, inv Invitation, in CompleteInvitationInput, name string) (SignIn, error) {
	if in.Password == "" {
		return SignIn{}, Invalid("password", "Choose a password to create your account.")
	}
	if err := checkPassword("password", in.Password); err != nil {
		return SignIn{}, err
	}
	if err := s.requireNoSSO(ctx, inv.Email); err != nil {
		return SignIn{}, err
	}
	hash, err := s.Config.Password.Hash(in.Password)
	if err != nil {
		return SignIn{}, err
	}
	now := s.now()
	u := User{ID: secret.ID("usr_"), Email: inv.Email, EmailVerified: true, Name: name, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	var out SignIn
	err = s.Store.Tx(ctx, func(tx Store) error {
		if err := s.consumeInvitation(ctx, tx, inv); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, u); errors.Is(err, ErrConflict) {
			return Errorf(CodeEmailTaken, "An account with this email already exists. Sign in to accept the invitation.")
		} else if err != nil {
			return err
		}
		if err := s.emitUser(ctx, tx, EventUserCreated, u); err != nil {
			return err
		}
		m := Membership{UserID: u.ID, OrgID: inv.OrgID, Role: inv.Role, CreatedAt: now}
		if err := tx.CreateMembership(ctx, m); err != nil {
			return err
		}
		if err := s.emitMember(ctx, tx, EventMemberAdded, m, ""); err != nil {
			return err
		}
		out, err = s.startSession(ctx, tx, u, inv.OrgID, in.Meta, now, viaPassword)
		return err
	})
	if err != nil {
		return SignIn{}, err
	}
	out.Created = true
	s.audit(ctx, AuditEvent{ActorID: u.ID, OrgID: inv.OrgID, Action: "user.registered", Target: u.ID, IP: in.Meta.IP, UserAgent: in.Meta.UserAgent,
		Data: jsonData(map[string]string{"invitation": inv.ID})})
	s.audit(ctx, AuditEvent{ActorID: u.ID, OrgID: inv.OrgID, Action: "org.invitation_accepted", Target: inv.ID, IP: in.Meta.IP, UserAgent: in.Meta.UserAgent,
		Data: jsonData(map[string]string{"role": string(inv.Role)})})
	s.track(u.ID, "signup_completed", map[string]any{"method": "invitation"})
	return out, nil
}

// joinAsExistingUser adds the membership (kept as is if the user already
// belongs to the org) and moves the caller's session to the org.
func (s *Service) joinAsExistingUser(ctx context.Context, ac *AuthContext, inv Invitation) (SignIn, error) {
	var out SignIn
	err := s.Store.Tx(ctx, func(tx Store) error {
		if err := s.consumeInvitation(ctx, tx, inv); err != nil {
			return err
		}
		now := s.now()
		if _, err := tx.Membership(ctx, ac.User.ID, inv.OrgID); errors.Is(err, ErrNotFound) {
			m := Membership{UserID: ac.User.ID, OrgID: inv.OrgID, Role: inv.Role, CreatedAt: now}
			if err := tx.CreateMembership(ctx, m); err != nil {
				return err
			}
			if err := s.emitMember(ctx, tx, EventMemberAdded, m, ""); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, ac.User.ID)
		if err != nil {
			return err
		}
		if !u.EmailVerified { // the link proved the mailbox
			u.EmailVerified, u.UpdatedAt = true, now
			if err := tx.UpdateUser(ctx, u); err != nil {
				return err
			}
			if err := s.emitUser(ctx, tx, EventUserUpdated, u); err != nil {
				return err
			}
		}
		ses, err := tx.SessionByID(ctx, ac.SessionID)
		if err != nil {
			return err
		}
		ses.OrgID, ses.LastSeenAt = inv.OrgID, now
		if err := tx.UpdateSession(ctx, ses); err != nil {
			return err
		}
		out, err = s.issueTokens(ctx, tx, u, ses, "", now)
		return err
	})
	if err != nil {
		return SignIn{}, err
	}
	s.audit(ctx, AuditEvent{ActorID: ac.User.ID, OrgID: inv.OrgID, Action: "org.invitation_accepted", Target: inv.ID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent,
		Data: jsonData(map[string]string{"role": string(inv.Role)})})
	return out, nil
}

// actorID names who acts: the user of a session, or the API key.
func actorID(ac *AuthContext) string {
	if ac.User != nil {
		return ac.User.ID
	}
	return ac.APIKeyID
}
