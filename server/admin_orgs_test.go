package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/sso/ssotest"
)

func TestAdminOrgs(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db, Configure: func(c *latchkey.Config) {
			c.SecretKey = []byte("0123456789abcdef0123456789abcdef")
		}})
		k, sec, err := env.Service.CreateAdminKey(context.Background(), "support")
		if err != nil {
			t.Fatal(err)
		}
		admin := bearer(t, env, sec.Reveal())
		owners := map[string]*latchkeytest.Client{}
		for _, name := range []string{"Acme Inc", "Acme Labs", "Zeta Corp"} {
			c := env.Client(t)
			email := strings.ToLower(strings.Fields(name)[1]) + "@example.com"
			wantOK(t, "register "+name, c.Call("auth.register", map[string]any{"email": email, "password": pw, "org_name": name}))
			owners[name] = c
			env.Clock.Advance(time.Millisecond)
		}
		acme := owners["Acme Inc"].Get("auth.me").Obj("org")["id"].(string)
		addMember(t, env, user(t, env, "labs@example.com").ID, acme, latchkey.RoleMember)
		idp := ssotest.New(t, ssotest.User{NameID: "x", Email: "x@acme.test"})
		wantOK(t, "SSO connection", owners["Acme Inc"].Call("org.sso_connections.create", map[string]any{
			"protocol": "saml", "domains": []string{"acme.test"}, "idp_metadata_xml": string(idp.Metadata())}))

		cases := []struct {
			query string
			want  []string
		}{
			{"", []string{"Zeta Corp", "Acme Labs", "Acme Inc"}},
			{"acme", []string{"Acme Labs", "Acme Inc"}},
			{"Acme L", []string{"Acme Labs"}},
			{"  ACME-INC", []string{"Acme Inc"}},
			{acme, []string{"Acme Inc"}},
			{"org_nothing", nil},
			{"nobody", nil},
			{"%", nil},
		}
		for _, c := range cases {
			got, _ := listAll(t, admin, "admin.orgs.list", "orgs", map[string]any{"query": c.query}, 2)
			var names []string
			for _, o := range got {
				names = append(names, o["name"].(string))
			}
			if strings.Join(names, ",") != strings.Join(c.want, ",") {
				t.Errorf("query %q: %v, want %v", c.query, names, c.want)
			}
			for _, o := range got {
				want := float64(1)
				if o["id"] == acme {
					want = 2
				}
				if o["member_count"] != want || o["slug"] == "" || o["created_at"] == nil {
					t.Errorf("query %q: %v", c.query, o)
				}
			}
		}

		r := admin.Call("admin.orgs.get", map[string]any{"org_id": acme})
		wantOK(t, "admin.orgs.get", r)
		if o := r.Obj("org"); o["name"] != "Acme Inc" || o["member_count"] != float64(2) {
			t.Errorf("org: %v", o)
		}
		ms, _ := r.JSON["members"].([]any)
		if len(ms) != 2 || ms[0].(map[string]any)["email"] != "inc@example.com" || ms[0].(map[string]any)["role"] != "owner" {
			t.Errorf("members: %v", ms)
		}
		conns, _ := r.JSON["sso_connections"].([]any)
		doms, _ := r.JSON["domains"].([]any)
		if len(conns) != 1 || len(doms) != 1 || doms[0].(map[string]any)["domain"] != "acme.test" || doms[0].(map[string]any)["verified"] != false {
			t.Errorf("connections %v, domains %v", conns, doms)
		}
		if r.Obj("settings")["require_mfa"] != false {
			t.Errorf("settings: %v", r.JSON["settings"])
		}
		wantOK(t, "operator's override", admin.Call("admin.sso_domains.verify", map[string]any{"domain": "acme.test", "org_id": acme}))
		doms, _ = admin.Call("admin.orgs.get", map[string]any{"org_id": acme}).JSON["domains"].([]any)
		if len(doms) != 1 || doms[0].(map[string]any)["verified"] != true {
			t.Errorf("domains after the override: %v", doms)
		}
		events, _ := env.Store.AuditEvents(context.Background(), k.ID)
		if !containsAction(events, "admin.orgs.get", acme) {
			t.Errorf("no admin.orgs.get audit event")
		}

		expectError(t, "unknown org", admin.Call("admin.orgs.get", map[string]any{"org_id": "org_nothing"}), 404, "not_found")
		expectError(t, "not an org id", admin.Call("admin.orgs.get", map[string]any{"org_id": "usr_x"}), 404, "not_found")
		expectError(t, "no org_id", admin.Call("admin.orgs.get", map[string]any{}), 400, "invalid_request")
		expectError(t, "limit too large", admin.Call("admin.orgs.list", map[string]any{"limit": 201}), 400, "invalid_request")
		expectError(t, "bad cursor", admin.Call("admin.orgs.list", map[string]any{"cursor": "!"}), 400, "invalid_request")
		expectError(t, "control character", admin.Call("admin.orgs.list", map[string]any{"query": "a\x00"}), 400, "invalid_request")
	})
}
