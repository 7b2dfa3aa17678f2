package latchkey

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/secret"
)

// SSO protocols.
const (
	SSOProtocolOIDC = "oidc"
	SSOProtocolSAML = "saml"
)

// SSOConnection lets an org's people sign in through the org's own
// identity provider. It serves the email domains it lists, which no other
// connection may claim; Enforced makes SSO the only way in for them.
type SSOConnection struct {
	ID       string
	OrgID    string
	Protocol string
	Domains  []string
	Enforced bool
	// OIDC: the issuer (found by discovery) and client credentials. The
	// client secret is sealed at rest and never leaves the server.
	Issuer       string
	ClientID     string
	ClientSecret secret.Value
	// SAML: the IdP metadata as given or fetched from IdPMetadataURL.
	IdPMetadataURL string
	IdPMetadataXML string
	CreatedAt      time.Time
	// Verifications are the org's proofs of Domains, in the same order
	// (sso_domains.go): only a verified domain discovers, enforces or
	// lets the IdP vouch for an address.
	Verifications []DomainVerification
}

// SSOIdentity links a user to a subject at a connection's IdP.
type SSOIdentity struct {
	ConnectionID string
	Subject      string
	UserID       string
	Email        string
	CreatedAt    time.Time
}

// SSOStore is the persistence of SSO connections.
type SSOStore interface {
	// CreateSSOConnection inserts a connection and its domains, and a
	// verification row (c.Verifications, unverified) for each domain the
	// org has none for yet; ErrConflict when another org has verified one
	// of the domains or another connection of the org lists it.
	CreateSSOConnection(ctx context.Context, c SSOConnection) error
	SSOConnectionByID(ctx context.Context, id string) (SSOConnection, error)
	// SSOConnectionByDomain finds the connection of the org that has
	// verified a domain (the oldest, should the org have several).
	SSOConnectionByDomain(ctx context.Context, domain string) (SSOConnection, error)
	SSOConnectionsOfOrg(ctx context.Context, orgID string) ([]SSOConnection, error)
	DeleteSSOConnection(ctx context.Context, id string) error

	SSOIdentity(ctx context.Context, connectionID, subject string) (SSOIdentity, error)
	CreateSSOIdentity(ctx context.Context, id SSOIdentity) error
	// ConsumeSSOAssertion records a SAML assertion ID until expires, after
	// dropping records expired at now; ErrConflict when it is recorded.
	ConsumeSSOAssertion(ctx context.Context, connectionID, assertionID string, expires, now time.Time) error

	// SAMLKeyPair returns the deployment's SAML SP certificate and key
	// (PEM); ErrNotFound before the first is created.
	SAMLKeyPair(ctx context.Context) (certPEM, keyPEM string, err error)
	// CreateSAMLKeyPair stores the key pair unless one exists, so nodes
	// that start at once agree on one.
	CreateSAMLKeyPair(ctx context.Context, certPEM, keyPEM string, now time.Time) error

	SSODomainStore
}

// SSOConnectionInput is the request of org.sso_connections.create.
type SSOConnectionInput struct {
	Protocol       string
	Domains        []string
	Enforced       bool
	Issuer         string
	ClientID       string
	ClientSecret   string
	IdPMetadataURL string
	IdPMetadataXML string
}

// maxSSODomains bounds the domains of one connection.
const maxSSODomains = 50

// publicEmailDomains are mailbox providers no org may claim: claiming
// one would lock strangers out of password sign-in.
var publicEmailDomains = []string{
	"gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "msn.com",
	"yahoo.com", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com", "proton.me",
	"protonmail.com", "gmx.com", "gmx.de", "web.de", "mail.com", "yandex.com", "yandex.ru",
	"zoho.com", "fastmail.com", "hey.com", "qq.com", "163.com", "126.com",
}

