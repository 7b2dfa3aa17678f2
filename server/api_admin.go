package server

import (
	"time"

	"github.com/latchkey/latchkey"
)

// Operators' API (contract §8). Every operation here is declared with
// authAdmin: an admin key (sk_admin_…) or an aal2 operator session, and
// nothing else; see latchkey.AuthenticateAdmin.

// adminUserJSON is a user as operators see it.
type adminUserJSON struct {
	userJSON
	Disabled       bool       `json:"disabled"`
	DisabledAt     *time.Time `json:"disabled_at"`
	DisabledReason string     `json:"disabled_reason"`
	Operator       bool       `json:"operator"`
	LastSignInAt   *time.Time `json:"last_sign_in_at"`
	MFAEnrolled    bool       `json:"mfa_enrolled"`
}

func toAdminUserJSON(u latchkey.AdminUser) adminUserJSON {
	return adminUserJSON{
		userJSON: toUserJSON(u.User), Disabled: u.Disabled(), DisabledAt: optTime(u.DisabledAt),
		DisabledReason: u.Reason, Operator: u.InstanceRole == latchkey.InstanceRoleOperator,
		LastSignInAt: optTime(u.LastSignInAt), MFAEnrolled: u.MFAEnrolled,
	}
}

// optTime is nil for the zero time, so JSON says null rather than year 1.
func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

type adminMembershipJSON struct {
	OrgID   string `json:"org_id"`
	OrgName string `json:"org_name"`
	Role    string `json:"role"`
}

type adminIdentityJSON struct {
	Provider  string    `json:"provider"`
	Subject   string    `json:"subject"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"created_at"`
}

type adminFactorJSON struct {
	ID        string    `json:"id"`
	Type      string    `json:"type"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

type adminSessionJSON struct {
	ID         string    `json:"id"`
	OrgID      string    `json:"org_id"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
}

type adminUserDetailJSON struct {
	User        adminUserJSON         `json:"user"`
	Memberships []adminMembershipJSON `json:"memberships"`
	Identities  []adminIdentityJSON   `json:"identities"`
	Passkeys    int                   `json:"passkeys"`
	Factors     []adminFactorJSON     `json:"factors"`
	Sessions    []adminSessionJSON    `json:"sessions"`
}

func toAdminUserDetailJSON(d latchkey.AdminUserDetail) adminUserDetailJSON {
	out := adminUserDetailJSON{
		User: toAdminUserJSON(d.User), Passkeys: d.Passkeys,
		Memberships: []adminMembershipJSON{}, Identities: []adminIdentityJSON{},
		Factors: []adminFactorJSON{}, Sessions: []adminSessionJSON{},
	}
	for _, m := range d.Memberships {
		out.Memberships = append(out.Memberships, adminMembershipJSON{m.OrgID, m.OrgName, string(m.Role)})
	}
	for _, i := range d.Identities {
		out.Identities = append(out.Identities, adminIdentityJSON{i.Provider, i.Subject, i.Email, i.CreatedAt})
	}
	for _, f := range d.Factors {
		out.Factors = append(out.Factors, adminFactorJSON{f.ID, f.Type, f.Name, f.CreatedAt})
	}
	for _, x := range d.Sessions {
		out.Sessions = append(out.Sessions, adminSessionJSON{x.ID, x.OrgID, x.CreatedAt, x.LastSeenAt, x.ExpiresAt, x.IP, x.UserAgent})
	}
	return out
}

type adminUserIDRequest struct {
	UserID string `json:"user_id"`
}

type adminDisableRequest struct {
	UserID string `json:"user_id"`
	Reason string `json:"reason,omitempty"`
}

type adminUserResponse struct {
	User adminUserJSON `json:"user"`
}

type adminUsersListRequest struct {
	Query    string `json:"query,omitempty"`
	OrgID    string `json:"org_id,omitempty"`
	Disabled *bool  `json:"disabled,omitempty"`
	Cursor   string `json:"cursor,omitempty"`
	Limit    int    `json:"limit,omitempty"`
}

type adminUsersPage struct {
	Users      []adminUserJSON `json:"users"`
	NextCursor *string         `json:"next_cursor"`
}

type adminDeleteRequest struct {
	UserID string `json:"user_id"`
	Force  bool   `json:"force,omitempty"`
}

type revokedResponse struct {
	Revoked int `json:"revoked"`
}

type mfaResetResponse struct {
	FactorsRemoved int `json:"factors_removed"`
}

type adminOrgJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Slug      string    `json:"slug"`
	CreatedAt time.Time `json:"created_at"`
	Members   int       `json:"member_count"`
}

func toAdminOrgJSON(o latchkey.AdminOrg) adminOrgJSON {
	return adminOrgJSON{o.ID, o.Name, o.Slug, o.CreatedAt, o.Members}
}

type adminOrgsListRequest struct {
	Query  string `json:"query,omitempty"`
	Cursor string `json:"cursor,omitempty"`
	Limit  int    `json:"limit,omitempty"`
}

type adminOrgsPage struct {
	Orgs       []adminOrgJSON `json:"orgs"`
	NextCursor *string        `json:"next_cursor"`
}

type adminOrgIDRequest struct {
	OrgID string `json:"org_id"`
}

