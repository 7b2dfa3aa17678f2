package latchkey

// Operators: the instance's own administration (contract §8).
//
// Names other areas reuse (webhooks' admin.webhooks.*, hardening's
// admin.sso_domains.verify):
//
//   - AuthenticateAdmin(ctx, bearer) turns an operator credential into an
//     AuthContext: an admin key (Credential == CredentialAdminKey,
//     AdminKeyID set, User nil) or an aal2 session of a user whose instance
//     role is operator (Credential == CredentialOperator, User and
//     SessionID set). The server's auth kind authAdmin calls it; nothing
//     else accepts these credentials, and Authenticate refuses admin keys.
//   - RequireOperator(ac) is the domain's own guard: call it first in every
//     admin flow, so a flow cannot be reached with a lesser credential even
//     if a route is declared with the wrong auth kind.
//   - ac.OperatorID() is the actor of an admin action: the admin key's id
//     (adm_…) or the operator's user id (usr_…).
//   - s.auditAdmin(ctx, ac, action, target, orgID, data) writes the
//     AuditEvent every admin.* call owes, naming the operator.
//
// Admin keys and the operator role are managed only from the command line
// against the database (CreateAdminKey, AdminKeys, RevokeAdminKey,
// SetOperator, Operators): no API operation can mint an operator.

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/secret"
)

// AdminKeyPrefix starts every admin key; sk_admin_ is not sk_live_, so an
// admin key is never mistaken for an org's API key.
const AdminKeyPrefix = "sk_admin_"

// Credential kinds of operators.
const (
	CredentialAdminKey = "admin_key"
	CredentialOperator = "operator_session"
)

// InstanceRoleOperator is the instance role of an operator account.
const InstanceRoleOperator = "operator"

// AdminKey is an admin key record. Only the hash of the secret is kept.
type AdminKey struct {
	ID         string
	Name       string
	Prefix     string // the first characters of the secret, for display
	SecretHash string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used
	RevokedAt  time.Time // zero while the key works
}

// AdminStore is the storage of operator credentials.
type AdminStore interface {
	AdminUserStore
	AdminOrgStore
	CreateAdminKey(ctx context.Context, k AdminKey) error
	// AdminKeyByHash finds a key, revoked or not, by the hash of its secret.
	AdminKeyByHash(ctx context.Context, secretHash string) (AdminKey, error)
	// AdminKeys lists every admin key, oldest first.
	AdminKeys(ctx context.Context) ([]AdminKey, error)
	// RevokeAdminKey marks a live key revoked; ErrNotFound when there is
	// no live key with that id.
	RevokeAdminKey(ctx context.Context, id string, at time.Time) error
	// TouchAdminKey sets last_used_at as TouchAPIKey does.
	TouchAdminKey(ctx context.Context, id string, at, staleBefore time.Time) error
	// InstanceRole reads a user's instance role ("" or "operator").
	InstanceRole(ctx context.Context, userID string) (string, error)
	// SetInstanceRole writes it; ErrNotFound for an unknown user.
	SetInstanceRole(ctx context.Context, userID, role string) error
	// UsersWithInstanceRole lists the users holding role, oldest first.
	UsersWithInstanceRole(ctx context.Context, role string) ([]User, error)
}

var (
	errAdminForbidden = Errorf(CodeForbidden, "This operation is for the instance's operators: use an admin key or an operator's session.")
	errOperatorAAL    = Errorf(CodeMFARequired, "Operators must sign in with a second factor (aal2) to use the admin API.")
)

// OperatorID names the operator behind ac: the admin key's id or the
// operator's user id; empty when ac is no operator credential.
func (ac *AuthContext) OperatorID() string {
	switch {
	case ac == nil:
		return ""
	case ac.Credential == CredentialAdminKey:
		return ac.AdminKeyID
	case ac.Credential == CredentialOperator && ac.User != nil:
		return ac.User.ID
	}
	return ""
}

// RequireOperator fails unless ac is an operator credential.
func RequireOperator(ac *AuthContext) error {
	if ac == nil {
		return errNoSession
	}
	if ac.OperatorID() == "" {
		return errAdminForbidden
	}
	return nil
}

// AuthenticateAdmin checks an operator credential (see the file comment).
// An invalid credential of any kind is 401 invalid_token; a valid one that
// is not an operator's is 403 forbidden; an operator's session below aal2
// is 403 mfa_required.
func (s *Service) AuthenticateAdmin(ctx context.Context, bearer string) (*AuthContext, error) {
	if strings.HasPrefix(bearer, AdminKeyPrefix) {
		return s.authenticateAdminKey(ctx, bearer)
	}
	ac, err := s.Authenticate(ctx, bearer)
	if err != nil {
		return nil, err
	}
	if ac.Credential != CredentialSession || ac.User == nil {
		return nil, errAdminForbidden // an org's API key
	}
	role, err := s.Store.InstanceRole(ctx, ac.User.ID)
	if errors.Is(err, ErrNotFound) {
		return nil, errBadToken
	} else if err != nil {
		return nil, err
	}
	if role != InstanceRoleOperator {
		return nil, errAdminForbidden
	}
	if ac.AAL != "aal2" {
		return nil, errOperatorAAL
	}
	ac.Credential = CredentialOperator
	return ac, nil
}

