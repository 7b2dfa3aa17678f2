package latchkey

import (
	"context"
	"time"
)

// Member is a membership with the member's email and name, as
// org.members.list shows it.
type Member struct {
	UserID    string
	Email     string
	Name      string
	Role      Role
	CreatedAt time.Time
}

// MemberStore is the storage behind org administration.
type MemberStore interface {
	// OrgMembers lists an org's members with their email and name, oldest first.
	OrgMembers(ctx context.Context, orgID string) ([]Member, error)
	// UpdateMembershipRole sets a member's role; ErrNotFound when absent.
	UpdateMembershipRole(ctx context.Context, userID, orgID string, role Role) error
	// DeleteMembership removes a member; ErrNotFound when absent.
	DeleteMembership(ctx context.Context, userID, orgID string) error
}

// ListMembers lists the caller's org's members: org.members.list.
func (s *Service) ListMembers(ctx context.Context, ac *AuthContext) ([]Member, error) {
	if err := RequireAdmin(ac); err != nil {
		return nil, err
	}
	ms, err := s.Store.OrgMembers(ctx, ac.Org.ID)
	if ms == nil {
		ms = []Member{}
	}
	return ms, err
}

// UpdateMemberRole changes a member's role: org.members.update_role. The
// guards: an org keeps at least one owner (last_owner); nobody raises
// their own role, grants a role above their own, or changes the role of
// someone above them (forbidden).
func (s *Service) UpdateMemberRole(ctx context.Context, ac *AuthContext, userID string, role Role) (Member, error) {
	if err := RequireAdmin(ac); err != nil {
		return Member{}, err
	}
	if userID == "" {
		return Member{}, Invalid("user_id", "user_id is required.")
	}
	if !role.Valid() {
		return Member{}, Invalid("role", "role must be owner, admin or member.")
	}
	var out Member
	var before Role
	err := s.Store.Tx(ctx, func(tx Store) error {
		target, owners, err := s.memberAndOwners(ctx, tx, ac.Org.ID, userID)
		if err != nil {
			return err
		}
		before = target.Role
		self := ac.User != nil && ac.User.ID == userID
		switch {
		case self && role.rank() > target.Role.rank():
			return Errorf(CodeForbidden, "You cannot raise your own role.")
		case role.rank() > ac.Role.rank():
			return Errorf(CodeForbidden, "You cannot grant a role above your own.")
		case !self && target.Role.rank() > ac.Role.rank():
			return Errorf(CodeForbidden, "You cannot change the role of someone above you.")
		case target.Role == RoleOwner && role != RoleOwner && owners == 1:
			return errLastOwner
		}
		if err := tx.UpdateMembershipRole(ctx, userID, ac.Org.ID, role); err != nil {
			return err
		}
		out = target
		out.Role = role
		if before == role {
			return nil
		}
		return s.emitMember(ctx, tx, EventMemberRoleChanged, Membership{UserID: userID, OrgID: ac.Org.ID, Role: role}, before)
	})
	if err != nil {
		return Member{}, err
	}
	if before != role {
		s.audit(ctx, AuditEvent{ActorID: actorID(ac), OrgID: ac.Org.ID, Action: "org.member_role_changed", Target: userID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent,
			Data: jsonData(map[string]string{"from": string(before), "to": string(role)})})
	}
	return out, nil
}

// RemoveMember takes a member out of the caller's org: org.members.remove.
// Their sessions in the org stop working at once (every token check reads
// the membership). The last owner cannot be removed, and nobody removes
// someone above them.
func (s *Service) RemoveMember(ctx context.Context, ac *AuthContext, userID string) error {
	if err := RequireAdmin(ac); err != nil {
		return err
	}
	if userID == "" {
		return Invalid("user_id", "user_id is required.")
	}
	err := s.Store.Tx(ctx, func(tx Store) error {
		target, owners, err := s.memberAndOwners(ctx, tx, ac.Org.ID, userID)
		if err != nil {
			return err
		}
		self := ac.User != nil && ac.User.ID == userID
		switch {
		case !self && target.Role.rank() > ac.Role.rank():
			return Errorf(CodeForbidden, "You cannot remove someone above you.")
		case target.Role == RoleOwner && owners == 1:
			return errLastOwner
		}
		if err := tx.DeleteMembership(ctx, userID, ac.Org.ID); err != nil {
			return err
		}
		return s.emitMember(ctx, tx, EventMemberRemoved, Membership{UserID: userID, OrgID: ac.Org.ID, Role: target.Role}, "")
	})
	if err != nil {
		return err
	}
	s.audit(ctx, AuditEvent{ActorID: actorID(ac), OrgID: ac.Org.ID, Action: "org.member_removed", Target: userID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent})
	return nil
}

var errLastOwner = Errorf(CodeLastOwner, "An organization needs at least one owner. Make someone else an owner first.")

// memberAndOwners reads one member of an org and counts its owners.
func (s *Service) memberAndOwners(ctx context.Context, tx Store, orgID, userID string) (Member, int, error) {
	ms, err := tx.OrgMembers(ctx, orgID)
	if err != nil {
		return Member{}, 0, err
	}
	var target *Member
	owners := 0
	for i, m := range ms {
		if m.Role == RoleOwner {
			owners++
		}
		if m.UserID == userID {
			target = &ms[i]
		}
	}
	if target == nil {
		return Member{}, 0, Errorf(CodeNotFound, "No such member in this organization.")
	}
	return *target, owners, nil
}