// adminOrgDetailJSON is admin.orgs.get. Domains gathers every
// connection's domains with their proof, as the console shows them.
type adminOrgDetailJSON struct {
	Org            adminOrgJSON             `json:"org"`
	Members        []memberJSON             `json:"members"`
	SSOConnections []ssoConnectionJSON      `json:"sso_connections"`
	Domains        []domainVerificationJSON `json:"domains"`
	Settings       orgSettingsJSON          `json:"settings"`
}

func (s *Server) toAdminOrgDetailJSON(d latchkey.AdminOrgDetail) adminOrgDetailJSON {
	out := adminOrgDetailJSON{
		Org: toAdminOrgJSON(d.Org), Members: []memberJSON{}, SSOConnections: []ssoConnectionJSON{},
		Domains: []domainVerificationJSON{}, Settings: orgSettingsJSON{d.Settings.RequireMFA},
	}
	for _, m := range d.Members {
		out.Members = append(out.Members, toMemberJSON(m))
	}
	for _, c := range d.SSOConnections {
		j := s.toSSOConnectionJSON(c)
		out.SSOConnections = append(out.SSOConnections, j)
		out.Domains = append(out.Domains, j.DomainVerifications...)
	}
	return out
}

// nextCursor is next_cursor: null on the last page.
func nextCursor(c string) *string {
	if c == "" {
		return nil
	}
	return &c
}

func (s *Server) adminOps() []operation {
	return []operation{
		rpc("admin.users.list", authAdmin, "Users newest first, by email prefix or id, org and disabled state, a page at a time (operators).",
			func(c *call, req adminUsersListRequest) (adminUsersPage, error) {
				list, next, err := s.svc.AdminListUsers(c.ctx, c.auth, latchkey.AdminUserQuery{
					Query: req.Query, OrgID: req.OrgID, Disabled: req.Disabled, Cursor: req.Cursor, Limit: req.Limit})
				out := adminUsersPage{Users: []adminUserJSON{}, NextCursor: nextCursor(next)}
				for _, u := range list {
					out.Users = append(out.Users, toAdminUserJSON(u))
				}
				return out, err
			}),
		rpc("admin.users.get", authAdmin, "A user with memberships, identities, passkeys, factors and live sessions (operators).",
			func(c *call, req adminUserIDRequest) (adminUserDetailJSON, error) {
				d, err := s.svc.AdminGetUser(c.ctx, c.auth, req.UserID)
				if err != nil {
					return adminUserDetailJSON{}, err
				}
				return toAdminUserDetailJSON(d), nil
			}),
		rpc("admin.users.disable", authAdmin, "Disable an account: its sessions end at once and every sign-in answers 403 account_disabled (operators).",
			func(c *call, req adminDisableRequest) (adminUserResponse, error) {
				u, err := s.svc.AdminDisableUser(c.ctx, c.auth, req.UserID, req.Reason)
				return adminUserResponse{toAdminUserJSON(u)}, err
			}),
		rpc("admin.users.enable", authAdmin, "Enable a disabled account again; its old sessions stay revoked (operators).",
			func(c *call, req adminDisableRequest) (adminUserResponse, error) {
				u, err := s.svc.AdminEnableUser(c.ctx, c.auth, req.UserID, req.Reason)
				return adminUserResponse{toAdminUserJSON(u)}, err
			}),
		rpc("admin.users.revoke_sessions", authAdmin, "End every live session of a user, on every node (operators).",
			func(c *call, req adminUserIDRequest) (revokedResponse, error) {
				n, err := s.svc.AdminRevokeSessions(c.ctx, c.auth, req.UserID)
				return revokedResponse{n}, err
			}),
		rpc("admin.users.mfa.reset", authAdmin, "Delete a user's authenticator-app factors and recovery codes, and tell them by email (operators).",
			func(c *call, req adminUserIDRequest) (mfaResetResponse, error) {
				n, err := s.svc.AdminResetMFA(c.ctx, c.auth, req.UserID)
				return mfaResetResponse{n}, err
			}),
		rpc("admin.users.delete", authAdmin, "Delete an account as auth.account.delete does, without its password; force hands the orgs it owns alone to their next admin or member (operators).",
			func(c *call, req adminDeleteRequest) (empty, error) {
				return empty{}, s.svc.AdminDeleteUser(c.ctx, c.auth, req.UserID, req.Force)
			}),
		rpc("admin.orgs.list", authAdmin, "Orgs newest first with their member counts, by id or name prefix, a page at a time (operators).",
			func(c *call, req adminOrgsListRequest) (adminOrgsPage, error) {
				list, next, err := s.svc.AdminListOrgs(c.ctx, c.auth, req.Query, req.Cursor, req.Limit)
				out := adminOrgsPage{Orgs: []adminOrgJSON{}, NextCursor: nextCursor(next)}
				for _, o := range list {
					out.Orgs = append(out.Orgs, toAdminOrgJSON(o))
				}
				return out, err
			}),
		rpc("admin.orgs.get", authAdmin, "An org with its members, SSO connections, domains and settings (operators).",
			func(c *call, req adminOrgIDRequest) (adminOrgDetailJSON, error) {
				d, err := s.svc.AdminGetOrg(c.ctx, c.auth, req.OrgID)
				if err != nil {
					return adminOrgDetailJSON{}, err
				}
				return s.toAdminOrgDetailJSON(d), nil
			}),
	}
}
