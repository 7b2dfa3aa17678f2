// Package ssotest runs a SAML 2.0 identity provider in-process, for tests:
// it signs in a configurable user without asking anything and can answer
// with hostile responses (tampered, unsigned, for another audience,
// expired, or reusing an assertion ID) to prove the service provider
// refuses them.
package ssotest

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/beevik/etree"
	"github.com/crewjam/saml"
	"github.com/crewjam/saml/logger"

	"github.com/latchkey/latchkey/sso"
)

// Mode selects what the IdP answers to the next AuthnRequests.
type Mode int

// Modes of the IdP.
const (
	// Honest answers with a Response and Assertion both signed.
	Honest Mode = iota
	// Tampered signs, then rewrites the NameID and email attribute to
	// Tamper's address, breaking both signatures.
	Tampered
	// Unsigned sends a Response and Assertion with no signature at all.
	Unsigned
	// WrongAudience signs an assertion whose audience is another SP.
	WrongAudience
	// Expired signs an assertion issued and expired an hour ago.
	Expired
	// ReplayAssertion signs a fresh response to the new request that reuses
	// the ID of the previous assertion the IdP issued.
	ReplayAssertion
)

// Tamper is the address a Tampered response claims.
const Tamper = "attacker@evil.example"

// User is whom the IdP signs in.
type User struct {
	// NameID is the subject; NameIDFormat defaults to persistent.
	NameID       string
	NameIDFormat string
	Email        string
	Name         string
}

// Form is a response as the IdP posts it to the ACS.
type Form struct {
	ACSURL       string
	SAMLResponse string
	RelayState   string
}

// Values is the form as url.Values, ready to post again.
func (f Form) Values() url.Values {
	return url.Values{"SAMLResponse": {f.SAMLResponse}, "RelayState": {f.RelayState}}
}

// IdP is an in-process SAML identity provider on 127.0.0.1.
type IdP struct {
	// MetadataURL serves the IdP metadata; it is also the IdP entity ID.
	MetadataURL string
	// SSOURL receives AuthnRequests (HTTP-Redirect binding).
	SSOURL string

	idp    saml.IdentityProvider
	server *httptest.Server

	mu              sync.Mutex
	user            User
	mode            Mode
	encrypt         bool
	sps             map[string]*saml.EntityDescriptor
	last            Form
	lastAssertionID string
	lastErr         error
}

