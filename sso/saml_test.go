package sso_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crewjam/saml"

	"github.com/latchkey/latchkey/sso"
	"github.com/latchkey/latchkey/sso/ssotest"
)

// memoryReplays is a ReplayCache for one test.
type memoryReplays struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

func (m *memoryReplays) Consume(id string, expires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.seen[id]; ok {
		return sso.ErrReplayed
	}
	m.seen[id] = expires
	return nil
}

// testSP is a service provider web app: /start, /acs and /metadata, with
// pending request IDs kept by RelayState and burnt on use.
type testSP struct {
	URL string
	sp  *sso.ServiceProvider

	mu      sync.Mutex
	pending map[string]string
	results []result
}

type result struct {
	id  sso.Identity
	err error
}

func newTestSP(t *testing.T, idp *ssotest.IdP) *testSP {
	t.Helper()
	s := &testSP{pending: map[string]string{}}
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	md, err := sso.ParseIdPMetadata(idp.Metadata())
	if err != nil {
		t.Fatal(err)
	}
	s.sp, err = sso.NewServiceProvider(sso.SAMLConfig{
		MetadataURL: srv.URL + "/metadata",
		ACSURL:      srv.URL + "/acs",
		KeyPair:     testKeyPair(t),
		IdP:         md,
		Replays:     &memoryReplays{seen: map[string]time.Time{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux.HandleFunc("GET /metadata", s.sp.ServeMetadata)
	mux.HandleFunc("GET /start", s.start)
	mux.HandleFunc("POST /acs", s.acs)
	return s
}

var (
	keyOnce          sync.Once
	keyCert, keyKey  []byte
	errKeyGeneration error
)

// testKeyPair generates one SP key pair per test binary: RSA key
// generation is the costly part.
func testKeyPair(t *testing.T) sso.KeyPair {
	t.Helper()
	keyOnce.Do(func() {
		keyCert, keyKey, errKeyGeneration = sso.GenerateKeyPair("test SP", time.Now())
	})
	if errKeyGeneration != nil {
		t.Fatal(errKeyGeneration)
	}
	kp, err := sso.ParseKeyPair(keyCert, keyKey)
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func (s *testSP) start(w http.ResponseWriter, r *http.Request) {
	b := make([]byte, 16)
	rand.Read(b)
	relay := hex.EncodeToString(b)
	u, id, err := s.sp.AuthnRequest(relay)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.mu.Lock()
	s.pending[relay] = id
	s.mu.Unlock()
	http.Redirect(w, r, u, http.StatusFound)
}

func (s *testSP) acs(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	reqID, ok := s.pending[r.PostForm.Get("RelayState")]
	delete(s.pending, r.PostForm.Get("RelayState"))
	s.mu.Unlock()
	var ids []string
	if ok {
		ids = []string{reqID}
	}
	id, err := s.sp.ParseResponse(r, ids)
	s.mu.Lock()
	s.results = append(s.results, result{id, err})
	s.mu.Unlock()
	if err != nil {
		http.Error(w, "refused", http.StatusForbidden)
		return
	}
	io.WriteString(w, "welcome "+id.Email)
}

func (s *testSP) last(t *testing.T) result {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.results) == 0 {
		t.Fatal("the ACS received nothing")
	}
	return s.results[len(s.results)-1]
}

// signIn runs a whole SP-initiated sign-in over HTTP, as a browser would.
func (s *testSP) signIn(t *testing.T) result {
	t.Helper()
	resp, err := http.Get(s.URL + "/start")
	if err != nil {
		t.Fatal(err)
	}
	acsResp, err := ssotest.Submit(http.DefaultClient, resp)
	if err != nil {
		t.Fatal(err)
	}
	acsResp.Body.Close()
	r := s.last(t)
	if (r.err == nil) != (acsResp.StatusCode == http.StatusOK) {
		t.Fatalf("ACS answered %s for result %v", acsResp.Status, r.err)
	}
	return r
}

var alice = ssotest.User{NameID: "00u-alice-1", Email: "Alice@Acme.test", Name: "Alice Liddell"}

func TestSignIn(t *testing.T) {
	idp := ssotest.New(t, alice)
	sp := newTestSP(t, idp)
	r := sp.signIn(t)
	if r.err != nil {
		t.Fatalf("honest sign-in refused: %v", r.err)
	}
	want := sso.Identity{Subject: "00u-alice-1", Email: "alice@acme.test", Name: "Alice Liddell"}
	got := r.id
	if got.Subject != want.Subject || got.Email != want.Email || got.Name != want.Name {
		t.Errorf("identity = %+v, want %+v", got, want)
	}
	if got.AssertionID == "" {
		t.Error("no AssertionID")
	}
	if !got.AssertionExpiry.After(time.Now()) || got.AssertionExpiry.After(time.Now().Add(10*time.Minute)) {
		t.Errorf("AssertionExpiry = %v, want within minutes from now", got.AssertionExpiry)
	}
}

func TestEncryptedAssertion(t *testing.T) {
	idp := ssotest.New(t, alice)
	idp.SetEncrypt(true)
	sp := newTestSP(t, idp)
	r := sp.signIn(t)
	if r.err != nil {
		t.Fatalf("encrypted assertion refused: %v", r.err)
	}
	if r.id.Email != "alice@acme.test" {
		t.Errorf("email = %q", r.id.Email)
	}
	if f := idp.LastForm(); !strings.Contains(decode(t, f.SAMLResponse), "EncryptedAssertion") {
		t.Error("the IdP did not encrypt the assertion")
	}
}

func decode(t *testing.T, b64 string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestSubjectAndEmail(t *testing.T) {
	tests := []struct {
		name        string
		user        ssotest.User
		wantSubject string
		wantEmail   string
	}{
		{"email NameID", ssotest.User{NameID: "Bob@Acme.test", NameIDFormat: string(saml.EmailAddressNameIDFormat)}, "Bob@Acme.test", "bob@acme.test"},
		{"transient NameID falls back to email", ssotest.User{NameID: "_tmp123", NameIDFormat: string(saml.TransientNameIDFormat), Email: "carol@acme.test"}, "carol@acme.test", "carol@acme.test"},
		{"email attribute beats an address-like persistent NameID", ssotest.User{NameID: "dave@corp.onmicrosoft.test", Email: "Dave@Acme.test"}, "dave@corp.onmicrosoft.test", "dave@acme.test"},
		{"address-like NameID without attribute", ssotest.User{NameID: "Erin@Acme.test"}, "Erin@Acme.test", "erin@acme.test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := newTestSP(t, ssotest.New(t, tt.user))
			r := sp.signIn(t)
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.id.Subject != tt.wantSubject || r.id.Email != tt.wantEmail {
				t.Errorf("got subject %q email %q, want %q %q", r.id.Subject, r.id.Email, tt.wantSubject, tt.wantEmail)
			}
		})
	}
}

func TestNoEmailRefused(t *testing.T) {
	sp := newTestSP(t, ssotest.New(t, ssotest.User{NameID: "opaque-id"}))
	if r := sp.signIn(t); !errors.Is(r.err, sso.ErrNoEmail) {
		t.Fatalf("err = %v, want ErrNoEmail", r.err)
	}
}

func TestHostileResponses(t *testing.T) {
	tests := []struct {
		mode ssotest.Mode
		want error
	}{
		{ssotest.Tampered, sso.ErrInvalidSignature},
		{ssotest.Unsigned, sso.ErrInvalidSignature},
		{ssotest.WrongAudience, sso.ErrAudience},
		{ssotest.Expired, sso.ErrExpired},
		{ssotest.ReplayAssertion, sso.ErrReplayed},
	}
	for _, tt := range tests {
		t.Run(tt.want.Error(), func(t *testing.T) {
			idp := ssotest.New(t, alice)
			sp := newTestSP(t, idp)
			if r := sp.signIn(t); r.err != nil {
				t.Fatalf("honest sign-in refused: %v", r.err)
			}
			idp.SetMode(tt.mode)
			r := sp.signIn(t)
			if !errors.Is(r.err, tt.want) || !errors.Is(r.err, sso.ErrInvalidResponse) {
				t.Fatalf("err = %v, want %v", r.err, tt.want)
			}
		})
	}
}

// TestResponsePostedAgain posts the very same form twice: the request it
// answers is used up, so the second post is refused.
func TestResponsePostedAgain(t *testing.T) {
	idp := ssotest.New(t, alice)
	sp := newTestSP(t, idp)
	if r := sp.signIn(t); r.err != nil {
		t.Fatal(r.err)
	}
	f := idp.LastForm()
	resp, err := http.PostForm(f.ACSURL, f.Values())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("replayed form: %s, want 403", resp.Status)
	}
	if r := sp.last(t); !errors.Is(r.err, sso.ErrRequestID) {
		t.Errorf("err = %v, want ErrRequestID", r.err)
	}
}

// TestResponseForAnotherSP sends a response made for one SP to another
// that trusts the same IdP: wrong audience and recipient.
func TestResponseForAnotherSP(t *testing.T) {
	idp := ssotest.New(t, alice)
	sp1 := newTestSP(t, idp)
	sp2 := newTestSP(t, idp)
	if r := sp1.signIn(t); r.err != nil {
		t.Fatal(r.err)
	}
	f := idp.LastForm()
	resp, err := http.PostForm(sp2.URL+"/acs", f.Values())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := sp2.last(t); r.err == nil {
		t.Fatal("a response for another SP was accepted")
	}
}

func TestServeMetadata(t *testing.T) {
	sp := newTestSP(t, ssotest.New(t, alice))
	resp, err := http.Get(sp.URL + "/metadata")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/samlmetadata+xml" {
		t.Errorf("Content-Type = %q", ct)
	}
	var e saml.EntityDescriptor
	if err := xml.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatal(err)
	}
	if e.EntityID != sp.URL+"/metadata" {
		t.Errorf("EntityID = %q", e.EntityID)
	}
	d := e.SPSSODescriptors[0]
	if len(d.AssertionConsumerServices) != 1 || d.AssertionConsumerServices[0].Location != sp.URL+"/acs" ||
		d.AssertionConsumerServices[0].Binding != saml.HTTPPostBinding {
		t.Errorf("ACS = %+v, want one HTTP-POST at /acs", d.AssertionConsumerServices)
	}
	if d.WantAssertionsSigned == nil || !*d.WantAssertionsSigned {
		t.Error("WantAssertionsSigned not set")
	}
}

func TestParseIdPMetadata(t *testing.T) {
	idp := ssotest.New(t, alice)
	good := string(idp.Metadata())
	tests := []struct {
		name string
		xml  string
		ok   bool
	}{
		{"entity", good, true},
		{"wrapped in EntitiesDescriptor", `<EntitiesDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata">` + good + `</EntitiesDescriptor>`, true},
		{"empty", "", false},
		{"not XML", "hello", false},
		{"other XML", `<html/>`, false},
		{"SP metadata", `<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="x"><SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></EntityDescriptor>`, false},
		{"no signing key", stripKeys(good), false},
		{"too large", good + strings.Repeat(" ", sso.MaxMetadataSize), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			md, err := sso.ParseIdPMetadata([]byte(tt.xml))
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if md.EntityID() != idp.MetadataURL {
					t.Errorf("EntityID = %q, want %q", md.EntityID(), idp.MetadataURL)
				}
				return
			}
			if !errors.Is(err, sso.ErrInvalidMetadata) {
				t.Errorf("err = %v, want ErrInvalidMetadata", err)
			}
		})
	}
}

