package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
)

func TestSSOStore(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, d latchkeytest.Database) {
		ctx := context.Background()
		st := open(t, d).Store()
		now := time.Now().UTC().Truncate(time.Microsecond)
		for _, id := range []string{"org_a", "org_b"} {
			if err := st.CreateOrg(ctx, latchkey.Org{ID: id, Name: id, Slug: id, CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.CreateUser(ctx, latchkey.User{ID: "usr_a", Email: "a@acme.test", CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		oidc := latchkey.SSOConnection{ID: "sso_1", OrgID: "org_a", Protocol: "oidc", Domains: []string{"acme.test", "acme.example"},
			Enforced: true, Issuer: "https://idp.acme.test", ClientID: "cid", ClientSecret: "v1:sealed", CreatedAt: now,
			Verifications: claims("org_a", now, "acme.test", "acme.example")}
		if err := st.CreateSSOConnection(ctx, oidc); err != nil {
			t.Fatal(err)
		}
		if _, err := st.SSOConnectionByDomain(ctx, "acme.test"); !errors.Is(err, latchkey.ErrNotFound) {
			t.Errorf("an unverified domain finds its connection: %v", err)
		}
		// org_b claims acme.test too (unverified claims never block)...
		squat := latchkey.SSOConnection{ID: "sso_3", OrgID: "org_b", Protocol: "saml", Domains: []string{"acme.test", "b.test"}, IdPMetadataXML: "<x/>", CreatedAt: now,
			Verifications: claims("org_b", now, "acme.test", "b.test")}
		if err := st.CreateSSOConnection(ctx, squat); err != nil {
			t.Fatalf("a second unverified claim: %v", err)
		}
		for _, d := range oidc.Domains {
			if err := st.VerifySSODomain(ctx, "org_a", d, now); err != nil {
				t.Fatal(err)
			}
		}
		// ...and loses it when org_a verifies first.
		if got, err := st.SSOConnectionByID(ctx, "sso_3"); err != nil || !slices.Equal(got.Domains, []string{"b.test"}) {
			t.Errorf("squatter's connection after the owner verified: %+v, %v", got, err)
		}
		if c, err := st.SSODomainClaims(ctx, "acme.test"); err != nil || len(c) != 1 || c[0].OrgID != "org_a" || !c[0].Verified {
			t.Errorf("claims on acme.test = %+v, %v", c, err)
		}
		if err := st.VerifySSODomain(ctx, "org_b", "acme.test", now); !errors.Is(err, latchkey.ErrConflict) {
			t.Errorf("dropped claim verifies: %v", err)
		}

		t.Run("verified domains are unique across orgs, atomically", func(t *testing.T) {
			dup := latchkey.SSOConnection{ID: "sso_2", OrgID: "org_b", Protocol: "saml", Domains: []string{"fresh.test", "acme.example"}, IdPMetadataXML: "<x/>", CreatedAt: now,
				Verifications: claims("org_b", now, "fresh.test", "acme.example")}
			if err := st.CreateSSOConnection(ctx, dup); !errors.Is(err, latchkey.ErrConflict) {
				t.Fatalf("err = %v, want ErrConflict", err)
			}
			if _, err := st.SSOConnectionByID(ctx, "sso_2"); !errors.Is(err, latchkey.ErrNotFound) {
				t.Errorf("a refused connection was stored: %v", err)
			}
			if _, err := st.SSOConnectionByDomain(ctx, "fresh.test"); !errors.Is(err, latchkey.ErrNotFound) {
				t.Errorf("a refused connection's domain was stored: %v", err)
			}
		})

		t.Run("lookups", func(t *testing.T) {
			got, err := st.SSOConnectionByDomain(ctx, "acme.example")
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != "sso_1" || !got.Enforced || got.ClientSecret.Reveal() != "v1:sealed" || !slices.Equal(got.Domains, oidc.Domains) || !got.CreatedAt.Equal(now) ||
				len(got.Verifications) != 2 || !got.Verifications[1].Verified || got.Verifications[1].Token != oidc.Verifications[1].Token || !got.Verifications[1].VerifiedAt.Equal(now) {
				t.Errorf("by domain = %+v", got)
			}
			list, err := st.SSOConnectionsOfOrg(ctx, "org_a")
			if err != nil || len(list) != 1 || list[0].ID != "sso_1" {
				t.Errorf("of org = %+v, %v", list, err)
			}
			if list, err := st.SSOConnectionsOfOrg(ctx, "org_b"); err != nil || len(list) != 1 {
				t.Errorf("other org = %+v, %v", list, err)
			}
		})

		t.Run("assertions are consumed once until they expire", func(t *testing.T) {
			if err := st.ConsumeSSOAssertion(ctx, "sso_1", "id-1", now.Add(time.Minute), now); err != nil {
				t.Fatal(err)
			}
			if err := st.ConsumeSSOAssertion(ctx, "sso_1", "id-1", now.Add(time.Minute), now); !errors.Is(err, latchkey.ErrConflict) {
				t.Errorf("replay: err = %v, want ErrConflict", err)
			}
			// Past its expiry the record is dropped (the SP refuses the
			// assertion anyway by then).
			if err := st.ConsumeSSOAssertion(ctx, "sso_1", "id-1", now.Add(3*time.Minute), now.Add(2*time.Minute)); err != nil {
				t.Errorf("after expiry: %v", err)
			}
		})

		t.Run("identities, and deletion cascades", func(t *testing.T) {
			id := latchkey.SSOIdentity{ConnectionID: "sso_1", Subject: "sub-1", UserID: "usr_a", Email: "a@acme.test", CreatedAt: now}
			if err := st.CreateSSOIdentity(ctx, id); err != nil {
				t.Fatal(err)
			}
			if err := st.CreateSSOIdentity(ctx, id); !errors.Is(err, latchkey.ErrConflict) {
				t.Errorf("duplicate identity: %v", err)
			}
			if got, err := st.SSOIdentity(ctx, "sso_1", "sub-1"); err != nil || got.UserID != "usr_a" {
				t.Errorf("identity = %+v, %v", got, err)
			}
			if err := st.DeleteSSOConnection(ctx, "sso_1"); err != nil {
				t.Fatal(err)
			}
			if _, err := st.SSOIdentity(ctx, "sso_1", "sub-1"); !errors.Is(err, latchkey.ErrNotFound) {
				t.Errorf("identity outlived its connection: %v", err)
			}
			if _, err := st.SSOConnectionByDomain(ctx, "acme.test"); !errors.Is(err, latchkey.ErrNotFound) {
				t.Errorf("domain outlived its connection: %v", err)
			}
			if err := st.DeleteSSOConnection(ctx, "sso_1"); !errors.Is(err, latchkey.ErrNotFound) {
				t.Errorf("second delete: %v", err)
			}
		})

		t.Run("one SAML key pair", func(t *testing.T) {
			if _, _, err := st.SAMLKeyPair(ctx); !errors.Is(err, latchkey.ErrNotFound) {
				t.Fatalf("before: %v", err)
			}
			if err := st.CreateSAMLKeyPair(ctx, "cert1", "key1", now); err != nil {
				t.Fatal(err)
			}
			if err := st.CreateSAMLKeyPair(ctx, "cert2", "key2", now); err != nil {
				t.Fatal(err)
			}
			if c, k, err := st.SAMLKeyPair(ctx); err != nil || c != "cert1" || k != "key1" {
				t.Errorf("key pair = %q %q %v, want the first", c, k, err)
			}
		})
	})
}

// claims are fresh unverified claims of org on domains.
func claims(org string, now time.Time, domains ...string) []latchkey.DomainVerification {
	var out []latchkey.DomainVerification
	for _, d := range domains {
		out = append(out, latchkey.DomainVerification{Domain: d, OrgID: org, Token: "tok-" + org + "-" + d, CreatedAt: now})
	}
	return out
}

// TestSSODomainVerifiedOnce: two orgs verifying one domain at once: one
// wins, the other gets ErrConflict (never a deadlock or another error).
func TestSSODomainVerifiedOnce(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, d latchkeytest.Database) {
		ctx := context.Background()
		st := open(t, d).Store()
		now := time.Now().UTC().Truncate(time.Microsecond)
		orgs := []string{"org_a", "org_b"}
		for _, id := range orgs {
			if err := st.CreateOrg(ctx, latchkey.Org{ID: id, Name: id, Slug: id, CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
		}
		const domains = 10
		for i, org := range orgs {
			var ds []string
			for j := range domains {
				ds = append(ds, fmt.Sprintf("race%d.test", j))
			}
			c := latchkey.SSOConnection{ID: fmt.Sprintf("sso_%d", i), OrgID: org, Protocol: "saml", Domains: ds, IdPMetadataXML: "<x/>", CreatedAt: now,
				Verifications: claims(org, now, ds...)}
			if err := st.CreateSSOConnection(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		for j := range domains {
			domain := fmt.Sprintf("race%d.test", j)
			errs := make([]error, len(orgs))
			var wg sync.WaitGroup
			for i, org := range orgs {
				wg.Go(func() { errs[i] = st.VerifySSODomain(ctx, org, domain, now) })
			}
			wg.Wait()
			won := 0
			for i, err := range errs {
				switch {
				case err == nil:
					won++
				case !errors.Is(err, latchkey.ErrConflict):
					t.Errorf("%s by %s: %v, want nil or ErrConflict", domain, orgs[i], err)
				}
			}
			if won != 1 {
				t.Errorf("%s: %d winners (%v)", domain, won, errs)
			}
			if c, err := st.SSODomainClaims(ctx, domain); err != nil || len(c) != 1 || !c[0].Verified {
				t.Errorf("%s claims after the race: %+v, %v", domain, c, err)
			}
		}
	})
}
