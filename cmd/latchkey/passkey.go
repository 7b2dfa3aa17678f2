package main

import (
	"net"
	"net/url"
	"strings"

	"github.com/latchkey/latchkey/passkey"
)

// relyingParty builds the WebAuthn relying party from
// LATCHKEY_WEBAUTHN_RP_ID (default: the public URL's host) and
// LATCHKEY_WEBAUTHN_ORIGINS (default: the public and dashboard origins that
// the RP ID covers). It returns nil and a warning when the defaults cannot
// work (a public URL on an IP address: WebAuthn needs a domain); a bad value
// that was set explicitly is a configuration error naming the variable.
func (c *config) relyingParty(publicURL, dashboardURL string) (rp *passkey.RelyingParty, warning string) {
	const rpEnv, originsEnv = "LATCHKEY_WEBAUTHN_RP_ID", "LATCHKEY_WEBAUTHN_ORIGINS"
	rpID := strings.ToLower(c.str(rpEnv))
	if rpID == "" {
		u, err := url.Parse(publicURL)
		if err != nil {
			return nil, "" // LATCHKEY_PUBLIC_URL already failed
		}
		rpID = u.Hostname()
		if net.ParseIP(rpID) != nil {
			return nil, "passkeys are off: the public URL's host " + rpID + " is an IP address; set " + rpEnv + " to a domain"
		}
	}
	var origins []string
	if explicit := c.list(originsEnv); len(explicit) > 0 {
		for _, o := range explicit {
			origin, ok := webauthnOrigin(o, false)
			if !ok || !coveredBy(origin, rpID) {
				c.fail(originsEnv, "%q is not an http(s) origin on %s or one of its subdomains", o, rpID)
				return nil, ""
			}
			origins = append(origins, origin)
		}
	} else {
		for _, o := range []string{publicURL, dashboardURL} {
			if origin, ok := webauthnOrigin(o, true); ok && coveredBy(origin, rpID) && !contains(origins, origin) {
				origins = append(origins, origin)
			} else if ok && !coveredBy(origin, rpID) {
				warning = "passkeys work only on origins under " + rpID + "; " + origin + " is not (set " + rpEnv + " to a domain both hosts share)"
			}
		}
		if len(origins) == 0 {
			c.fail(rpEnv, "%q covers neither the public URL nor the dashboard URL", rpID)
			return nil, ""
		}
	}
	rp, err := passkey.New(passkey.Config{RPID: rpID, RPDisplayName: "Latchkey", Origins: origins})
	if err != nil {
		c.fail(rpEnv, "%v", err)
		return nil, ""
	}
	return rp, warning
}

// webauthnOrigin returns scheme://host[:port] of an http(s) URL; a path is
// refused unless the URL is a page's (the public or dashboard URL).
func webauthnOrigin(raw string, allowPath bool) (string, bool) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		(!allowPath && ((u.Path != "" && u.Path != "/") || u.RawQuery != "")) {
		return "", false
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), true
}

// coveredBy reports whether a browser on origin may use rpID: the origin's
// host is the RP ID or a subdomain of it.
func coveredBy(origin, rpID string) bool {
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	host := u.Hostname()
	return host == rpID || strings.HasSuffix(host, "."+rpID)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
