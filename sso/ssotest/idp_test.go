package ssotest_test

import (
	"encoding/xml"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/crewjam/saml"

	"github.com/latchkey/latchkey/sso/ssotest"
)

func TestUnknownSPRefused(t *testing.T) {
	idp := ssotest.New(t, ssotest.User{NameID: "x", Email: "x@acme.test"})
	var md saml.EntityDescriptor
	if err := xml.Unmarshal(idp.Metadata(), &md); err != nil {
		t.Fatal(err)
	}
	acs, _ := url.Parse("https://unknown-sp.example/acs")
	sp := saml.ServiceProvider{EntityID: "https://unknown-sp.example/metadata", AcsURL: *acs, IDPMetadata: &md}
	u, err := sp.MakeRedirectAuthenticationRequest("")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %s, want 400", resp.Status)
	}
	if !errors.Is(idp.LastError(), saml.ErrUnknownServiceProvider) {
		t.Errorf("LastError = %v, want ErrUnknownServiceProvider", idp.LastError())
	}
}

func TestParseForm(t *testing.T) {
	page := []byte(`<form method="post" action="http://127.0.0.1:1/acs?a=1&amp;b=2" id="f">
<input type="hidden" name="SAMLResponse" value="PHg+">
<input type="hidden" name="RelayState" value="r&amp;s">`)
	f, err := ssotest.ParseForm(page)
	if err != nil {
		t.Fatal(err)
	}
	want := ssotest.Form{ACSURL: "http://127.0.0.1:1/acs?a=1&b=2", SAMLResponse: "PHg+", RelayState: "r&s"}
	if f != want {
		t.Errorf("form = %+v, want %+v", f, want)
	}
	if _, err := ssotest.ParseForm([]byte("<p>no form</p>")); err == nil {
		t.Error("a page without a form parsed")
	}
}