func stripKeys(md string) string {
	for {
		i := strings.Index(md, "<KeyDescriptor")
		if i < 0 {
			return md
		}
		j := strings.Index(md[i:], "</KeyDescriptor>")
		md = md[:i] + md[i+j+len("</KeyDescriptor>"):]
	}
}

func TestFetchIdPMetadata(t *testing.T) {
	idp := ssotest.New(t, alice)
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, sso.MaxMetadataSize+1))
	}))
	t.Cleanup(big.Close)
	tests := []struct {
		name string
		url  string
		ok   bool
	}{
		{"IdP metadata", idp.MetadataURL, true},
		{"not found", idp.MetadataURL + "/missing", false},
		{"too large", big.URL, false},
		{"not http", "file:///etc/passwd", false},
		{"relative", "/metadata", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := sso.FetchIdPMetadata(context.Background(), sso.NewHTTPClient(true), tt.url)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok {
				if _, err := sso.ParseIdPMetadata(b); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	// Without a client, the default refuses the IdP on 127.0.0.1.
	if _, err := sso.FetchIdPMetadata(context.Background(), nil, idp.MetadataURL); !errors.Is(err, sso.ErrNonPublicAddress) {
		t.Errorf("default client: err = %v, want ErrNonPublicAddress", err)
	}
}

func TestParseKeyPair(t *testing.T) {
	cert1, key1, err := sso.GenerateKeyPair("one", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, key2, err := sso.GenerateKeyPair("two", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sso.ParseKeyPair(cert1, key1); err != nil {
		t.Errorf("matching pair: %v", err)
	}
	for name, pair := range map[string][2][]byte{
		"mismatched": {cert1, key2},
		"swapped":    {key1, cert1},
		"empty":      {nil, nil},
	} {
		if _, err := sso.ParseKeyPair(pair[0], pair[1]); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestNewServiceProviderRejectsBadURLs(t *testing.T) {
	md, err := sso.ParseIdPMetadata(ssotest.New(t, alice).Metadata())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"", "/acs", "javascript:alert(1)", "https://"} {
		_, err := sso.NewServiceProvider(sso.SAMLConfig{MetadataURL: "https://sp.test/m", ACSURL: u, KeyPair: testKeyPair(t), IdP: md})
		if err == nil {
			t.Errorf("ACS URL %q accepted", u)
		}
	}

}
