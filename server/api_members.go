package server

import (
	"time"

	"github.com/latchkey/latchkey"
)

type memberJSON struct {
	UserID    string    `json:"user_id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
}

func toMemberJSON(m latchkey.Member) memberJSON {
	return memberJSON{UserID: m.UserID, Email: m.Email, Name: m.Name, Role: string(m.Role), CreatedAt: m.CreatedAt}
}

type membersJSON struct {
	Members []memberJSON `json:"members"`
}

type memberResponse struct {
	Member memberJSON `json:"member"`
}

type updateRoleRequest struct {
	UserID string `json:"user_id"`
	Role   string `json:"role"`
}

type memberIDRequest struct {
	UserID string `json:"user_id"`
}

type invitationJSON struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
}

func toInvitationJSON(inv latchkey.Invitation) invitationJSON {
	return invitationJSON{ID: inv.ID, Email: inv.Email, Role: string(inv.Role), ExpiresAt: inv.ExpiresAt, CreatedAt: inv.CreatedAt}
}

type createInvitationRequest struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

type invitationResponse struct {
	Invitation invitationJSON `json:"invitation"`
}

type invitationsJSON struct {
	Invitations []invitationJSON `json:"invitations"`
}

type invitationIDRequest struct {
	ID string `json:"id"`
}

type completeInvitationRequest struct {
	Token    string `json:"token"`
	Password string `json:"password,omitempty"`
	Name     string `json:"name,omitempty"`
}

func (s *Server) orgMemberOps() []operation {
	return []operation{
		rpc("org.members.list", authAny, "The members of the caller's organization (owners and admins, or a key with org:admin).",
			func(c *call, _ empty) (membersJSON, error) {
				ms, err := s.svc.ListMembers(c.ctx, c.auth)
				out := membersJSON{Members: []memberJSON{}}
				for _, m := range ms {
					out.Members = append(out.Members, toMemberJSON(m))
				}
				return out, err
			}).read(),
		rpc("org.members.update_role", authAny, "Change a member's role. An org keeps at least one owner; nobody raises their own role.",
			func(c *call, req updateRoleRequest) (memberResponse, error) {
				m, err := s.svc.UpdateMemberRole(c.ctx, c.auth, req.UserID, latchkey.Role(req.Role))
				return memberResponse{Member: toMemberJSON(m)}, err
			}),
		rpc("org.members.remove", authAny, "Remove a member from the organization; the last owner stays.",
			func(c *call, req memberIDRequest) (empty, error) {
				return empty{}, s.svc.RemoveMember(c.ctx, c.auth, req.UserID)
			}),
		rpc("org.invitations.create", authAny, "Invite an email address with a role; the link travels only by email.",
			func(c *call, req createInvitationRequest) (invitationResponse, error) {
				inv, err := s.svc.CreateInvitation(c.ctx, c.auth, req.Email, latchkey.Role(req.Role))
				return invitationResponse{Invitation: toInvitationJSON(inv)}, err
			}),
		rpc("org.invitations.list", authAny, "The organization's pending invitations.",
			func(c *call, _ empty) (invitationsJSON, error) {
				list, err := s.svc.ListInvitations(c.ctx, c.auth)
				out := invitationsJSON{Invitations: []invitationJSON{}}
				for _, inv := range list {
					out.Invitations = append(out.Invitations, toInvitationJSON(inv))
				}
				return out, err
			}).read(),
		rpc("org.invitations.revoke", authAny, "Revoke a pending invitation; its link stops working.",
			func(c *call, req invitationIDRequest) (empty, error) {
				return empty{}, s.svc.RevokeInvitation(c.ctx, c.auth, req.ID)
			}),
		rpc("auth.complete_invitation", authOptional, "Accept an invitation: a new address creates the user (password required); an existing user must be signed in as it. Sets session in the org.",
			func(c *call, req completeInvitationRequest) (sessionJSON, error) {
				in, err := s.svc.CompleteInvitation(c.ctx, c.auth, latchkey.CompleteInvitationInput{
					Token: req.Token, Password: req.Password, Name: req.Name, Meta: c.meta,
				})
				if err != nil {
					return sessionJSON{}, tokenError400(err)
				}
				return c.startSession(in), nil
			}),
	}
}
