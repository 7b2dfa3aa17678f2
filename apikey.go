package latchkey

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/secret"
)

// API-key scopes.
const (
	ScopeAPIRead  = "api:read"
	ScopeAPIWrite = "api:write"
	ScopeOrgAdmin = "org:admin"
)

// AllScopes lists every API-key scope, in a stable order.
var AllScopes = []string{ScopeAPIRead, ScopeAPIWrite, ScopeOrgAdmin}

// Key prefixes: secret keys authenticate, publishable keys only identify an org.
const (
	APIKeyPrefix         = "sk_live_"
	PublishableKeyPrefix = "pk_live_"
)

// keyDisplayPrefix is how many leading characters of a secret key are kept
// in clear, so people can tell their keys apart in a list.
const keyDisplayPrefix = len(APIKeyPrefix) + 4

// lastUsedResolution bounds how often a key's last_used_at is written:
// key checks are a hot path, and a minute is precise enough for people.
const lastUsedResolution = time.Minute

// APIKey is a secret key of an org. Only the hash of the secret is kept.
type APIKey struct {
	ID         string
	OrgID      string
	Name       string
	Scopes     []string
	Prefix     string // the first characters of the secret, for display
	SecretHash string
	CreatedBy  string // user id; empty once that account is deleted
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used
}

// PublishableKey identifies an org to browsers. It is not a secret.
type PublishableKey struct {
	ID        string
	OrgID     string
	Key       string
	CreatedBy string
	CreatedAt time.Time
}

// APIKeyAuth is what the hot path reads for a secret key: the key, its
// org, and the role its creator holds there now (empty when the creator
// left the org or deleted their account).
type APIKeyAuth struct {
	Key         APIKey
	Org         Org
	CreatorRole Role
}

// APIKeyStore is the storage of API keys and publishable keys.
type APIKeyStore interface {
	CreateAPIKey(ctx context.Context, k APIKey) error
	// APIKeyAuth finds a key by the hash of its secret, with its org and
	// its creator's current role, in one indexed query.
	APIKeyAuth(ctx context.Context, secretHash string) (APIKeyAuth, error)
	APIKeyByID(ctx context.Context, orgID, id string) (APIKey, error)
	// APIKeysOfOrg lists an org's keys, oldest first.
	APIKeysOfOrg(ctx context.Context, orgID string) ([]APIKey, error)
	// DeleteAPIKey deletes a key of the org; ErrNotFound when there is none.
	DeleteAPIKey(ctx context.Context, orgID, id string) error
	// TouchAPIKey sets last_used_at to at when it is unset or not after
	// staleBefore, so concurrent requests write it once.
	TouchAPIKey(ctx context.Context, id string, at, staleBefore time.Time) error

	CreatePublishableKey(ctx context.Context, k PublishableKey) error
	// PublishableKeysOfOrg lists an org's publishable keys, oldest first.
	PublishableKeysOfOrg(ctx context.Context, orgID string) ([]PublishableKey, error)
	DeletePublishableKey(ctx context.Context, orgID, id string) error
}

// AuthenticateAPIKey checks a secret API key: one indexed lookup by the
// hash of the key. The key's effective scopes never exceed what its
// creator's current role allows: org:admin lapses when the creator is no
// longer an owner or admin of the org. Its Role is the creator's current
// role (member once the creator has left), so the rank checks of org
// administration ("nobody grants a role above their own") hold for keys.
func (s *Service) AuthenticateAPIKey(ctx context.Context, key string) (*AuthContext, error) {
	if !strings.HasPrefix(key, APIKeyPrefix) || len(key) > 128 {
		return nil, errBadToken
	}
	a, err := s.Store.APIKeyAuth(ctx, secret.Hash(key))
	if errors.Is(err, ErrNotFound) {
		return nil, errBadToken
	} else if err != nil {
		return nil, err
	}
	now := s.now()
	if now.Sub(a.Key.LastUsedAt) >= lastUsedResolution {
		if err := s.Store.TouchAPIKey(ctx, a.Key.ID, now, now.Add(-lastUsedResolution)); err != nil {
			// Bookkeeping must not fail the caller's request.
			s.Logger.WarnContext(ctx, "api key last_used_at not updated", "key", a.Key.ID, "err", err)
		}
	}
	role := a.CreatorRole
	if role == "" {
		role = RoleMember // the creator left: the key keeps a member's reach
	}
	return &AuthContext{
		Org: a.Org, Role: role, Scopes: effectiveScopes(a.Key.Scopes, a.CreatorRole),
		Credential: CredentialAPIKey, APIKeyID: a.Key.ID,
	}, nil
}

