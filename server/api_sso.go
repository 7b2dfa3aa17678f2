package server

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/latchkey/latchkey"
	"github.com/latchkey/latchkey/oauth"
	"github.com/latchkey/latchkey/sso"
)

type ssoConnectionRequest struct {
	Protocol       string   `json:"protocol"`
	Domains        []string `json:"domains"`
	Enforced       bool     `json:"enforced"`
	Issuer         string   `json:"issuer,omitempty"`
	ClientID       string   `json:"client_id,omitempty"`
	ClientSecret   string   `json:"client_secret,omitempty"`
	IdPMetadataURL string   `json:"idp_metadata_url,omitempty"`
	IdPMetadataXML string   `json:"idp_metadata_xml,omitempty"`
}

// ssoConnectionJSON is a connection as the API shows it: never the client
// secret. The URLs are what the IdP administrator pastes.
type ssoConnectionJSON struct {
	ID              string    `json:"id"`
	Protocol        string    `json:"protocol"`
	Domains         []string  `json:"domains"`
	Enforced        bool      `json:"enforced"`
	CreatedAt       time.Time `json:"created_at"`
	StartURL        string    `json:"start_url"`
	Issuer          string    `json:"issuer,omitempty"`
	ClientID        string    `json:"client_id,omitempty"`
	OIDCRedirectURI string    `json:"oidc_redirect_uri,omitempty"`
	IdPMetadataURL  string    `json:"idp_metadata_url,omitempty"`
	SAMLMetadataURL string    `json:"saml_metadata_url,omitempty"`
	SAMLACSURL      string    `json:"saml_acs_url,omitempty"`
	// DomainVerifications say, per domain, whether the org has proven it
	// and which TXT record proves it (contract §10).
	DomainVerifications []domainVerificationJSON `json:"domain_verifications"`
}

type domainVerificationJSON struct {
	Domain   string `json:"domain"`
	Verified bool   `json:"verified"`
	TXTName  string `json:"txt_name"`
	TXTValue string `json:"txt_value"`
}

func toDomainVerificationJSON(v latchkey.DomainVerification) domainVerificationJSON {
	return domainVerificationJSON{Domain: v.Domain, Verified: v.Verified, TXTName: v.TXTName(), TXTValue: v.TXTValue()}
}

type domainRequest struct {
	Domain string `json:"domain"`
}

type adminDomainRequest struct {
	Domain string `json:"domain"`
	OrgID  string `json:"org_id,omitempty"`
}

type domainVerificationBody struct {
	DomainVerification domainVerificationJSON `json:"domain_verification"`
}

func (s *Server) toSSOConnectionJSON(c latchkey.SSOConnection) ssoConnectionJSON {
	u := s.ssoURLs(c.ID)
	j := ssoConnectionJSON{ID: c.ID, Protocol: c.Protocol, Domains: c.Domains, Enforced: c.Enforced, CreatedAt: c.CreatedAt, StartURL: u.start}
	if j.Domains == nil {
		j.Domains = []string{}
	}
	j.DomainVerifications = []domainVerificationJSON{}
	for _, v := range c.Verifications {
		j.DomainVerifications = append(j.DomainVerifications, toDomainVerificationJSON(v))
	}
	switch c.Protocol {
	case latchkey.SSOProtocolOIDC:
		j.Issuer, j.ClientID, j.OIDCRedirectURI = c.Issuer, c.ClientID, u.oidcCallback
	case latchkey.SSOProtocolSAML:
		j.IdPMetadataURL, j.SAMLMetadataURL, j.SAMLACSURL = c.IdPMetadataURL, u.samlMetadata, u.samlACS
	}
	return j
}

type ssoConnectionBody struct {
	SSOConnection ssoConnectionJSON `json:"sso_connection"`
}

type ssoConnectionsBody struct {
	SSOConnections []ssoConnectionJSON `json:"sso_connections"`
}

type idRequest struct {
	ID string `json:"id"`
}

type discoverRequest struct {
	Email string `json:"email"`
}

// discoverJSON is {"sso": false}, or the connection's facts when true.
type discoverJSON struct {
	SSO          bool   `json:"sso"`
	Required     *bool  `json:"required,omitempty"`
	ConnectionID string `json:"connection_id,omitempty"`
	Protocol     string `json:"protocol,omitempty"`
	StartURL     string `json:"start_url,omitempty"`
}

