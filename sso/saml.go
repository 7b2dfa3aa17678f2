// Package sso holds the protocol side of enterprise single sign-on: a SAML
// 2.0 service provider for one connection (built on crewjam/saml) that
// builds AuthnRequests, checks the identity provider's responses and
// publishes SP metadata. It verifies and returns an identity; storing
// request and assertion IDs, provisioning users and issuing sessions are the
// caller's business.
package sso

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	dsig "github.com/russellhaering/goxmldsig"
)

// Errors of ParseResponse. Every failure matches ErrInvalidResponse; the
// ones below also match when the cause is known.
var (
	ErrInvalidResponse  = errors.New("sso: invalid SAML response")
	ErrInvalidSignature = errors.New("sso: SAML response signature invalid")
	ErrExpired          = errors.New("sso: SAML assertion expired or not yet valid")
	ErrAudience         = errors.New("sso: SAML assertion is for another audience")
	ErrRecipient        = errors.New("sso: SAML response is for another recipient")
	ErrRequestID        = errors.New("sso: SAML response answers no pending request")
	ErrIssuer           = errors.New("sso: SAML response from another issuer")
	ErrNoEmail          = errors.New("sso: SAML assertion carries no email address")
	ErrReplayed         = errors.New("sso: SAML assertion already used")
)

// ReplayCache remembers accepted assertion IDs. Consume records id until
// expires and returns ErrReplayed if it was already recorded; any other
// error refuses the assertion too. It must be shared by every server
// accepting assertions for the connection (the database, in Latchkey).
type ReplayCache interface {
	Consume(id string, expires time.Time) error
}

// SAMLConfig describes the service provider side of one SAML connection.
type SAMLConfig struct {
	// EntityID is the SP entity ID, the audience the IdP must name. Empty
	// means MetadataURL, which is what most deployments use.
	EntityID string
	// MetadataURL is where this SP's metadata is served.
	MetadataURL string
	// ACSURL is the assertion consumer service: where the IdP posts.
	ACSURL string
	// KeyPair signs AuthnRequests and decrypts encrypted assertions.
	KeyPair KeyPair
	// IdP is the identity provider's metadata.
	IdP *IdPMetadata
	// Replays, when set, refuses an assertion ID seen before. Without it
	// the caller must check Identity.AssertionID itself.
	Replays ReplayCache
}

// ServiceProvider is the SAML service provider of one connection.
type ServiceProvider struct {
	sp      saml.ServiceProvider
	replays ReplayCache
}

// NewServiceProvider builds the service provider for cfg.
func NewServiceProvider(cfg SAMLConfig) (*ServiceProvider, error) {
	if cfg.IdP == nil {
		return nil, errors.New("sso: no IdP metadata")
	}
	if cfg.KeyPair.Key == nil || cfg.KeyPair.Certificate == nil {
		return nil, errors.New("sso: no SP key pair")
	}
	metadataURL, err := absoluteURL(cfg.MetadataURL)
	if err != nil {
		return nil, fmt.Errorf("sso: metadata URL: %w", err)
	}
	acsURL, err := absoluteURL(cfg.ACSURL)
	if err != nil {
		return nil, fmt.Errorf("sso: ACS URL: %w", err)
	}
	return &ServiceProvider{sp: saml.ServiceProvider{
		EntityID:                         cfg.EntityID,
		Key:                              cfg.KeyPair.Key,
		Certificate:                      cfg.KeyPair.Certificate,
		MetadataURL:                      *metadataURL,
		AcsURL:                           *acsURL,
		IDPMetadata:                      cfg.IdP.entity,
		AuthnNameIDFormat:                saml.UnspecifiedNameIDFormat,
		SignatureMethod:                  dsig.RSASHA256SignatureMethod,
		AssertionConsumerServiceBindings: []string{saml.HTTPPostBinding},
		// SHA-1 signatures are forgeable in practice; every IdP the docs
		// cover signs with SHA-256.
		RejectSHA1Signatures: true,
		// Responses must answer a request this SP made (InResponseTo),
		// which is what binds them to the browser that started sign-in.
		AllowIDPInitiated: false,
	}, replays: cfg.Replays}, nil
}

func absoluteURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute http(s) URL", raw)
	}
	return u, nil
}