// New starts an IdP that signs in user, stopped when the test ends.
func New(t testing.TB, user User) *IdP {
	t.Helper()
	certPEM, keyPEM, err := sso.GenerateKeyPair("ssotest IdP", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	kp, err := sso.ParseKeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	p := &IdP{user: user, sps: map[string]*saml.EntityDescriptor{}}
	var handler http.Handler
	p.server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(p.server.Close)
	metadataURL, _ := url.Parse(p.server.URL + "/metadata")
	ssoURL, _ := url.Parse(p.server.URL + "/sso")
	p.idp = saml.IdentityProvider{
		Key:                     kp.Key,
		Signer:                  kp.Key,
		Certificate:             kp.Certificate,
		Logger:                  logger.DefaultLogger,
		MetadataURL:             *metadataURL,
		SSOURL:                  *ssoURL,
		ServiceProviderProvider: p,
		SessionProvider:         p,
		AssertionMaker:          p,
		ResponseWriter:          p,
		NameIDFormats:           []saml.NameIDFormat{saml.PersistentNameIDFormat, saml.EmailAddressNameIDFormat},
		OnError: func(w http.ResponseWriter, r *http.Request, status int, err error) {
			p.mu.Lock()
			p.lastErr = err
			p.mu.Unlock()
			http.Error(w, err.Error(), status)
		},
	}
	handler = p.idp.Handler()
	p.MetadataURL = p.idp.MetadataURL.String()
	p.SSOURL = p.idp.SSOURL.String()
	return p
}

// Metadata returns the IdP metadata XML, as an administrator would paste it.
func (p *IdP) Metadata() []byte {
	b, err := xml.MarshalIndent(p.idp.Metadata(), "", "  ")
	if err != nil {
		panic(err) // the IdP's own metadata always marshals
	}
	return b
}

// SetUser changes whom the IdP signs in.
func (p *IdP) SetUser(u User) { p.mu.Lock(); p.user = u; p.mu.Unlock() }

// SetMode changes what the IdP answers.
func (p *IdP) SetMode(m Mode) { p.mu.Lock(); p.mode = m; p.mu.Unlock() }

// SetEncrypt makes the IdP encrypt assertions to the SP's encryption
// certificate when its metadata has one (off by default).
func (p *IdP) SetEncrypt(on bool) { p.mu.Lock(); p.encrypt = on; p.mu.Unlock() }

// LastForm is the last response the IdP sent, for replaying it as is.
func (p *IdP) LastForm() Form { p.mu.Lock(); defer p.mu.Unlock(); return p.last }

// LastError is the last error the IdP answered a request with.
func (p *IdP) LastError() error { p.mu.Lock(); defer p.mu.Unlock(); return p.lastErr }

// RegisterSP trusts a service provider by its metadata XML. An SP that is
// not registered is looked up by fetching its entity ID as a URL, as an
// administrator pastes the SP metadata URL into an IdP.
func (p *IdP) RegisterSP(metadata []byte) error {
	var e saml.EntityDescriptor
	if err := xml.Unmarshal(metadata, &e); err != nil {
		return err
	}
	p.mu.Lock()
	p.sps[e.EntityID] = &e
	p.mu.Unlock()
	return nil
}

// GetServiceProvider implements saml.ServiceProviderProvider.
func (p *IdP) GetServiceProvider(r *http.Request, id string) (*saml.EntityDescriptor, error) {
	p.mu.Lock()
	e, encrypt := p.sps[id], p.encrypt
	p.mu.Unlock()
	if e == nil {
		var err error
		if e, err = fetchSP(r, id); err != nil {
			return nil, err
		}
	}
	if encrypt {
		return e, nil
	}
	// Unless asked to encrypt, keep assertions in the clear so a Tampered
	// response can rewrite them: many IdPs do not encrypt.
	c := *e
	c.SPSSODescriptors = append([]saml.SPSSODescriptor(nil), e.SPSSODescriptors...)
	for i := range c.SPSSODescriptors {
		var keep []saml.KeyDescriptor
		for _, kd := range c.SPSSODescriptors[i].KeyDescriptors {
			if kd.Use != "encryption" {
				keep = append(keep, kd)
			}
		}
		c.SPSSODescriptors[i].KeyDescriptors = keep
	}
	return &c, nil
}

func fetchSP(r *http.Request, id string) (*saml.EntityDescriptor, error) {
	u, err := url.Parse(id)
	if err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost") {
		return nil, os.ErrNotExist
	}
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, id, nil)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback test servers
	}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, os.ErrNotExist
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var e saml.EntityDescriptor
	if err := xml.Unmarshal(b, &e); err != nil {
		return nil, err
	}
	if e.EntityID != id {
		return nil, fmt.Errorf("SP metadata at %s names entity %q", id, e.EntityID)
	}
	return &e, nil
}

// GetSession implements saml.SessionProvider: the user is always signed in.
func (p *IdP) GetSession(_ http.ResponseWriter, _ *http.Request, _ *saml.IdpAuthnRequest) *saml.Session {
	p.mu.Lock()
	u := p.user
	p.mu.Unlock()
	format := u.NameIDFormat
	if format == "" {
		format = string(saml.PersistentNameIDFormat)
	}
	now := time.Now()
	return &saml.Session{
		ID: "session", CreateTime: now, ExpireTime: now.Add(time.Hour), Index: "1",
		NameID: u.NameID, NameIDFormat: format,
		UserEmail: u.Email, UserCommonName: u.Name,
	}
}

// MakeAssertion implements saml.AssertionMaker, bending the assertion as
// the mode asks before it is signed.
func (p *IdP) MakeAssertion(req *saml.IdpAuthnRequest, s *saml.Session) error {
	if err := (saml.DefaultAssertionMaker{}).MakeAssertion(req, s); err != nil {
		return err
	}
	p.mu.Lock()
	mode, lastID := p.mode, p.lastAssertionID
	p.mu.Unlock()
	a := req.Assertion
	switch mode {
	case WrongAudience:
		a.Conditions.AudienceRestrictions = []saml.AudienceRestriction{{Audience: saml.Audience{Value: "https://other-sp.example/metadata"}}}
	case Expired:
		ago := -time.Hour
		a.IssueInstant = a.IssueInstant.Add(ago)
		a.Conditions.NotBefore = a.Conditions.NotBefore.Add(ago)
		a.Conditions.NotOnOrAfter = a.Conditions.NotOnOrAfter.Add(ago)
		for i := range a.Subject.SubjectConfirmations {
			d := a.Subject.SubjectConfirmations[i].SubjectConfirmationData
			d.NotOnOrAfter = d.NotOnOrAfter.Add(ago)
		}
	case ReplayAssertion:
		if lastID == "" {
			return errors.New("ssotest: no earlier assertion to replay")
		}
		a.ID = lastID
	}
	return nil
}

