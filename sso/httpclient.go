package sso

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrNonPublicAddress is the dial error of NewHTTPClient's client for an
// address that is not on the public internet.
var ErrNonPublicAddress = errors.New("sso: refusing to connect to a non-public address")

// httpTimeout bounds every request to an identity provider.
const httpTimeout = 10 * time.Second

// NewHTTPClient returns the client for every request an org admin's SSO
// connection makes the server send (SAML metadata, OIDC discovery, JWKS,
// token and userinfo). Admins are untrusted here: anyone who signs up owns
// an org, so unless allowPrivateNetworks is set the client connects only to
// public unicast addresses. The check runs in the dialer on the address
// actually dialed, after DNS resolution and for every redirect, so a name
// that resolves (or re-resolves) to a private address is refused before
// any packet is sent. It ignores HTTP(S)_PROXY, which would hide the
// destination from the check. allowPrivateNetworks (development, or an IdP
// on the operator's own network) gives a plain client.
func NewHTTPClient(allowPrivateNetworks bool) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if !allowPrivateNetworks {
		d := &net.Dialer{Timeout: httpTimeout, KeepAlive: 30 * time.Second, Control: refuseNonPublic}
		tr.Proxy = nil
		tr.DialContext = d.DialContext
	}
	return &http.Client{Timeout: httpTimeout, Transport: tr, CheckRedirect: checkRedirect}
}

// refuseNonPublic is a net.Dialer Control hook: address is the resolved
// ip:port about to be connected to.
func refuseNonPublic(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil || (network != "tcp4" && network != "tcp6") || !PublicAddr(ap.Addr()) {
		return fmt.Errorf("%w: %s %s", ErrNonPublicAddress, network, address)
	}
	return nil
}

// checkRedirect follows at most 10 redirects, to http(s) URLs only.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("sso: stopped after 10 redirects")
	}
	if req.URL.Scheme != "https" && req.URL.Scheme != "http" {
		return fmt.Errorf("sso: redirect to a %q URL", req.URL.Scheme)
	}
	return nil
}

// nonPublic lists special-purpose ranges (RFC 6890 and successors) that
// netip's predicates do not cover.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT, also some clouds' metadata
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated)
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4: embeds any IPv4 address
	netip.MustParsePrefix("2001::/32"),       // Teredo: embeds any IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
}

// nat64 is the well-known NAT64 prefix: public only when the IPv4 address
// it embeds is.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// PublicAddr reports whether ip is a public unicast address: not loopback,
// private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254/16,
// fe80::/10), unspecified, multicast, broadcast or another special range.
func PublicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !ip.IsValid() || !ip.IsGlobalUnicast() || ip.IsPrivate() {
		return false
	}
	if nat64.Contains(ip) {
		b := ip.As16()
		return PublicAddr(netip.AddrFrom4([4]byte(b[12:])))
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}
