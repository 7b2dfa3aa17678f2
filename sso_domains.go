package latchkey

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"slices"
	"strings"
	"time"
)

// Domain proof (contract §10): an SSO connection's domains are claims
// until the org proves each one with a DNS TXT record. Only a verified
// domain is used by auth.sso.discover, is enforced, lets the IdP vouch for
// its addresses, or blocks another org's claim. Without this any visitor
// could claim a large company's domain with enforced: true and lock its
// people out of every other way to sign in.

// DomainVerification is one org's claim on a domain and its proof.
type DomainVerification struct {
	Domain     string
	OrgID      string
	Token      string // the value the org publishes; not a secret
	Verified   bool
	VerifiedAt time.Time // zero while unverified
	CreatedAt  time.Time
}

// TXTName is the DNS name the org publishes the record at.
func (v DomainVerification) TXTName() string { return domainTXTPrefix + v.Domain }

// TXTValue is the record's expected text.
func (v DomainVerification) TXTValue() string { return domainTXTValuePrefix + v.Token }

const (
	domainTXTPrefix      = "_latchkey-challenge."
	domainTXTValuePrefix = "latchkey-domain-verification="
)

// SSODomainStore is the persistence of domain proofs.
type SSODomainStore interface {
	// SSODomainClaims lists every org's row for a domain, oldest first.
	SSODomainClaims(ctx context.Context, domain string) ([]DomainVerification, error)
	// VerifySSODomain marks the org's claim verified and drops every other
	// org's claim on the domain (their verification rows and the domain
	// in their connections), in one transaction. ErrNotFound when the org
	// has no claim; ErrConflict when another org has verified it.
	VerifySSODomain(ctx context.Context, orgID, domain string, now time.Time) error
}

// newDomainToken is the per-(org, domain) TXT token. It is published in
// DNS, so it need not be secret, only unique: another org's record must
// not prove this org's claim.
func newDomainToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// dnsTimeout bounds one TXT lookup.
const dnsTimeout = 5 * time.Second

// resolver is the system resolver, or the one at Config.DNSResolver.
func (s *Service) resolver() *net.Resolver {
	addr := s.Config.DNSResolver
	if addr == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}}
}

// VerifySSODomain (org.sso_domains.verify) looks the org's TXT record up
// and marks its claim verified.
func (s *Service) VerifySSODomain(ctx context.Context, ac *AuthContext, domain string) (DomainVerification, error) {
	if err := RequireAdmin(ac); err != nil {
		return DomainVerification{}, err
	}
	domain = normalizeDomain(domain)
	if !validDomain(domain) {
		return DomainVerification{}, Invalid("domain", "Give a domain name.")
	}
	claim, err := s.claimOf(ctx, ac.Org.ID, domain)
	if err != nil {
		return DomainVerification{}, err
	}
	if claim.Verified {
		return claim, nil
	}
	if err := s.rateLimit(ctx, "domain-verify:"+ac.Org.ID, ruleDomainVerify); err != nil {
		return DomainVerification{}, err
	}
	if !s.txtRecordPresent(ctx, claim) {
		return DomainVerification{}, &Error{Code: CodeDomainUnverified, Field: "domain",
			Message: "No TXT record " + claim.TXTName() + " with the value " + claim.TXTValue() + " was found. DNS changes can take a few minutes."}
	}
	return s.markVerified(ctx, claim, actorOf(ac), ac.Meta)
}

// AdminVerifySSODomain (admin.sso_domains.verify) is the operator's
// override: it marks a claim verified without DNS. orgID picks the claim
// when several orgs claim the domain.
func (s *Service) AdminVerifySSODomain(ctx context.Context, ac *AuthContext, domain, orgID string) (DomainVerification, error) {
	if err := RequireOperator(ac); err != nil {
		return DomainVerification{}, err
	}
	domain = normalizeDomain(domain)
	if !validDomain(domain) {
		return DomainVerification{}, Invalid("domain", "Give a domain name.")
	}
	claims, err := s.Store.SSODomainClaims(ctx, domain)
	if err != nil {
		return DomainVerification{}, err
	}
	if orgID != "" {
		claims = slices.DeleteFunc(claims, func(c DomainVerification) bool { return c.OrgID != orgID })
	}
	switch {
	case len(claims) == 0:
		return DomainVerification{}, Errorf(CodeNotFound, "No organization claims this domain.")
	case len(claims) > 1:
		return DomainVerification{}, Invalid("org_id", "Several organizations claim this domain: name one with org_id.")
	}
	v, err := s.markVerified(ctx, claims[0], ac.OperatorID(), ac.Meta)
	if err == nil {
		s.auditAdmin(ctx, ac, "admin.sso_domain.verified", domain, v.OrgID, nil)
	}
	return v, err
}

func (s *Service) claimOf(ctx context.Context, orgID, domain string) (DomainVerification, error) {
	claims, err := s.Store.SSODomainClaims(ctx, domain)
	if err != nil {
		return DomainVerification{}, err
	}
	for _, c := range claims {
		if c.OrgID == orgID {
			return c, nil
		}
	}
	return DomainVerification{}, &Error{Code: CodeNotFound, Field: "domain", Message: "No SSO connection of this organization lists this domain."}
}

func (s *Service) markVerified(ctx context.Context, claim DomainVerification, actor string, m Meta) (DomainVerification, error) {
	now := s.now()
	err := s.Store.VerifySSODomain(ctx, claim.OrgID, claim.Domain, now)
	switch {
	case errors.Is(err, ErrConflict):
		return DomainVerification{}, &Error{Code: CodeDomainTaken, Field: "domain", Message: "Another organization has verified this domain."}
	case errors.Is(err, ErrNotFound):
		return DomainVerification{}, &Error{Code: CodeNotFound, Field: "domain", Message: "No SSO connection of this organization lists this domain."}
	case err != nil:
		return DomainVerification{}, err
	}
	claim.Verified, claim.VerifiedAt = true, now
	s.audit(ctx, AuditEvent{ActorID: actor, OrgID: claim.OrgID, Action: "sso_domain.verified", Target: claim.Domain, IP: m.IP, UserAgent: m.UserAgent})
	return claim, nil
}

// txtRecordPresent reports whether the claim's TXT record is published.
// Any lookup failure counts as absent: the org retries.
func (s *Service) txtRecordPresent(ctx context.Context, claim DomainVerification) bool {
	ctx, cancel := context.WithTimeout(ctx, dnsTimeout)
	defer cancel()
	records, err := s.resolver().LookupTXT(ctx, claim.TXTName())
	if err != nil {
		s.Logger.InfoContext(ctx, "sso domain TXT lookup failed", "name", claim.TXTName(), "err", err)
		return false
	}
	for _, r := range records {
		if strings.TrimSpace(r) == claim.TXTValue() {
			return true
		}
	}
	return false
}

func normalizeDomain(d string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d)), ".")
}

// domainVerified reports whether the connection's org has proven domain.
func (c SSOConnection) domainVerified(domain string) bool {
	for _, v := range c.Verifications {
		if v.Domain == domain && v.Verified {
			return true
		}
	}
	return false
}