// effectiveScopes keeps the scopes the creator's role still allows.
func effectiveScopes(scopes []string, creator Role) []string {
	if creator.CanAdminister() || !slices.Contains(scopes, ScopeOrgAdmin) {
		return scopes
	}
	return slices.DeleteFunc(slices.Clone(scopes), func(s string) bool { return s == ScopeOrgAdmin })
}

// checkScopes validates requested scopes (field names the request field)
// and returns them deduplicated in the canonical order.
func checkScopes(field string, scopes []string) ([]string, error) {
	if len(scopes) == 0 {
		return nil, Invalid(field, "At least one scope is required: api:read, api:write or org:admin.")
	}
	for _, sc := range scopes {
		if !slices.Contains(AllScopes, sc) {
			return nil, Invalid(field, "Unknown scope %q: use api:read, api:write or org:admin.", truncate(sc, 40))
		}
	}
	var out []string
	for _, sc := range AllScopes {
		if slices.Contains(scopes, sc) {
			out = append(out, sc)
		}
	}
	return out, nil
}

func checkKeyName(field, name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", Invalid(field, "A name is required.")
	}
	if utf8.RuneCountInString(name) > 100 {
		return "", Invalid(field, "The name must be at most 100 characters.")
	}
	return checkName(field, name)
}

// NewAPIKey is a secret key just created: the only time its secret exists
// outside the caller's hands.
type NewAPIKey struct {
	Key    APIKey
	Secret secret.Value
}

// CreateAPIKey creates a secret key for the caller's org (owner/admin
// session, or a key with org:admin).
func (s *Service) CreateAPIKey(ctx context.Context, ac *AuthContext, name string, scopes []string) (NewAPIKey, error) {
	if err := RequireAdmin(ac); err != nil {
		return NewAPIKey{}, err
	}
	if err := s.requireStepUp(ac); err != nil {
		return NewAPIKey{}, err
	}
	name, err := checkKeyName("name", name)
	if err != nil {
		return NewAPIKey{}, err
	}
	if scopes, err = checkScopes("scopes", scopes); err != nil {
		return NewAPIKey{}, err
	}
	creator, err := s.creatorOf(ctx, ac)
	if err != nil {
		return NewAPIKey{}, err
	}
	k, err := s.createAPIKey(ctx, s.Store, ac, creator, name, scopes)
	if err != nil {
		return NewAPIKey{}, err
	}
	s.auditKeyCreated(ctx, ac, k.Key)
	return k, nil
}

func (s *Service) auditKeyCreated(ctx context.Context, ac *AuthContext, k APIKey) {
	s.audit(ctx, AuditEvent{ActorID: actorOf(ac), OrgID: k.OrgID, Action: "api_key.created", Target: k.ID,
		IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent, Data: auditData(map[string]any{"scopes": k.Scopes, "name": k.Name})})
}

// creatorOf is the user a new key is attributed to: the session's user,
// or for a key the user who created that key, so that scope limits follow
// a chain of keys back to a person.
func (s *Service) creatorOf(ctx context.Context, ac *AuthContext) (string, error) {
	if ac.User != nil {
		return ac.User.ID, nil
	}
	k, err := s.Store.APIKeyByID(ctx, ac.Org.ID, ac.APIKeyID)
	if errors.Is(err, ErrNotFound) {
		return "", errBadToken
	}
	return k.CreatedBy, err
}

// createAPIKey stores a new key through st. It writes no audit event,
// because st may be a transaction: callers audit after it commits.
func (s *Service) createAPIKey(ctx context.Context, st Store, ac *AuthContext, creator, name string, scopes []string) (NewAPIKey, error) {
	raw := secret.Token(APIKeyPrefix)
	k := APIKey{
		ID: secret.ID("key_"), OrgID: ac.Org.ID, Name: name, Scopes: scopes,
		Prefix: raw[:keyDisplayPrefix], SecretHash: secret.Hash(raw),
		CreatedBy: creator, CreatedAt: s.now(),
	}
	err := st.Tx(ctx, func(tx Store) error {
		if err := tx.CreateAPIKey(ctx, k); err != nil {
			return err
		}
		return s.emitAPIKey(ctx, tx, EventAPIKeyCreated, k)
	})
	if err != nil {
		return NewAPIKey{}, err
	}
	return NewAPIKey{Key: k, Secret: secret.Value(raw)}, nil
}

