package client

import (
	"context"
	"encoding/json"
	"time"
)

// The operators' API (contract §8). A client whose Token is an admin key
// (sk_admin_…) or an aal2 operator's session may call these.

// AdminUser is a user as admin.users.* shows it.
type AdminUser struct {
	User
	Disabled       bool       `json:"disabled"`
	DisabledAt     *time.Time `json:"disabled_at"`
	DisabledReason string     `json:"disabled_reason"`
	Operator       bool       `json:"operator"`
	LastSignInAt   *time.Time `json:"last_sign_in_at"`
	MFAEnrolled    bool       `json:"mfa_enrolled"`
}

// AdminUserDetail is admin.users.get's answer.
type AdminUserDetail struct {
	User        AdminUser `json:"user"`
	Memberships []struct {
		OrgID   string `json:"org_id"`
		OrgName string `json:"org_name"`
		Role    string `json:"role"`
	} `json:"memberships"`
	Identities []struct {
		Provider  string    `json:"provider"`
		Subject   string    `json:"subject"`
		Email     string    `json:"email"`
		CreatedAt time.Time `json:"created_at"`
	} `json:"identities"`
	Passkeys int `json:"passkeys"`
	Factors  []struct {
		ID        string    `json:"id"`
		Type      string    `json:"type"`
		Name      string    `json:"name"`
		CreatedAt time.Time `json:"created_at"`
	} `json:"factors"`
	Sessions []struct {
		ID         string    `json:"id"`
		OrgID      string    `json:"org_id"`
		CreatedAt  time.Time `json:"created_at"`
		LastSeenAt time.Time `json:"last_seen_at"`
		ExpiresAt  time.Time `json:"expires_at"`
		IP         string    `json:"ip"`
		UserAgent  string    `json:"user_agent"`
	} `json:"sessions"`
}

// AdminUsersQuery is admin.users.list's request; zero fields do not filter.
type AdminUsersQuery struct {
	Query    string `json:"query,omitempty"`
	OrgID    string `json:"org_id,omitempty"`
	Disabled *bool  `json:"disabled,omitempty"`
	Cursor   string `json:"cursor,omitempty"`
	Limit    int    `json:"limit,omitempty"`
}

// AdminUsersPage is one page of admin.users.list; NextCursor is nil on
// the last.
type AdminUsersPage struct {
	Users      []AdminUser `json:"users"`
	NextCursor *string     `json:"next_cursor"`
}

// AdminListUsers is admin.users.list.
func (c *Client) AdminListUsers(ctx context.Context, q AdminUsersQuery) (*AdminUsersPage, error) {
	var out AdminUsersPage
	err := c.Call(ctx, "admin.users.list", q, &out)
	return &out, err
}

// AdminGetUser is admin.users.get.
func (c *Client) AdminGetUser(ctx context.Context, userID string) (*AdminUserDetail, error) {
	var out AdminUserDetail
	err := c.Call(ctx, "admin.users.get", map[string]string{"user_id": userID}, &out)
	return &out, err
}

// AdminDisableUser is admin.users.disable.
func (c *Client) AdminDisableUser(ctx context.Context, userID, reason string) (*AdminUser, error) {
	return c.adminUser(ctx, "admin.users.disable", userID, reason)
}

// AdminEnableUser is admin.users.enable.
func (c *Client) AdminEnableUser(ctx context.Context, userID, reason string) (*AdminUser, error) {
	return c.adminUser(ctx, "admin.users.enable", userID, reason)
}

func (c *Client) adminUser(ctx context.Context, op, userID, reason string) (*AdminUser, error) {
	var out struct {
		User AdminUser `json:"user"`
	}
	err := c.Call(ctx, op, map[string]string{"user_id": userID, "reason": reason}, &out)
	return &out.User, err
}

// AdminRevokeSessions is admin.users.revoke_sessions: how many it ended.
func (c *Client) AdminRevokeSessions(ctx context.Context, userID string) (int, error) {
	var out struct {
		Revoked int `json:"revoked"`
	}
	err := c.Call(ctx, "admin.users.revoke_sessions", map[string]string{"user_id": userID}, &out)
	return out.Revoked, err
}

// AdminResetMFA is admin.users.mfa.reset: how many factors it removed.
func (c *Client) AdminResetMFA(ctx context.Context, userID string) (int, error) {
	var out struct {
		FactorsRemoved int `json:"factors_removed"`
	}
	err := c.Call(ctx, "admin.users.mfa.reset", map[string]string{"user_id": userID}, &out)
	return out.FactorsRemoved, err
}

// AdminDeleteUser is admin.users.delete; force hands the orgs the user
// owns to their next admin or member.
func (c *Client) AdminDeleteUser(ctx context.Context, userID string, force bool) error {
	return c.Call(ctx, "admin.users.delete", map[string]any{"user_id": userID, "force": force}, nil)
}

// AuditEvent is an entry of the audit trail.
type AuditEvent struct {
	ID        string          `json:"id"`
	Time      time.Time       `json:"time"`
	ActorID   string          `json:"actor_id"`
	ActorKind string          `json:"actor_kind"`
	Action    string          `json:"action"`
	Target    string          `json:"target"`
	OrgID     string          `json:"org_id"`
	IP        string          `json:"ip"`
	UserAgent string          `json:"user_agent"`
	Data      json.RawMessage `json:"data"`
}

// AuditQuery is the request of admin.audit_events.list and
// org.audit_events.list; zero fields do not filter.
type AuditQuery struct {
	UserID string     `json:"user_id,omitempty"`
	OrgID  string     `json:"org_id,omitempty"`
	Action string     `json:"action,omitempty"`
	Since  *time.Time `json:"since,omitempty"`
	Until  *time.Time `json:"until,omitempty"`
	Cursor string     `json:"cursor,omitempty"`
	Limit  int        `json:"limit,omitempty"`
}

// AuditPage is one page of the audit trail, newest first.
type AuditPage struct {
	Events     []AuditEvent `json:"events"`
	NextCursor *string      `json:"next_cursor"`
}

// AdminAuditEvents is admin.audit_events.list: the instance's trail.
func (c *Client) AdminAuditEvents(ctx context.Context, q AuditQuery) (*AuditPage, error) {
	var out AuditPage
	err := c.Call(ctx, "admin.audit_events.list", q, &out)
	return &out, err
}
