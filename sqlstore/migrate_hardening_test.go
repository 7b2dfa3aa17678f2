package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/sqlstore"
)

// TestMigrationKeepsDomainsAsUnverifiedClaims: a database from before
// 0012 with an enforced connection keeps the connection and its domains;
// each becomes an unverified claim with a token of its own, so it no
// longer enforces (nor discovers) until the org proves it.
func TestMigrationKeepsDomainsAsUnverifiedClaims(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, d latchkeytest.Database) {
		ctx := context.Background()
		db, err := sqlstore.OpenBefore(ctx, d.URL, "0012")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		now := time.Now().UnixMicro()
		for _, row := range []struct {
			q   string
			arg any
		}{
			{`INSERT INTO orgs (id, name, slug, created_at) VALUES ('org_a', 'A', 'a', $1)`, now},
			{`INSERT INTO orgs (id, name, slug, created_at) VALUES ('org_b', 'B', 'b', $1)`, now},
			{`INSERT INTO sso_connections (id, org_id, protocol, enforced, idp_metadata_xml, created_at) VALUES ('sso_a', 'org_a', 'saml', true, '<x/>', $1)`, now},
			{`INSERT INTO sso_connections (id, org_id, protocol, enforced, idp_metadata_xml, created_at) VALUES ('sso_b', 'org_b', 'saml', false, '<x/>', $1)`, now},
			{`INSERT INTO sso_domains (domain, connection_id, position) VALUES ($1, 'sso_a', 0)`, "a.test"},
			{`INSERT INTO sso_domains (domain, connection_id, position) VALUES ($1, 'sso_a', 1)`, "a.example"},
			{`INSERT INTO sso_domains (domain, connection_id, position) VALUES ($1, 'sso_b', 0)`, "b.test"},
		} {
			if err := db.Exec(ctx, row.q, row.arg); err != nil {
				t.Fatalf("%s: %v", row.q, err)
			}
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		st := db.Store()
		c, err := st.SSOConnectionByID(ctx, "sso_a")
		if err != nil || len(c.Domains) != 2 || c.Domains[0] != "a.test" || !c.Enforced {
			t.Fatalf("connection after the migration: %+v, %v", c, err)
		}
		tokens := map[string]bool{}
		for _, v := range c.Verifications {
			if v.Verified || len(v.Token) < 16 || v.OrgID != "org_a" {
				t.Errorf("migrated claim %+v", v)
			}
			tokens[v.Token] = true
		}
		if b, _ := st.SSOConnectionByID(ctx, "sso_b"); len(b.Verifications) != 1 || tokens[b.Verifications[0].Token] {
			t.Errorf("org_b's claim %+v shares a token", b.Verifications)
		}
		if len(tokens) != 2 {
			t.Errorf("tokens %v, want one per domain", tokens)
		}
		if _, err := st.SSOConnectionByDomain(ctx, "a.test"); !errors.Is(err, latchkey.ErrNotFound) {
			t.Errorf("an unverified migrated domain still discovers/enforces: %v", err)
		}
		if err := st.VerifySSODomain(ctx, "org_a", "a.test", time.Now()); err != nil {
			t.Fatal(err)
		}
		if got, err := st.SSOConnectionByDomain(ctx, "a.test"); err != nil || got.ID != "sso_a" {
			t.Errorf("after proof: %+v, %v", got, err)
		}
	})
}