// ListAPIKeys lists the caller's org's secret keys, without secrets.
func (s *Service) ListAPIKeys(ctx context.Context, ac *AuthContext) ([]APIKey, error) {
	if err := RequireAdmin(ac); err != nil {
		return nil, err
	}
	return s.Store.APIKeysOfOrg(ctx, ac.Org.ID)
}

// RevokeAPIKey deletes a key of the caller's org; it fails with
// invalid_token on its next use. Besides admins, any key may revoke
// itself, so that `latchkey logout` works with a key of any scopes.
func (s *Service) RevokeAPIKey(ctx context.Context, ac *AuthContext, id string) error {
	self := ac != nil && ac.Credential == CredentialAPIKey && id != "" && id == ac.APIKeyID
	if !self {
		if err := RequireAdmin(ac); err != nil {
			return err
		}
	}
	if id == "" {
		return Invalid("id", "id is required.")
	}
	err := s.Store.Tx(ctx, func(tx Store) error {
		k, err := tx.APIKeyByID(ctx, ac.Org.ID, id)
		if err != nil {
			return err
		}
		if err := tx.DeleteAPIKey(ctx, ac.Org.ID, id); err != nil {
			return err
		}
		return s.emitAPIKey(ctx, tx, EventAPIKeyRevoked, k)
	})
	if errors.Is(err, ErrNotFound) {
		return Errorf(CodeNotFound, "This organization has no API key %q.", truncate(id, 64))
	} else if err != nil {
		return err
	}
	s.audit(ctx, AuditEvent{ActorID: actorOf(ac), OrgID: ac.Org.ID, Action: "api_key.revoked", Target: id, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent})
	return nil
}

// CreatePublishableKey creates a publishable key for the caller's org.
func (s *Service) CreatePublishableKey(ctx context.Context, ac *AuthContext) (PublishableKey, error) {
	if err := RequireAdmin(ac); err != nil {
		return PublishableKey{}, err
	}
	creator, err := s.creatorOf(ctx, ac)
	if err != nil {
		return PublishableKey{}, err
	}
	k, err := s.createPublishableKey(ctx, s.Store, ac, creator)
	if err != nil {
		return PublishableKey{}, err
	}
	s.auditPublishableKeyCreated(ctx, ac, k)
	return k, nil
}

func (s *Service) auditPublishableKeyCreated(ctx context.Context, ac *AuthContext, k PublishableKey) {
	s.audit(ctx, AuditEvent{ActorID: actorOf(ac), OrgID: k.OrgID, Action: "publishable_key.created", Target: k.ID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent})
}

// createPublishableKey stores a new publishable key through st, without
// an audit event (st may be a transaction).
func (s *Service) createPublishableKey(ctx context.Context, st Store, ac *AuthContext, creator string) (PublishableKey, error) {
	k := PublishableKey{ID: secret.ID("pk_"), OrgID: ac.Org.ID, Key: secret.Token(PublishableKeyPrefix), CreatedBy: creator, CreatedAt: s.now()}
	if err := st.CreatePublishableKey(ctx, k); err != nil {
		return PublishableKey{}, err
	}
	return k, nil
}

// ListPublishableKeys lists the caller's org's publishable keys.
func (s *Service) ListPublishableKeys(ctx context.Context, ac *AuthContext) ([]PublishableKey, error) {
	if err := RequireAdmin(ac); err != nil {
		return nil, err
	}
	return s.Store.PublishableKeysOfOrg(ctx, ac.Org.ID)
}

// RevokePublishableKey deletes a publishable key of the caller's org.
func (s *Service) RevokePublishableKey(ctx context.Context, ac *AuthContext, id string) error {
	if err := RequireAdmin(ac); err != nil {
		return err
	}
	if id == "" {
		return Invalid("id", "id is required.")
	}
	if err := s.Store.DeletePublishableKey(ctx, ac.Org.ID, id); errors.Is(err, ErrNotFound) {
		return Errorf(CodeNotFound, "This organization has no publishable key %q.", truncate(id, 64))
	} else if err != nil {
		return err
	}
	s.audit(ctx, AuditEvent{ActorID: actorOf(ac), OrgID: ac.Org.ID, Action: "publishable_key.revoked", Target: id, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent})
	return nil
}

// auditData encodes an audit event's data; it cannot fail for the plain
// values passed here.
func auditData(v map[string]any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func joinScopes(scopes []string) string { return strings.Join(scopes, " ") }