func (s *Service) authenticateAdminKey(ctx context.Context, key string) (*AuthContext, error) {
	k, err := s.adminKey(ctx, key)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if now.Sub(k.LastUsedAt) >= lastUsedResolution {
		if err := s.Store.TouchAdminKey(ctx, k.ID, now, now.Add(-lastUsedResolution)); err != nil {
			s.Logger.WarnContext(ctx, "admin key last_used_at not updated", "key", k.ID, "err", err)
		}
	}
	return &AuthContext{Credential: CredentialAdminKey, AdminKeyID: k.ID}, nil
}

// adminKey finds the live admin key whose secret is key.
func (s *Service) adminKey(ctx context.Context, key string) (AdminKey, error) {
	if !strings.HasPrefix(key, AdminKeyPrefix) || len(key) > 128 {
		return AdminKey{}, errBadToken
	}
	k, err := s.Store.AdminKeyByHash(ctx, secret.Hash(key))
	if errors.Is(err, ErrNotFound) {
		return AdminKey{}, errBadToken
	} else if err != nil {
		return AdminKey{}, err
	}
	if !k.RevokedAt.IsZero() {
		return AdminKey{}, errBadToken
	}
	return k, nil
}

// refuseAdminKey answers an admin key presented outside admin.*: a live
// one is the wrong kind of credential, anything else an invalid token.
func (s *Service) refuseAdminKey(ctx context.Context, key string) error {
	if _, err := s.adminKey(ctx, key); err != nil {
		return err
	}
	return Errorf(CodeWrongCredentialKind, "An admin key works only on admin.* operations.")
}

// CreateAdminKey mints an admin key (command line only). The secret is
// returned once and never stored.
func (s *Service) CreateAdminKey(ctx context.Context, name string) (AdminKey, secret.Value, error) {
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > 100 || strings.ContainsFunc(name, isControl) {
		return AdminKey{}, "", Invalid("name", "An admin key needs a name of 1 to 100 printable characters.")
	}
	key := secret.Token(AdminKeyPrefix)
	k := AdminKey{
		ID: secret.ID("adm_"), Name: name, Prefix: key[:len(AdminKeyPrefix)+4],
		SecretHash: secret.Hash(key), CreatedAt: s.now(),
	}
	if err := s.Store.CreateAdminKey(ctx, k); err != nil {
		return AdminKey{}, "", err
	}
	s.audit(ctx, AuditEvent{ActorID: "cli", Action: "admin.key.created", Target: k.ID, Data: jsonData(map[string]any{"name": name})})
	return k, secret.Value(key), nil
}

// AdminKeys lists every admin key, revoked ones included.
func (s *Service) AdminKeys(ctx context.Context) ([]AdminKey, error) {
	return s.Store.AdminKeys(ctx)
}

// RevokeAdminKey revokes a key: its next request is 401 on every node.
func (s *Service) RevokeAdminKey(ctx context.Context, id string) error {
	if err := s.Store.RevokeAdminKey(ctx, strings.TrimSpace(id), s.now()); err != nil {
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeNotFound, "No live admin key has the id %q.", truncate(id, 40))
		}
		return err
	}
	s.audit(ctx, AuditEvent{ActorID: "cli", Action: "admin.key.revoked", Target: id})
	return nil
}

// SetOperator grants (on) or withdraws the operator role of the account
// with this email. Withdrawing it takes effect on the next request.
func (s *Service) SetOperator(ctx context.Context, email string, on bool) (User, error) {
	email, err := NormalizeEmail("email", email)
	if err != nil {
		return User{}, err
	}
	u, err := s.Store.UserByEmail(ctx, email)
	if errors.Is(err, ErrNotFound) {
		return User{}, Errorf(CodeNotFound, "No account has the email %s.", email)
	} else if err != nil {
		return User{}, err
	}
	role, action := InstanceRoleOperator, "admin.operator.added"
	if !on {
		role, action = "", "admin.operator.removed"
	}
	if err := s.Store.SetInstanceRole(ctx, u.ID, role); err != nil {
		return User{}, err
	}
	s.audit(ctx, AuditEvent{ActorID: "cli", Action: action, Target: u.ID})
	return u, nil
}

// Operators lists the operator accounts.
func (s *Service) Operators(ctx context.Context) ([]User, error) {
	return s.Store.UsersWithInstanceRole(ctx, InstanceRoleOperator)
}

// auditAdmin records an admin action, naming the operator as the actor.
func (s *Service) auditAdmin(ctx context.Context, ac *AuthContext, action, target, orgID string, data map[string]any) {
	if data == nil {
		data = map[string]any{}
	}
	data["actor_kind"] = actorKind(ac)
	s.audit(ctx, AuditEvent{
		ActorID: ac.OperatorID(), OrgID: orgID, Action: action, Target: target,
		IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent, Data: jsonData(data),
	})
}

func actorKind(ac *AuthContext) string {
	if ac.Credential == CredentialAdminKey {
		return "admin_key"
	}
	return "operator"
}
