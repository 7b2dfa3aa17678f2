package latchkey

import (
	"context"
	"errors"
	"strings"
)

// AdminOrg is an org as operators list it.
type AdminOrg struct {
	Org
	Members int
}

// AdminOrgDetail is admin.orgs.get: the org and what is attached to it.
type AdminOrgDetail struct {
	Org            AdminOrg
	Members        []Member
	SSOConnections []SSOConnection // with their domains and verifications
	Settings       OrgSettings
}

// AdminOrgFilter selects orgs for admin.orgs.list, newest first by
// (created_at, id). Empty fields do not filter.
type AdminOrgFilter struct {
	SlugPrefix string
	ID         string
	After      Cursor
	Limit      int
}

// AdminOrgStore is the storage of the operators' org list.
type AdminOrgStore interface {
	AdminOrgs(ctx context.Context, f AdminOrgFilter) ([]AdminOrg, error)
}

// AdminListOrgs is admin.orgs.list. The query is an org id (org_…) or a
// prefix of the slug, which orgs take from their name.
func (s *Service) AdminListOrgs(ctx context.Context, ac *AuthContext, query, cursor string, limit int) ([]AdminOrg, string, error) {
	if err := RequireOperator(ac); err != nil {
		return nil, "", err
	}
	var f AdminOrgFilter
	var err error
	if limit, err = pageLimit(limit); err != nil {
		return nil, "", err
	}
	f.Limit = limit + 1
	if f.After, err = parseCursor(cursor); err != nil {
		return nil, "", err
	}
	query = strings.TrimSpace(query)
	if len(query) > 128 || strings.ContainsFunc(query, isControl) {
		return nil, "", Invalid("query", "query must be an org id or a name prefix, at most 128 characters.")
	}
	if strings.HasPrefix(query, "org_") {
		f.ID = query
	} else if f.SlugPrefix = slugPrefix(query); query != "" && f.SlugPrefix == "" {
		return []AdminOrg{}, "", nil // only punctuation: no slug starts so
	}
	list, err := s.Store.AdminOrgs(ctx, f)
	if err != nil {
		return nil, "", err
	}
	list, next := page(list, limit, func(o AdminOrg) Cursor { return Cursor{o.CreatedAt, o.ID} })
	s.auditAdmin(ctx, ac, "admin.orgs.list", "", "", map[string]any{"query": query})
	return list, next, nil
}

// slugPrefix turns what an operator types ("Acme In") into the prefix of
// the slug such a name gets ("acme-in").
func slugPrefix(q string) string {
	return strings.TrimLeft(slugJunk.ReplaceAllString(strings.ToLower(q), "-"), "-")
}

// AdminGetOrg is admin.orgs.get.
func (s *Service) AdminGetOrg(ctx context.Context, ac *AuthContext, orgID string) (AdminOrgDetail, error) {
	if err := RequireOperator(ac); err != nil {
		return AdminOrgDetail{}, err
	}
	id, err := checkID("org_id", orgID, "org_")
	if err != nil {
		return AdminOrgDetail{}, err
	}
	var d AdminOrgDetail
	d.Org.Org, err = s.Store.OrgByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return d, Errorf(CodeNotFound, "No org has this id.")
	} else if err != nil {
		return d, err
	}
	if d.Members, err = s.Store.OrgMembers(ctx, id); err != nil {
		return d, err
	}
	d.Org.Members = len(d.Members)
	if d.SSOConnections, err = s.Store.SSOConnectionsOfOrg(ctx, id); err != nil {
		return d, err
	}
	if d.Settings.RequireMFA, err = s.Store.OrgRequiresMFA(ctx, id); err != nil {
		return d, err
	}
	s.auditAdmin(ctx, ac, "admin.orgs.get", id, id, nil)
	return d, nil
}