// AuthnRequest builds a signed HTTP-Redirect AuthnRequest carrying
// relayState. It returns the IdP URL to send the browser to and the request
// ID, which the caller keeps (bound to the browser) and later passes to
// ParseResponse.
func (p *ServiceProvider) AuthnRequest(relayState string) (redirectURL, requestID string, err error) {
	dest := p.sp.GetSSOBindingLocation(saml.HTTPRedirectBinding)
	req, err := p.sp.MakeAuthenticationRequest(dest, saml.HTTPRedirectBinding, saml.HTTPPostBinding)
	if err != nil {
		return "", "", err
	}
	u, err := req.Redirect(relayState, &p.sp)
	if err != nil {
		return "", "", err
	}
	return u.String(), req.ID, nil
}

// Metadata returns this SP's metadata document, for the IdP administrator.
func (p *ServiceProvider) Metadata() ([]byte, error) {
	b, err := xml.MarshalIndent(p.sp.Metadata(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), b...), nil
}

// EntityID is the SP entity ID (the audience).
func (p *ServiceProvider) EntityID() string {
	if p.sp.EntityID != "" {
		return p.sp.EntityID
	}
	return p.sp.MetadataURL.String()
}

// Identity is what a valid SAML response says about the user.
type Identity struct {
	// Subject is the NameID, stable for the user at this IdP; for a
	// transient NameID, which changes at each sign-in, it is the email.
	Subject string
	// Email is the NameID when its format is emailAddress, else the first
	// email attribute, else a NameID that looks like an address;
	// lower-cased.
	Email string
	// Name is the display name, when the IdP sends one.
	Name string
	// AssertionID and AssertionExpiry let the caller refuse a replay: store
	// the ID until the expiry and reject it if seen again.
	AssertionID     string
	AssertionExpiry time.Time
}

// ParseResponse checks the SAMLResponse posted in r (HTTP-POST binding):
// the Response or its Assertion must be signed by a certificate from the
// IdP metadata, address this ACS, answer one of requestIDs, name this SP as
// audience and be within its time bounds. The caller still refuses replays
// by Identity.AssertionID. r's body should be size-limited by the caller.
func (p *ServiceProvider) ParseResponse(r *http.Request, requestIDs []string) (Identity, error) {
	if err := r.ParseForm(); err != nil {
		return Identity{}, responseError(err)
	}
	if r.PostForm.Get("SAMLResponse") == "" {
		return Identity{}, responseError(errors.New("no SAMLResponse in the form"))
	}
	if r.Form.Get("SAMLart") != "" {
		// The artifact binding would make this server call the IdP; it
		// is not advertised in the SP metadata.
		return Identity{}, responseError(errors.New("artifact binding not supported"))
	}
	assertion, err := p.sp.ParseResponse(r, requestIDs)
	if err != nil {
		return Identity{}, responseError(err)
	}
	id := identityOf(assertion)
	if id.Email == "" {
		return Identity{}, &parseError{kinds: []error{ErrInvalidResponse, ErrNoEmail}}
	}
	if id.Subject == "" {
		id.Subject = id.Email
	}
	if p.replays != nil {
		if err := p.replays.Consume(id.AssertionID, id.AssertionExpiry); err != nil {
			kinds := []error{ErrInvalidResponse}
			if errors.Is(err, ErrReplayed) {
				kinds = append(kinds, ErrReplayed)
			}
			return Identity{}, &parseError{detail: err, kinds: kinds}
		}
	}
	return id, nil
}

// parseError keeps crewjam's detail for logs and matches this package's
// error kinds with errors.Is.
type parseError struct {
	detail error
	kinds  []error
}

func (e *parseError) Error() string {
	if e.detail == nil {
		return e.kinds[len(e.kinds)-1].Error()
	}
	return fmt.Sprintf("%v: %v", e.kinds[len(e.kinds)-1], e.detail)
}

func (e *parseError) Unwrap() []error { return e.kinds }

// responseKinds maps crewjam's classified errors to this package's.
var responseKinds = []struct{ from, to error }{
	{saml.ErrInvalidSignature, ErrInvalidSignature},
	{saml.ErrExpired, ErrExpired},
	{saml.ErrNotYetValid, ErrExpired},
	{saml.ErrAudienceMismatch, ErrAudience},
	{saml.ErrDestinationMismatch, ErrRecipient},
	{saml.ErrRequestIDMismatch, ErrRequestID},
	{saml.ErrIssuerMismatch, ErrIssuer},
}

