package sso

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/crewjam/saml"
)

// MaxMetadataSize bounds the IdP metadata document this package reads, from
// a URL or pasted in. A single IdP's metadata is a few kilobytes.
const MaxMetadataSize = 1 << 20

// metadataFetchTimeout bounds a metadata fetch when the caller's context
// has no earlier deadline.
const metadataFetchTimeout = 10 * time.Second

// ErrInvalidMetadata is returned for IdP metadata that cannot be used: not
// SAML metadata, no IdP role, no HTTP-Redirect single sign-on endpoint or
// no signing certificate.
var ErrInvalidMetadata = errors.New("sso: invalid identity provider metadata")

// IdPMetadata is the parsed metadata of a SAML identity provider.
type IdPMetadata struct {
	entity *saml.EntityDescriptor
}

// EntityID is the identity provider's entity ID (the Issuer of its responses).
func (m *IdPMetadata) EntityID() string { return m.entity.EntityID }

// FetchIdPMetadata downloads IdP metadata from rawURL (http or https) with
// client (NewHTTPClient(false), public addresses only, when nil), giving up after ten seconds or
// beyond MaxMetadataSize. The bytes are returned unparsed so the caller can
// store them; pass them to ParseIdPMetadata.
func FetchIdPMetadata(ctx context.Context, client *http.Client, rawURL string) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: metadata URL must be an absolute http(s) URL", ErrInvalidMetadata)
	}
	if client == nil {
		client = NewHTTPClient(false)
	}
	ctx, cancel := context.WithTimeout(ctx, metadataFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("sso: fetching metadata: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("sso: fetching metadata: HTTP status %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("sso: fetching metadata: %w", err)
	}
	if len(data) > MaxMetadataSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalidMetadata, MaxMetadataSize)
	}
	return data, nil
}

// ParseIdPMetadata parses IdP metadata (an EntityDescriptor, or an
// EntitiesDescriptor holding exactly one IdP) and checks that it can be
// used for SP-initiated sign-in: an HTTP-Redirect SingleSignOnService and at
// least one signing certificate.
func ParseIdPMetadata(data []byte) (*IdPMetadata, error) {
	if len(data) > MaxMetadataSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalidMetadata, MaxMetadataSize)
	}
	entity, err := decodeEntity(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidMetadata, err)
	}
	if entity.EntityID == "" || len(entity.IDPSSODescriptors) == 0 {
		return nil, fmt.Errorf("%w: no IDPSSODescriptor", ErrInvalidMetadata)
	}
	sp := saml.ServiceProvider{IDPMetadata: entity}
	if sp.GetSSOBindingLocation(saml.HTTPRedirectBinding) == "" {
		return nil, fmt.Errorf("%w: no HTTP-Redirect SingleSignOnService", ErrInvalidMetadata)
	}
	if !hasSigningKey(entity) {
		return nil, fmt.Errorf("%w: no signing certificate", ErrInvalidMetadata)
	}
	return &IdPMetadata{entity: entity}, nil
}

func hasSigningKey(entity *saml.EntityDescriptor) bool {
	for _, d := range entity.IDPSSODescriptors {
		for _, kd := range d.KeyDescriptors {
			if (kd.Use == "" || kd.Use == "signing") && len(kd.KeyInfo.X509Data.X509Certificates) > 0 {
				return true
			}
		}
	}
	return false
}

// decodeEntity reads an EntityDescriptor, or the single IdP entity of an
// EntitiesDescriptor (some IdPs wrap theirs in one).
func decodeEntity(data []byte) (*saml.EntityDescriptor, error) {
	root, err := rootElement(data)
	if err != nil {
		return nil, err
	}
	switch root {
	case xml.Name{Space: metadataNS, Local: "EntityDescriptor"}:
		var e saml.EntityDescriptor
		if err := xml.Unmarshal(data, &e); err != nil {
			return nil, err
		}
		return &e, nil
	case xml.Name{Space: metadataNS, Local: "EntitiesDescriptor"}:
		var es saml.EntitiesDescriptor
		if err := xml.Unmarshal(data, &es); err != nil {
			return nil, err
		}
		var idps []saml.EntityDescriptor
		for _, e := range es.EntityDescriptors {
			if len(e.IDPSSODescriptors) > 0 {
				idps = append(idps, e)
			}
		}
		if len(idps) != 1 {
			return nil, fmt.Errorf("EntitiesDescriptor holds %d identity providers, want 1", len(idps))
		}
		return &idps[0], nil
	}
	return nil, fmt.Errorf("root element is {%s}%s, not SAML metadata", root.Space, root.Local)
}

const metadataNS = "urn:oasis:names:tc:SAML:2.0:metadata"

func rootElement(data []byte) (xml.Name, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.Name{}, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name, nil
		}
	}
}
