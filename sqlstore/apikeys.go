package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/latchkey/latchkey"
)

// Scopes are stored as one space-separated string, as in an access
// token's scope claim.

func splitScopes(s string) []string { return strings.Fields(s) }

const apiKeyColumns = `k.id, k.org_id, k.name, k.scopes, k.prefix, k.secret_hash, k.created_by, k.created_at, k.last_used_at`

func scanAPIKey(row scanner, extra ...any) (latchkey.APIKey, error) {
	var k latchkey.APIKey
	var scopes string
	var creator sql.NullString
	var created int64
	var used sql.NullInt64
	dest := append([]any{&k.ID, &k.OrgID, &k.Name, &scopes, &k.Prefix, &k.SecretHash, &creator, &created, &used}, extra...)
	if err := row.Scan(dest...); err != nil {
		return k, translate(err)
	}
	k.Scopes, k.CreatedBy, k.CreatedAt, k.LastUsedAt = splitScopes(scopes), creator.String, fromTS(created), fromNullTS(used)
	return k, nil
}

// CreateAPIKey inserts a secret key.
func (s *Store) CreateAPIKey(ctx context.Context, k latchkey.APIKey) error {
	return s.exec(ctx, `INSERT INTO api_keys (id, org_id, name, scopes, prefix, secret_hash, created_by, created_at, last_used_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		k.ID, k.OrgID, k.Name, strings.Join(k.Scopes, " "), k.Prefix, k.SecretHash, nullString(k.CreatedBy), ts(k.CreatedAt), nullTS(k.LastUsedAt))
}

// APIKeyAuth is the API-key hot path: the key by its hash (unique index),
// its org, and its creator's role in that org, in one query.
func (s *Store) APIKeyAuth(ctx context.Context, secretHash string) (latchkey.APIKeyAuth, error) {
	return throughCache(s, "h:"+secretHash, func() (latchkey.APIKeyAuth, error) { return s.apiKeyAuth(ctx, secretHash) },
		func(a latchkey.APIKeyAuth) []string {
			tags := []string{"k:" + a.Key.ID, "o:" + a.Org.ID}
			if a.Key.CreatedBy != "" {
				tags = append(tags, "u:"+a.Key.CreatedBy)
			}
			return tags
		})
}

func (s *Store) apiKeyAuth(ctx context.Context, secretHash string) (latchkey.APIKeyAuth, error) {
	var a latchkey.APIKeyAuth
	var orgCreated int64
	var role sql.NullString
	k, err := scanAPIKey(s.hotRow(ctx, apiKeyAuthQuery, secretHash), &a.Org.Name, &a.Org.Slug, &orgCreated, &role)
	if err != nil {
		return latchkey.APIKeyAuth{}, err
	}
	a.Key, a.Org.ID, a.Org.CreatedAt, a.CreatorRole = k, k.OrgID, fromTS(orgCreated), latchkey.Role(role.String)
	return a, nil
}

// apiKeyAuthQuery reads a key by the hash of its secret, with its org and
// its creator's role there: the API-key hot path.
const apiKeyAuthQuery = `
	SELECT ` + apiKeyColumns + `, o.name, o.slug, o.created_at, m.role
	FROM api_keys k
	JOIN orgs o ON o.id = k.org_id
	LEFT JOIN memberships m ON m.user_id = k.created_by AND m.org_id = k.org_id
	WHERE k.secret_hash = $1`

// APIKeyByID reads one key of an org.
func (s *Store) APIKeyByID(ctx context.Context, orgID, id string) (latchkey.APIKey, error) {
	return scanAPIKey(s.r.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys k WHERE k.org_id = $1 AND k.id = $2`, orgID, id))
}

// APIKeysOfOrg lists an org's keys, oldest first.
func (s *Store) APIKeysOfOrg(ctx context.Context, orgID string) ([]latchkey.APIKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys k WHERE k.org_id = $1 ORDER BY k.created_at, k.id`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []latchkey.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// DeleteAPIKey deletes a key of an org.
func (s *Store) DeleteAPIKey(ctx context.Context, orgID, id string) error {
	return s.execOne(ctx, `DELETE FROM api_keys WHERE org_id = $1 AND id = $2`, orgID, id)
}

// TouchAPIKey records a use of the key, at most once per staleness window.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at, staleBefore time.Time) error {
	return s.exec(ctx, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)`,
		id, ts(at), ts(staleBefore))
}

// CreatePublishableKey inserts a publishable key.
func (s *Store) CreatePublishableKey(ctx context.Context, k latchkey.PublishableKey) error {
	return s.exec(ctx, `INSERT INTO publishable_keys (id, org_id, key, created_by, created_at) VALUES ($1, $2, $3, $4, $5)`,
		k.ID, k.OrgID, k.Key, nullString(k.CreatedBy), ts(k.CreatedAt))
}

// PublishableKeysOfOrg lists an org's publishable keys, oldest first.
func (s *Store) PublishableKeysOfOrg(ctx context.Context, orgID string) ([]latchkey.PublishableKey, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id, org_id, key, created_by, created_at FROM publishable_keys WHERE org_id = $1 ORDER BY created_at, id`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []latchkey.PublishableKey
	for rows.Next() {
		var k latchkey.PublishableKey
		var creator sql.NullString
		var created int64
		if err := rows.Scan(&k.ID, &k.OrgID, &k.Key, &creator, &created); err != nil {
			return nil, err
		}
		k.CreatedBy, k.CreatedAt = creator.String, fromTS(created)
		out = append(out, k)
	}
	return out, rows.Err()
}

// DeletePublishableKey deletes a publishable key of an org.
func (s *Store) DeletePublishableKey(ctx context.Context, orgID, id string) error {
	return s.execOne(ctx, `DELETE FROM publishable_keys WHERE org_id = $1 AND id = $2`, orgID, id)
}