// WriteResponse implements saml.ResponseWriter: it builds the (possibly
// hostile) Response and writes an auto-submitting form to the ACS.
func (p *IdP) WriteResponse(w http.ResponseWriter, req *saml.IdpAuthnRequest) error {
	p.mu.Lock()
	mode := p.mode
	p.mu.Unlock()
	var el *etree.Element
	var err error
	switch mode {
	case Unsigned:
		el = unsignedResponse(req)
	default:
		if err = req.MakeResponse(); err != nil {
			return err
		}
		el = req.ResponseEl
		if mode == Tampered {
			tamper(el)
		}
	}
	doc := etree.NewDocument()
	doc.SetRoot(el)
	b, err := doc.WriteToBytes()
	if err != nil {
		return err
	}
	f := Form{ACSURL: req.ACSEndpoint.Location, SAMLResponse: base64.StdEncoding.EncodeToString(b), RelayState: req.RelayState}
	p.mu.Lock()
	p.last = f
	if mode == Honest {
		p.lastAssertionID = req.Assertion.ID
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return formTemplate.Execute(w, f)
}

func unsignedResponse(req *saml.IdpAuthnRequest) *etree.Element {
	r := &saml.Response{
		Destination:  req.ACSEndpoint.Location,
		ID:           "id-unsigned-" + req.Assertion.ID,
		InResponseTo: req.Request.ID,
		IssueInstant: req.Now,
		Version:      "2.0",
		Issuer:       &saml.Issuer{Format: "urn:oasis:names:tc:SAML:2.0:nameid-format:entity", Value: req.IDP.MetadataURL.String()},
		Status:       saml.Status{StatusCode: saml.StatusCode{Value: saml.StatusSuccess}},
	}
	el := r.Element()
	el.AddChild(req.Assertion.Element())
	return el
}

// tamper rewrites the NameID and every attribute value that is an email
// address, leaving the signatures as they were.
func tamper(response *etree.Element) {
	for _, el := range response.FindElements("//NameID") {
		el.SetText(Tamper)
	}
	for _, el := range response.FindElements("//AttributeValue") {
		if strings.Contains(el.Text(), "@") {
			el.SetText(Tamper)
		}
	}
}

var formTemplate = template.Must(template.New("post").Parse(`<!doctype html>
<html><head><title>Signing in</title></head><body>
<form method="post" action="{{.ACSURL}}" id="f">
<input type="hidden" name="SAMLResponse" value="{{.SAMLResponse}}">
<input type="hidden" name="RelayState" value="{{.RelayState}}">
<noscript><button type="submit">Continue</button></noscript>
</form>
<script>document.getElementById('f').submit()</script>
</body></html>`))

var (
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	inputRE  = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// ParseForm reads the auto-submitting form the IdP answered with.
func ParseForm(page []byte) (Form, error) {
	m := actionRE.FindSubmatch(page)
	if m == nil {
		return Form{}, fmt.Errorf("ssotest: no SAML form in %.200q", page)
	}
	f := Form{ACSURL: html.UnescapeString(string(m[1]))}
	for _, in := range inputRE.FindAllSubmatch(page, -1) {
		v := html.UnescapeString(string(in[2]))
		switch string(in[1]) {
		case "SAMLResponse":
			f.SAMLResponse = v
		case "RelayState":
			f.RelayState = v
		}
	}
	return f, nil
}

// Submit does what a browser does with an IdP answer: it reads the
// auto-submitting form from resp and posts it to the ACS with client.
func Submit(client *http.Client, resp *http.Response) (*http.Response, error) {
	defer resp.Body.Close()
	page, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("ssotest: IdP answered %s: %s", resp.Status, bytes.TrimSpace(page))
	}
	f, err := ParseForm(page)
	if err != nil {
		return nil, err
	}
	return client.PostForm(f.ACSURL, f.Values())
}
