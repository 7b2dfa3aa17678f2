package sqlstore

import "testing"

// TestChangesAuth: the statements that run the barrier are exactly those
// that fire migration 0016's triggers.
func TestChangesAuth(t *testing.T) {
	for _, c := range []struct {
		query string
		want  bool
	}{
		{`UPDATE sessions SET revoked_at = $3 WHERE user_id = $1`, true},
		{"UPDATE  users\n\tSET name = $2 WHERE id = $1", true},
		{`DELETE FROM orgs WHERE id = $1`, true},
		{`delete from mfa_factors where user_id = $1`, true},
		{`UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, true},
		{`UPDATE memberships SET role = $3 WHERE user_id = $1 AND org_id = $2`, true},
		{`INSERT INTO memberships (user_id, org_id, role, created_at) VALUES ($1, $2, $3, $4)`, true},
		{`INSERT INTO sessions (id) VALUES ($1)`, false},
		{`INSERT INTO users (id) VALUES ($1)`, false},
		{`INSERT INTO mfa_factors (id) VALUES ($1)`, false},
		{`UPDATE challenges SET attempts = attempts + 1 WHERE id = $1`, false},
		{`DELETE FROM users_archive WHERE id = $1`, false},
		{`INSERT INTO attempt_counters (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET count = attempt_counters.count + 1`, false},
		{`SELECT id FROM users WHERE email = $1`, false},
	} {
		if got := changesAuth(c.query); got != c.want {
			t.Errorf("changesAuth(%q) = %v, want %v", c.query, got, c.want)
		}
	}
}
