package client_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/client"
	"github.com/latchkey/latchkey/latchkeytest"
)

func TestClientAgainstARealServer(t *testing.T) {
	latchkeytest.ForEachDatabase(t, func(t *testing.T, db latchkeytest.Database) {
		env := latchkeytest.New(t, latchkeytest.Options{Database: db})
		ctx := context.Background()
		anon := client.New(env.URL + "/")

		_, err := anon.Me(ctx)
		var e *client.Error
		if !errors.As(err, &e) || e.Status != http.StatusUnauthorized || e.Code != "unauthenticated" || e.RequestID == "" {
			t.Fatalf("Me without a credential: %#v", err)
		}
		ses, err := anon.Register(ctx, "ada@example.com", "correct horse battery")
		if err != nil || ses.AccessToken == "" || ses.User.Email != "ada@example.com" {
			t.Fatalf("Register: %v %+v", err, ses)
		}
		if _, err := anon.Register(ctx, "ada@example.com", "correct horse battery"); !errors.As(err, &e) || e.Status != http.StatusConflict || e.Code != "email_taken" {
			t.Fatalf("Register twice: %v", err)
		}
		user := anon.WithToken(ses.AccessToken)
		if anon.Token != "" {
			t.Fatal("WithToken changed the original client")
		}

		_, err = user.CreateAPIKey(ctx, "ci", []string{"root"})
		if !errors.As(err, &e) || e.Code != "invalid_request" || e.Field != "scopes" {
			t.Fatalf("CreateAPIKey with a bad scope: %v", err)
		}
		k, err := user.CreateAPIKey(ctx, "ci", []string{"api:read", "org:admin"})
		if err != nil || !strings.HasPrefix(k.Secret, "sk_live_") || k.APIKey.Name != "ci" {
			t.Fatalf("CreateAPIKey: %v %+v", err, k)
		}
		key := anon.WithToken(k.Secret)
		me, err := key.Me(ctx)
		if err != nil || me.Credential != "api_key" || me.User != nil || me.Role == nil || *me.Role != "owner" || *me.APIKeyID != k.APIKey.ID {
			t.Fatalf("Me with the key: %v %+v", err, me)
		}
		if keys, err := key.ListAPIKeys(ctx); err != nil || len(keys) != 1 || keys[0].ID != k.APIKey.ID {
			t.Fatalf("ListAPIKeys: %v %+v", err, keys)
		}
		pk, err := key.CreatePublishableKey(ctx)
		if err != nil || !strings.HasPrefix(pk.Key, "pk_live_") {
			t.Fatalf("CreatePublishableKey: %v %+v", err, pk)
		}
		if pks, err := key.ListPublishableKeys(ctx); err != nil || len(pks) != 1 || pks[0].Key != pk.Key {
			t.Fatalf("ListPublishableKeys: %v %+v", err, pks)
		}
		if err := key.RevokePublishableKey(ctx, pk.ID); err != nil {
			t.Fatalf("RevokePublishableKey: %v", err)
		}
		a, err := user.AuthorizeCLI(ctx, client.CLIAuthorizeRequest{CallbackURL: "http://localhost:7/cb", State: "xyz", CreatePublishableKey: true})
		if err != nil || !strings.HasPrefix(a.RedirectURL, "http://localhost:7/cb?") || a.PublishableKey == nil {
			t.Fatalf("AuthorizeCLI: %v %+v", err, a)
		}
		d, err := key.CreateDashboardToken(ctx, "/account")
		if err != nil || !strings.HasPrefix(d.URL, env.URL+"/v1/auth.dashboard_token.exchange?token=") || d.ExpiresAt.IsZero() {
			t.Fatalf("CreateDashboardToken: %v %+v", err, d)
		}
		if err := key.RevokeAPIKey(ctx, k.APIKey.ID); err != nil {
			t.Fatalf("RevokeAPIKey: %v", err)
		}
		if _, err := key.Me(ctx); !errors.As(err, &e) || e.Code != "invalid_token" {
			t.Fatalf("Me with the revoked key: %v", err)
		}
	})
}

func TestClientErrorFromAnotherServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad gateway", http.StatusBadGateway)
	}))
	t.Cleanup(srv.Close)
	_, err := client.New(srv.URL).Me(context.Background())
	var e *client.Error
	if !errors.As(err, &e) || e.Status != http.StatusBadGateway || e.Code != "http_error" || e.Message != "bad gateway" {
		t.Fatalf("a non-Latchkey error: %#v", err)
	}
}
