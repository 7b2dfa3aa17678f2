package latchkey

// The events of webhooks (contract §9). Flows record them with emit, in
// the transaction of the change they describe: the outbox row commits or
// rolls back with the change, so a committed change always has its event
// and a rolled-back one never does, whatever instant the process dies at.

import (
	"context"
	"encoding/json"
	"time"

	"github.com/latchkey/latchkey/secret"
)

// Event types.
const (
	EventUserCreated          = "user.created"
	EventUserUpdated          = "user.updated"
	EventUserDeleted          = "user.deleted"
	EventUserDisabled         = "user.disabled"
	EventUserEnabled          = "user.enabled"
	EventSessionCreated       = "session.created"
	EventSessionRevoked       = "session.revoked"
	EventOrgCreated           = "org.created"
	EventOrgDeleted           = "org.deleted"
	EventMemberAdded          = "org.member.added"
	EventMemberRemoved        = "org.member.removed"
	EventMemberRoleChanged    = "org.member.role_changed"
	EventMFAEnrolled          = "mfa.enrolled"
	EventMFARemoved           = "mfa.removed"
	EventAPIKeyCreated        = "api_key.created"
	EventAPIKeyRevoked        = "api_key.revoked"
	EventSSOConnectionCreated = "sso_connection.created"
	EventSSOConnectionDeleted = "sso_connection.deleted"
	EventWebhookTest          = "webhook.test"
)

// Reasons of session.revoked.
const (
	revokedLogout   = "logout"
	revokedByUser   = "revoked_by_user"
	revokedPassword = "password_change"
	revokedReset    = "password_reset"
	revokedReuse    = "reuse_detected"
	revokedAdmin    = "admin"
	revokedDisabled = "account_disabled"
)

// EventTypes lists every event type, in the contract's order.
var EventTypes = []string{
	EventUserCreated, EventUserUpdated, EventUserDeleted, EventUserDisabled, EventUserEnabled,
	EventSessionCreated, EventSessionRevoked, EventOrgCreated, EventOrgDeleted,
	EventMemberAdded, EventMemberRemoved, EventMemberRoleChanged, EventMFAEnrolled, EventMFARemoved,
	EventAPIKeyCreated, EventAPIKeyRevoked, EventSSOConnectionCreated, EventSSOConnectionDeleted, EventWebhookTest,
}

// Event is one row of the outbox.
type Event struct {
	ID        string // msg_…: the webhook-id of every delivery of it
	Type      string
	Subject   string // the user (or org) whose events are kept in order
	Payload   []byte // {"type","timestamp","data"}, exactly as sent
	CreatedAt time.Time
}

// newEvent builds an event of typ about subject.
func (s *Service) newEvent(typ, subject string, data any) (Event, error) {
	now := s.now()
	body, err := json.Marshal(struct {
		Type      string    `json:"type"`
		Timestamp time.Time `json:"timestamp"`
		Data      any       `json:"data"`
	}{typ, now, data})
	if err != nil {
		return Event{}, err
	}
	return Event{ID: secret.ID("msg_"), Type: typ, Subject: subject, Payload: body, CreatedAt: now}, nil
}

// emit records an event in tx, the transaction of the change itself.
func (s *Service) emit(ctx context.Context, tx Store, typ, subject string, data any) error {
	e, err := s.newEvent(typ, subject, data)
	if err != nil {
		return err
	}
	return tx.AddEvent(ctx, e, "")
}

// The data of events: public fields and ids, never a secret.

// eventUser is the user object of §4.
type eventUser struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Name          string    `json:"name"`
	HasPassword   bool      `json:"has_password"`
	CreatedAt     time.Time `json:"created_at"`
}

func userEvent(u User) any {
	return map[string]any{"user": eventUser{u.ID, u.Email, u.EmailVerified, u.Name, u.HasPassword(), u.CreatedAt}}
}