// CreateSSOConnection adds a connection to the caller's org. The caller
// (the HTTP layer) has already checked that the IdP metadata parses.
func (s *Service) CreateSSOConnection(ctx context.Context, ac *AuthContext, in SSOConnectionInput) (SSOConnection, error) {
	if err := RequireAdmin(ac); err != nil {
		return SSOConnection{}, err
	}
	c, err := s.checkSSOConnection(in)
	if err != nil {
		return SSOConnection{}, err
	}
	c.ID, c.OrgID, c.CreatedAt = secret.ID("sso_"), ac.Org.ID, s.now()
	c.Verifications = make([]DomainVerification, len(c.Domains))
	for i, d := range c.Domains {
		c.Verifications[i] = DomainVerification{Domain: d, OrgID: c.OrgID, Token: newDomainToken(), CreatedAt: c.CreatedAt}
	}
	err = s.Store.Tx(ctx, func(tx Store) error {
		if err := tx.CreateSSOConnection(ctx, s.sealConnection(c)); err != nil {
			return err
		}
		return s.emitSSOConnection(ctx, tx, EventSSOConnectionCreated, c)
	})
	if errors.Is(err, ErrConflict) {
		return SSOConnection{}, &Error{Code: CodeDomainTaken, Field: "domains", Message: "One of these domains is verified by another organization, or claimed by another connection of yours."}
	} else if err != nil {
		return SSOConnection{}, err
	}
	// The org may have proven some domains before (an earlier
	// connection): show the stored rows, not the fresh tokens.
	if stored, err := s.Store.SSOConnectionByID(ctx, c.ID); err == nil {
		c.Verifications = stored.Verifications
	}
	s.audit(ctx, AuditEvent{ActorID: actorOf(ac), OrgID: c.OrgID, Action: "sso_connection.created", Target: c.ID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent})
	return c, nil
}

func (s *Service) checkSSOConnection(in SSOConnectionInput) (SSOConnection, error) {
	c := SSOConnection{Protocol: in.Protocol, Enforced: in.Enforced}
	domains, err := checkDomains(in.Domains)
	if err != nil {
		return c, err
	}
	c.Domains = domains
	switch in.Protocol {
	case SSOProtocolOIDC:
		if in.IdPMetadataURL != "" || in.IdPMetadataXML != "" {
			return c, Invalid("idp_metadata_url", "IdP metadata belongs to SAML connections.")
		}
		if !absoluteHTTPURL(in.Issuer) {
			return c, Invalid("issuer", "The issuer must be an absolute https URL.")
		}
		if in.ClientID == "" || len(in.ClientID) > 512 {
			return c, Invalid("client_id", "A client id is required.")
		}
		if in.ClientSecret == "" || len(in.ClientSecret) > 1024 {
			return c, Invalid("client_secret", "A client secret is required.")
		}
		c.Issuer, c.ClientID, c.ClientSecret = strings.TrimRight(in.Issuer, "/"), in.ClientID, secret.Value(in.ClientSecret)
	case SSOProtocolSAML:
		if in.Issuer != "" || in.ClientID != "" || in.ClientSecret != "" {
			return c, Invalid("issuer", "Issuer and client credentials belong to OIDC connections.")
		}
		if in.IdPMetadataXML == "" {
			return c, Invalid("idp_metadata_url", "Give idp_metadata_url or idp_metadata_xml.")
		}
		c.IdPMetadataURL, c.IdPMetadataXML = in.IdPMetadataURL, in.IdPMetadataXML
	default:
		return c, Invalid("protocol", "The protocol must be \"oidc\" or \"saml\".")
	}
	return c, nil
}