func responseError(err error) error {
	kinds := []error{ErrInvalidResponse}
	for _, k := range responseKinds {
		if errors.Is(err, k.from) {
			kinds = append(kinds, k.to)
			break
		}
	}
	var ire *saml.InvalidResponseError
	if errors.As(err, &ire) {
		if len(kinds) == 1 && ire.Response != "" && !hasSignature(ire.Response) {
			// crewjam does not classify a missing signature.
			kinds = append(kinds, ErrInvalidSignature)
		}
		if ire.PrivateErr != nil {
			err = ire.PrivateErr
		}
	}
	return &parseError{detail: err, kinds: kinds}
}

// hasSignature reports whether an XML document holds an XML-DSig
// Signature element anywhere.
func hasSignature(doc string) bool {
	d := etree.NewDocument()
	if err := d.ReadFromString(doc); err != nil {
		return true // malformed: not a missing-signature case
	}
	for _, el := range d.FindElements("//Signature") {
		if el.NamespaceURI() == "http://www.w3.org/2000/09/xmldsig#" {
			return true
		}
	}
	return false
}

// Attribute names that carry an email address or a display name, as sent
// by Entra ID, Okta, Google Workspace and LDAP-schema IdPs.
var (
	emailAttributes = []string{
		"email", "mail", "emailaddress", "Email", "EmailAddress", "user.email",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
		"urn:oid:0.9.2342.19200300.100.1.3",
	}
	nameAttributes = []string{
		"name", "displayName", "displayname", "Name", "cn",
		"http://schemas.microsoft.com/identity/claims/displayname",
		"urn:oid:2.16.840.1.113730.3.1.241", // displayName
		"urn:oid:2.5.4.3",                   // cn
	}
	givenNameAttributes = []string{
		"firstName", "givenName", "given_name", "first_name",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
		"urn:oid:2.5.4.42",
	}
	surnameAttributes = []string{
		"lastName", "surname", "sn", "family_name", "last_name",
		"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
		"urn:oid:2.5.4.4",
	}
)

func identityOf(a *saml.Assertion) Identity {
	id := Identity{AssertionID: a.ID, AssertionExpiry: assertionExpiry(a)}
	attrs := map[string]string{}
	for _, st := range a.AttributeStatements {
		for _, at := range st.Attributes {
			if len(at.Values) == 0 {
				continue
			}
			v := strings.TrimSpace(at.Values[0].Value)
			for _, key := range []string{at.Name, at.FriendlyName} {
				if _, seen := attrs[key]; key != "" && !seen && v != "" {
					attrs[key] = v
				}
			}
		}
	}
	// The email is the NameID when its format says so, else an email
	// attribute, else a NameID that looks like an address.
	var nameID string
	if n := a.Subject.NameID; n != nil {
		nameID = strings.TrimSpace(n.Value)
		if n.Format != string(saml.TransientNameIDFormat) {
			id.Subject = nameID
		}
		if n.Format == string(saml.EmailAddressNameIDFormat) && looksLikeEmail(nameID) {
			id.Email = strings.ToLower(nameID)
		}
	}
	if v := first(attrs, emailAttributes); id.Email == "" && looksLikeEmail(v) {
		id.Email = strings.ToLower(v)
	}
	if id.Email == "" && looksLikeEmail(nameID) {
		id.Email = strings.ToLower(nameID)
	}
	id.Name = first(attrs, nameAttributes)
	if id.Name == "" {
		id.Name = strings.TrimSpace(first(attrs, givenNameAttributes) + " " + first(attrs, surnameAttributes))
	}
	return id
}

func first(attrs map[string]string, names []string) string {
	for _, n := range names {
		if v := attrs[n]; v != "" {
			return v
		}
	}
	return ""
}

func looksLikeEmail(s string) bool {
	at := strings.LastIndexByte(s, '@')
	return at > 0 && at < len(s)-1 && !strings.ContainsAny(s, " \t\r\n<>")
}

// assertionExpiry is the last moment the assertion could be accepted:
// crewjam refuses any assertion more than MaxIssueDelay after its
// IssueInstant, whatever its NotOnOrAfter bounds say.
func assertionExpiry(a *saml.Assertion) time.Time {
	return a.IssueInstant.Add(saml.MaxIssueDelay)
}

// metadataContentType is the media type of SAML metadata (saml-metadata §4.1).
const metadataContentType = "application/samlmetadata+xml"

// ServeMetadata writes the SP metadata.
func (p *ServiceProvider) ServeMetadata(w http.ResponseWriter, _ *http.Request) {
	b, err := p.Metadata()
	if err != nil {
		http.Error(w, "metadata unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", metadataContentType)
	http.ServeContent(w, &http.Request{}, "", time.Time{}, bytes.NewReader(b))
}
