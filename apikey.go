package latchkey

import (
	"context"
	"strings"
)

// API-key scopes.
const (
	ScopeAPIRead  = "api:read"
	ScopeAPIWrite = "api:write"
	ScopeOrgAdmin = "org:admin"
)

// Key prefixes: secret keys authenticate, publishable keys only identify an org.
const (
	APIKeyPrefix         = "sk_live_"
	PublishableKeyPrefix = "pk_live_"
)

// APIKeyStore is the storage of API keys (issue 4 fills it in).
type APIKeyStore interface{}

// AuthenticateAPIKey checks a secret API key. Until API keys exist every
// key is invalid; the seam is here so that the server needs no change.
func (s *Service) AuthenticateAPIKey(ctx context.Context, key string) (*AuthContext, error) {
	return nil, errBadToken
}

func joinScopes(scopes []string) string { return strings.Join(scopes, " ") }