// emitUser records a user.* event about u.
func (s *Service) emitUser(ctx context.Context, tx Store, typ string, u User) error {
	return s.emit(ctx, tx, typ, u.ID, userEvent(u))
}

func (s *Service) emitSessionCreated(ctx context.Context, tx Store, ses Session) error {
	return s.emit(ctx, tx, EventSessionCreated, ses.UserID, map[string]any{"session": map[string]any{
		"id": ses.ID, "user_id": ses.UserID, "org_id": ses.OrgID, "aal": ses.AAL, "amr": ses.AMR,
		"created_at": ses.CreatedAt, "expires_at": ses.ExpiresAt, "ip": ses.IP, "user_agent": ses.UserAgent,
	}})
}

func (s *Service) emitSessionRevoked(ctx context.Context, tx Store, ses Session, reason string) error {
	return s.emit(ctx, tx, EventSessionRevoked, ses.UserID, map[string]any{
		"session_id": ses.ID, "user_id": ses.UserID, "org_id": ses.OrgID, "reason": reason,
	})
}

// revokeSessionsOf revokes every live session of a user but keep inside
// tx, with one session.revoked event each.
func (s *Service) revokeSessionsOf(ctx context.Context, tx Store, userID, keep, reason string, now time.Time) (int, error) {
	list, err := tx.ActiveSessions(ctx, userID, now)
	if err != nil {
		return 0, err
	}
	if err := tx.RevokeUserSessions(ctx, userID, keep, now); err != nil {
		return 0, err
	}
	n := 0
	for _, ses := range list {
		if ses.ID == keep {
			continue
		}
		if err := s.emitSessionRevoked(ctx, tx, ses, reason); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

func (s *Service) emitOrg(ctx context.Context, tx Store, typ string, o Org) error {
	return s.emit(ctx, tx, typ, o.ID, map[string]any{"org": map[string]any{
		"id": o.ID, "name": o.Name, "slug": o.Slug, "created_at": o.CreatedAt,
	}})
}

// deleteOrg deletes an org inside tx, with its org.deleted event.
func (s *Service) deleteOrg(ctx context.Context, tx Store, id string) error {
	o, err := tx.OrgByID(ctx, id)
	if err != nil {
		return err
	}
	if err := tx.DeleteOrg(ctx, id); err != nil {
		return err
	}
	return s.emitOrg(ctx, tx, EventOrgDeleted, o)
}

func (s *Service) emitMember(ctx context.Context, tx Store, typ string, m Membership, previous Role) error {
	data := map[string]any{"org_id": m.OrgID, "user_id": m.UserID, "role": m.Role}
	if previous != "" {
		data["previous_role"] = previous
	}
	return s.emit(ctx, tx, typ, m.UserID, data)
}

func (s *Service) emitFactor(ctx context.Context, tx Store, typ string, f MFAFactor) error {
	return s.emit(ctx, tx, typ, f.UserID, map[string]any{"user_id": f.UserID, "factor": map[string]any{
		"id": f.ID, "type": f.Type, "name": f.Name, "created_at": f.CreatedAt,
	}})
}

func (s *Service) emitAPIKey(ctx context.Context, tx Store, typ string, k APIKey) error {
	return s.emit(ctx, tx, typ, k.OrgID, map[string]any{"org_id": k.OrgID, "api_key": map[string]any{
		"id": k.ID, "name": k.Name, "prefix": k.Prefix, "scopes": k.Scopes, "created_by": k.CreatedBy, "created_at": k.CreatedAt,
	}})
}

func (s *Service) emitSSOConnection(ctx context.Context, tx Store, typ string, c SSOConnection) error {
	return s.emit(ctx, tx, typ, c.OrgID, map[string]any{"org_id": c.OrgID, "sso_connection": map[string]any{
		"id": c.ID, "protocol": c.Protocol, "domains": c.Domains, "enforced": c.Enforced,
	}})
}