func (s *Server) ssoOps() []operation {
	return []operation{
		rpc("org.sso_connections.create", authAny, "Add an OIDC or SAML SSO connection for email domains of the organization.",
			func(c *call, req ssoConnectionRequest) (ssoConnectionBody, error) {
				if err := latchkey.RequireAdmin(c.auth); err != nil {
					return ssoConnectionBody{}, err
				}
				in, err := s.ssoConnectionInput(c.ctx, req)
				if err != nil {
					return ssoConnectionBody{}, err
				}
				conn, err := s.svc.CreateSSOConnection(c.ctx, c.auth, in)
				if err != nil {
					return ssoConnectionBody{}, err
				}
				return ssoConnectionBody{s.toSSOConnectionJSON(conn)}, nil
			}),
		rpc("org.sso_connections.list", authAny, "List the organization's SSO connections (never their secrets).",
			func(c *call, _ empty) (ssoConnectionsBody, error) {
				list, err := s.svc.ListSSOConnections(c.ctx, c.auth)
				if err != nil {
					return ssoConnectionsBody{}, err
				}
				out := ssoConnectionsBody{SSOConnections: []ssoConnectionJSON{}}
				for _, conn := range list {
					out.SSOConnections = append(out.SSOConnections, s.toSSOConnectionJSON(conn))
				}
				return out, nil
			}).read(),
		rpc("org.sso_connections.delete", authAny, "Delete an SSO connection and free its domains.",
			func(c *call, req idRequest) (empty, error) {
				return empty{}, s.svc.DeleteSSOConnection(c.ctx, c.auth, req.ID)
			}),
		rpc("org.sso_domains.verify", authAny, "Prove a domain of the organization's SSO connections by its DNS TXT record.",
			func(c *call, req domainRequest) (domainVerificationBody, error) {
				v, err := s.svc.VerifySSODomain(c.ctx, c.auth, req.Domain)
				return domainVerificationBody{toDomainVerificationJSON(v)}, err
			}),
		rpc("admin.sso_domains.verify", authAdmin, "Mark a claimed SSO domain verified without DNS (operators' override).",
			func(c *call, req adminDomainRequest) (domainVerificationBody, error) {
				v, err := s.svc.AdminVerifySSODomain(c.ctx, c.auth, req.Domain, req.OrgID)
				return domainVerificationBody{toDomainVerificationJSON(v)}, err
			}),
		rpc("auth.sso.discover", authNone, "Tell whether an email's domain signs in through SSO, and where.",
			func(c *call, req discoverRequest) (discoverJSON, error) {
				d, err := s.svc.DiscoverSSO(c.ctx, req.Email)
				if err != nil || d.Connection == nil {
					return discoverJSON{}, err
				}
				required := d.Connection.Enforced
				return discoverJSON{SSO: true, Required: &required, ConnectionID: d.Connection.ID,
					Protocol: d.Connection.Protocol, StartURL: s.ssoURLs(d.Connection.ID).start}, nil
			}),
	}
}

// ssoConnectionInput checks the protocol side of a new connection: SAML
// metadata is fetched (when given by URL) and must parse; an OIDC issuer
// must answer its discovery document.
func (s *Server) ssoConnectionInput(ctx context.Context, req ssoConnectionRequest) (latchkey.SSOConnectionInput, error) {
	in := latchkey.SSOConnectionInput{
		Protocol: req.Protocol, Domains: req.Domains, Enforced: req.Enforced,
		Issuer: req.Issuer, ClientID: req.ClientID, ClientSecret: req.ClientSecret,
		IdPMetadataURL: req.IdPMetadataURL, IdPMetadataXML: req.IdPMetadataXML,
	}
	switch req.Protocol {
	case latchkey.SSOProtocolOIDC:
		return in, s.checkOIDCIssuer(ctx, req)
	case latchkey.SSOProtocolSAML:
	default:
		return in, nil
	}
	switch {
	case req.IdPMetadataURL != "" && req.IdPMetadataXML != "":
		return in, latchkey.Invalid("idp_metadata_url", "Give idp_metadata_url or idp_metadata_xml, not both.")
	case req.IdPMetadataURL != "":
		data, err := sso.FetchIdPMetadata(ctx, s.ssoHTTPClient(), req.IdPMetadataURL)
		if err == nil {
			_, err = sso.ParseIdPMetadata(data)
		}
		if err != nil {
			return in, s.idpUnreachable(ctx, "idp_metadata_url", err)
		}
		in.IdPMetadataXML = string(data)
	case req.IdPMetadataXML == "":
		return in, latchkey.Invalid("idp_metadata_url", "Give idp_metadata_url or idp_metadata_xml.")
	default:
		if _, err := sso.ParseIdPMetadata([]byte(in.IdPMetadataXML)); err != nil {
			msg := "The IdP metadata is not usable SAML 2.0 IdP metadata."
			if errors.Is(err, sso.ErrInvalidMetadata) {
				msg = "The IdP metadata is not usable: it needs an IDPSSODescriptor with an HTTP-Redirect SingleSignOnService and a signing certificate."
			}
			return in, latchkey.Invalid("idp_metadata_xml", "%s", msg)
		}
	}
	return in, nil
}

// checkOIDCIssuer fetches the issuer's discovery document, once the
// fields the domain checks are there (so their errors come first).
func (s *Server) checkOIDCIssuer(ctx context.Context, req ssoConnectionRequest) error {
	u, err := url.Parse(req.Issuer)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || req.ClientID == "" || req.ClientSecret == "" ||
		req.IdPMetadataURL != "" || req.IdPMetadataXML != "" {
		return nil
	}
	p := oauth.NewOIDC(oauth.Config{ID: "sso_new", Name: "SSO", ClientID: req.ClientID, ClientSecret: req.ClientSecret,
		Issuer: strings.TrimRight(req.Issuer, "/"), HTTPClient: s.ssoHTTPClient(), Now: s.svc.Now})
	if err := p.Discover(ctx); err != nil {
		return s.idpUnreachable(ctx, "issuer", err)
	}
	return nil
}

// idpUnreachable is the one answer to every failure of fetching from an
// IdP at creation: refused address, no answer, HTTP error or unusable
// document alike, so the API cannot be used to probe hosts and ports. The
// detail goes to the log, with the request id.
func (s *Server) idpUnreachable(ctx context.Context, field string, err error) error {
	s.log.InfoContext(ctx, "sso connection: identity provider fetch failed", "field", field, "err", err)
	return latchkey.Invalid(field, "No usable identity provider configuration could be fetched from that URL.")
}
