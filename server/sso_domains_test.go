package server_test

import (
	"net/http"
	"testing"

	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/sso/ssotest"
)

// proveDomains publishes the TXT record of each of a connection's domains
// on d and verifies the domain as c.
func proveDomains(t *testing.T, d *latchkeytest.DNS, c *latchkeytest.Client, conn map[string]any) {
	t.Helper()
	vs, _ := conn["domain_verifications"].([]any)
	if len(vs) == 0 {
		t.Fatalf("connection without domain_verifications: %v", conn)
	}
	for _, x := range vs {
		v := x.(map[string]any)
		d.SetTXT(v["txt_name"].(string), "v=spf1 -all", v["txt_value"].(string))
		r := c.Call("org.sso_domains.verify", map[string]any{"domain": v["domain"]})
		if r.Status != http.StatusOK || r.Obj("domain_verification")["verified"] != true {
			t.Fatalf("verify %v: %d %s", v["domain"], r.Status, r.Body)
		}
	}
}

func domainsOf(conn map[string]any) []any {
	d, _ := conn["domains"].([]any)
	return d
}

// TestSSODomainSquatting: an attacker's org claims a company's domain
// with enforced: true. The company's people still sign in with their
// passwords, discovery ignores the claim, the attacker's IdP cannot
// vouch for them and a DNS record the attacker does not control proves
// nothing; the real owner claims the domain, proves it, and the
// attacker's claim is gone.
func TestSSODomainSquatting(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := newSSOEnv(t, db, "mallory@evil.test")
		attacker := e.owner
		victim := e.env.Client(t)
		victim.Register("alice@bigco.test", ownerPassword)

		evilIdP := ssotest.New(t, ssotest.User{NameID: "fake-alice", Email: "alice@bigco.test"})
		r := attacker.Call("org.sso_connections.create", map[string]any{
			"protocol": "saml", "domains": []string{"bigco.test"}, "enforced": true, "idp_metadata_xml": string(evilIdP.Metadata()),
		})
		wantOK(t, "attacker claims", r)
		claim := r.Obj("sso_connection")
		vs, _ := claim["domain_verifications"].([]any)
		if len(vs) != 1 {
			t.Fatalf("domain_verifications = %v", claim["domain_verifications"])
		}
		v := vs[0].(map[string]any)
		if v["domain"] != "bigco.test" || v["verified"] != false || v["txt_name"] != "_latchkey-challenge.bigco.test" {
			t.Fatalf("verification = %v", v)
		}
		if tv, _ := v["txt_value"].(string); len(tv) < len("latchkey-domain-verification=")+16 || tv[:len("latchkey-domain-verification=")] != "latchkey-domain-verification=" {
			t.Fatalf("txt_value = %q", tv)
		}

		unaffected := func(t *testing.T) {
			t.Helper()
			wantOK(t, "victim password login", e.env.Client(t).Call("auth.login", map[string]any{"email": "alice@bigco.test", "password": ownerPassword}))
			wantOK(t, "victim reset request", e.env.Client(t).Call("auth.password.reset.request", map[string]any{"email": "alice@bigco.test"}))
			if r := e.env.Client(t).Call("auth.sso.discover", map[string]any{"email": "alice@bigco.test"}); r.Status != http.StatusOK || r.JSON["sso"] != false {
				t.Errorf("discover: %d %s, want sso false", r.Status, r.Body)
			}
		}
		t.Run("unverified claim changes nothing", func(t *testing.T) {
			unaffected(t)
			newcomer := e.env.Client(t)
			wantOK(t, "new bigco sign-up", newcomer.Call("auth.register", map[string]any{"email": "bob@bigco.test", "password": ownerPassword}))
			// The attacker's IdP vouches for alice: refused, the domain is unproven.
			b := e.env.Client(t)
			wantLoginError(t, post(t, b, e.samlStart(t, b, claim["start_url"].(string))), "sso_domain_mismatch")
		})

		t.Run("no record, or the wrong one, proves nothing", func(t *testing.T) {
			expectError(t, "no record", attacker.Call("org.sso_domains.verify", map[string]any{"domain": "bigco.test"}), 400, "domain_unverified")
			e.dns.SetTXT("_latchkey-challenge.bigco.test", "latchkey-domain-verification=somebody-elses-token")
			expectError(t, "wrong record", attacker.Call("org.sso_domains.verify", map[string]any{"domain": "bigco.test"}), 400, "domain_unverified")
			expectError(t, "unclaimed domain", attacker.Call("org.sso_domains.verify", map[string]any{"domain": "other.test"}), 404, "not_found")
			expectError(t, "bad domain", attacker.Call("org.sso_domains.verify", map[string]any{"domain": "not a domain"}), 400, "invalid_request")
			unaffected(t)
		})

		t.Run("the real owner claims and proves it", func(t *testing.T) {
			owner := e.env.Client(t)
			owner.Register("it@bigco-admins.test", ownerPassword)
			realIdP := ssotest.New(t, ssotest.User{NameID: "okta-carol", Email: "carol@bigco.test"})
			r := owner.Call("org.sso_connections.create", map[string]any{
				"protocol": "saml", "domains": []string{"bigco.test"}, "enforced": true, "idp_metadata_xml": string(realIdP.Metadata()),
			})
			wantOK(t, "owner claims despite the squatter", r)
			conn := r.Obj("sso_connection")
			proveDomains(t, e.dns, owner, conn)

			// Enforced now, through the owner's connection only.
			expectError(t, "victim password login", e.env.Client(t).Call("auth.login", map[string]any{"email": "alice@bigco.test", "password": ownerPassword}), 403, "sso_required")
			d := e.env.Client(t).Call("auth.sso.discover", map[string]any{"email": "alice@bigco.test"})
			if d.JSON["sso"] != true || d.JSON["required"] != true || d.JSON["connection_id"] != conn["id"] {
				t.Errorf("discover: %s, want the owner's connection %v", d.Body, conn["id"])
			}
			b := e.env.Client(t)
			e.exchange(t, b, post(t, b, e.samlStart(t, b, conn["start_url"].(string))))

			// The squatter's claim was dropped, and it cannot claim again.
			list := attacker.Get("org.sso_connections.list")
			conns, _ := list.JSON["sso_connections"].([]any)
			if len(conns) != 1 || len(domainsOf(conns[0].(map[string]any))) != 0 {
				t.Errorf("attacker's connections after the owner verified: %s", list.Body)
			}
			expectError(t, "attacker verifies", attacker.Call("org.sso_domains.verify", map[string]any{"domain": "bigco.test"}), 404, "not_found")
			expectError(t, "attacker claims again", attacker.Call("org.sso_connections.create", map[string]any{
				"protocol": "saml", "domains": []string{"bigco.test"}, "enforced": true, "idp_metadata_xml": string(evilIdP.Metadata()),
			}), 409, "domain_taken")
		})
	})
}