// checkDomains normalizes a connection's domains: lower case, no
// duplicates, each a plausible DNS name that is not a public mailbox
// provider.
func checkDomains(in []string) ([]string, error) {
	if len(in) == 0 {
		return nil, Invalid("domains", "List at least one email domain.")
	}
	if len(in) > maxSSODomains {
		return nil, Invalid("domains", "A connection serves at most %d domains.", maxSSODomains)
	}
	var out []string
	for _, d := range in {
		d = normalizeDomain(d)
		if !validDomain(d) {
			return nil, Invalid("domains", "%q is not a domain name.", truncate(d, 64))
		}
		if slices.Contains(publicEmailDomains, d) {
			return nil, Invalid("domains", "%s is a public email provider and cannot be claimed.", d)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out, nil
}

func validDomain(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

func absoluteHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil && len(raw) <= 2048
}

func actorOf(ac *AuthContext) string {
	if ac.User != nil {
		return ac.User.ID
	}
	return ac.APIKeyID
}

// ListSSOConnections lists the caller's org's connections, oldest first.
func (s *Service) ListSSOConnections(ctx context.Context, ac *AuthContext) ([]SSOConnection, error) {
	if err := RequireAdmin(ac); err != nil {
		return nil, err
	}
	return s.Store.SSOConnectionsOfOrg(ctx, ac.Org.ID)
}

// DeleteSSOConnection removes a connection of the caller's org and frees
// its domains. Users it provisioned keep their accounts.
func (s *Service) DeleteSSOConnection(ctx context.Context, ac *AuthContext, id string) error {
	if err := RequireAdmin(ac); err != nil {
		return err
	}
	c, err := s.Store.SSOConnectionByID(ctx, id)
	if errors.Is(err, ErrNotFound) || (err == nil && c.OrgID != ac.Org.ID) {
		return Errorf(CodeNotFound, "There is no such SSO connection in this organization.")
	} else if err != nil {
		return err
	}
	err = s.Store.Tx(ctx, func(tx Store) error {
		if err := tx.DeleteSSOConnection(ctx, id); err != nil {
			return err
		}
		return s.emitSSOConnection(ctx, tx, EventSSOConnectionDeleted, c)
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	s.audit(ctx, AuditEvent{ActorID: actorOf(ac), OrgID: c.OrgID, Action: "sso_connection.deleted", Target: c.ID, IP: ac.Meta.IP, UserAgent: ac.Meta.UserAgent})
	return nil
}

// SSOConnection returns a connection by id, for the browser routes,
// with its client secret unsealed.
func (s *Service) SSOConnection(ctx context.Context, id string) (SSOConnection, error) {
	if !strings.HasPrefix(id, "sso_") || len(id) > 64 {
		return SSOConnection{}, ErrNotFound
	}
	c, err := s.Store.SSOConnectionByID(ctx, id)
	if err != nil {
		return SSOConnection{}, err
	}
	return s.unsealConnection(c)
}

// SSODiscovery is the answer of auth.sso.discover.
type SSODiscovery struct {
	Connection *SSOConnection // nil: the domain has no connection
}

// DiscoverSSO finds the connection serving an email's domain. Every
// domain costs the same one indexed lookup, known or not.
func (s *Service) DiscoverSSO(ctx context.Context, email string) (SSODiscovery, error) {
	email, err := NormalizeEmail("email", email)
	if err != nil {
		return SSODiscovery{}, err
	}
	c, err := s.Store.SSOConnectionByDomain(ctx, EmailDomain(email))
	if errors.Is(err, ErrNotFound) {
		return SSODiscovery{}, nil
	} else if err != nil {
		return SSODiscovery{}, err
	}
	return SSODiscovery{Connection: &c}, nil
}

// requireNoSSO fails with sso_required when the email's domain has an
// enforced SSO connection.
func (s *Service) requireNoSSO(ctx context.Context, email string) error {
	c, err := s.Store.SSOConnectionByDomain(ctx, EmailDomain(email))
	if errors.Is(err, ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	if c.Enforced {
		return Errorf(CodeSSORequired, "Your organization requires signing in with SSO.")
	}
	return nil
}

// RequireNoSSO is requireNoSSO for adapters' flows that sign people in
// outside the domain's own (OAuth callbacks).
func (s *Service) RequireNoSSO(ctx context.Context, email string) error {
	email, err := NormalizeEmail("email", email)
	if err != nil {
		return nil // not an address any connection could claim
	}
	return s.requireNoSSO(ctx, email)
}

// Sealing of connection secrets: AES-256-GCM under Config.SecretKey when
// it is set ("v1:" prefix), else stored as given ("plain:"), so the key
// can be added later without a migration.
func (s *Service) sealConnection(c SSOConnection) SSOConnection {
	if c.ClientSecret == "" {
		return c
	}
	c.ClientSecret = secret.Value(sealString(s.Config.SecretKey, c.ClientSecret.Reveal()))
	return c
}

func (s *Service) unsealConnection(c SSOConnection) (SSOConnection, error) {
	if c.ClientSecret == "" {
		return c, nil
	}
	plain, err := openString(s.Config.SecretKey, c.ClientSecret.Reveal())
	if err != nil {
		return c, err
	}
	c.ClientSecret = secret.Value(plain)
	return c, nil
}

func sealString(key []byte, plain string) string {
	if len(key) == 0 {
		return "plain:" + plain
	}
	gcm := newGCM(key)
	nonce := make([]byte, gcm.NonceSize())
	rand.Read(nonce)
	return "v1:" + base64.RawStdEncoding.EncodeToString(gcm.Seal(nonce, nonce, []byte(plain), nil))
}

func openString(key []byte, sealed string) (string, error) {
	if plain, ok := strings.CutPrefix(sealed, "plain:"); ok {
		return plain, nil
	}
	b64, ok := strings.CutPrefix(sealed, "v1:")
	if !ok || len(key) == 0 {
		return "", errors.New("sealed secret needs LATCHKEY_SECRET_KEY")
	}
	raw, err := base64.RawStdEncoding.DecodeString(b64)
	gcm := newGCM(key)
	if err != nil || len(raw) < gcm.NonceSize() {
		return "", errors.New("sealed secret is corrupt")
	}
	plain, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], nil)
	if err != nil {
		return "", errors.New("sealed secret does not open with LATCHKEY_SECRET_KEY")
	}
	return string(plain), nil
}

// newGCM builds AES-GCM for a 32-byte key; Config validation makes sure
// of the length.
func newGCM(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return gcm
}