// TestAdminVerifiesSSODomain: the operator's override marks a claim
// verified without DNS, asks which org when several claim the domain,
// and is refused to org credentials.
func TestAdminVerifiesSSODomain(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		e := newSSOEnv(t, db, "one@one.test")
		idp := ssotest.New(t, ssotest.User{NameID: "x", Email: "x@shared.test"})
		body := map[string]any{"protocol": "saml", "domains": []string{"shared.test"}, "enforced": false, "idp_metadata_xml": string(idp.Metadata())}
		wantOK(t, "first claim", e.owner.Call("org.sso_connections.create", body))
		two := e.env.Client(t)
		two.Register("two@two.test", ownerPassword)
		wantOK(t, "second claim", two.Call("org.sso_connections.create", body))
		twoOrg := two.Get("auth.me").Obj("org")["id"]

		expectError(t, "org owner on admin op", e.owner.Call("admin.sso_domains.verify", map[string]any{"domain": "shared.test"}), 403, "forbidden")
		admin := adminKey(t, e.env)
		r := admin.Call("admin.sso_domains.verify", map[string]any{"domain": "shared.test"})
		expectError(t, "ambiguous", r, 400, "invalid_request")
		wantField(t, "ambiguous", r, "org_id")
		expectError(t, "unclaimed", admin.Call("admin.sso_domains.verify", map[string]any{"domain": "nobody.test"}), 404, "not_found")
		r = admin.Call("admin.sso_domains.verify", map[string]any{"domain": "shared.test", "org_id": twoOrg})
		wantOK(t, "override", r)
		if r.Obj("domain_verification")["verified"] != true {
			t.Errorf("override: %s", r.Body)
		}
		if d := e.env.Client(t).Call("auth.sso.discover", map[string]any{"email": "x@shared.test"}); d.JSON["sso"] != true {
			t.Errorf("discover after override: %s", d.Body)
		}
		expectError(t, "first org verifies now", e.owner.Call("org.sso_domains.verify", map[string]any{"domain": "shared.test"}), 404, "not_found")
		expectError(t, "first org claims again", e.owner.Call("org.sso_connections.create", body), 409, "domain_taken")
	})
}
