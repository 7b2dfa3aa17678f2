package main

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/latchkey/latchkey/oauth"
)

// oauthPrefix starts every provider variable: LATCHKEY_OAUTH_<ID>_<FIELD>.
const oauthPrefix = "LATCHKEY_OAUTH_"

// oauthFields are the per-provider variables, by suffix. Only these are
// read, so a provider id may itself contain underscores.
var oauthFields = []string{"_CLIENT_ID", "_CLIENT_SECRET", "_ISSUER", "_AUTH_URL", "_TOKEN_URL", "_USERINFO_URL", "_NAME"}

// oauthConfigs reads the identity providers from the environment (a list
// of KEY=value). A provider is enabled by its _CLIENT_ID; github and
// google are built in, any other <ID> needs _ISSUER and becomes the
// generic OpenID Connect provider "<id>". Callbacks live under publicURL.
// A bad value is an error naming its variable.
func oauthConfigs(environ []string, publicURL string) ([]oauth.Config, error) {
	vars := map[string]map[string]string{} // ID -> field suffix -> value
	for _, kv := range environ {
		key, val, _ := strings.Cut(kv, "=")
		rest, ok := strings.CutPrefix(key, oauthPrefix)
		if !ok || strings.TrimSpace(val) == "" {
			continue
		}
		for _, f := range oauthFields {
			if id, ok := strings.CutSuffix(rest, f); ok && id != "" {
				if vars[id] == nil {
					vars[id] = map[string]string{}
				}
				vars[id][f] = strings.TrimSpace(val)
				break
			}
		}
	}
	ids := make([]string, 0, len(vars))
	for id := range vars {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return providerRank(ids[i]) < providerRank(ids[j]) })
	var out []oauth.Config
	for _, id := range ids {
		cfg, err := oauthConfig(id, vars[id], publicURL)
		if err != nil {
			return nil, err
		}
		out = append(out, cfg)
	}
	return out, nil
}

// providerRank lists the built-ins first, then the rest by name.
func providerRank(id string) string {
	switch id {
	case "GITHUB":
		return "0"
	case "GOOGLE":
		return "1"
	}
	return "2" + id
}

func oauthConfig(id string, v map[string]string, publicURL string) (oauth.Config, error) {
	env := func(f string) string { return oauthPrefix + id + f }
	lower := strings.ToLower(id)
	cfg := oauth.Config{
		ID: lower, Name: v["_NAME"], ClientID: v["_CLIENT_ID"], ClientSecret: v["_CLIENT_SECRET"],
		RedirectURL: publicURL + "/oauth/" + lower + "/callback",
	}
	if cfg.ClientID == "" {
		return cfg, fmt.Errorf("%s: required when any %s%s_* variable is set", env("_CLIENT_ID"), oauthPrefix, id)
	}
	for f, dst := range map[string]*string{"_ISSUER": &cfg.Issuer, "_AUTH_URL": &cfg.AuthURL, "_TOKEN_URL": &cfg.TokenURL, "_USERINFO_URL": &cfg.UserInfoURL} {
		if raw := v[f]; raw != "" {
			u, err := url.Parse(raw)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return cfg, fmt.Errorf("%s: %q is not an absolute http(s) URL", env(f), raw)
			}
			*dst = raw
		}
	}
	if lower == "github" && cfg.Issuer != "" {
		return cfg, fmt.Errorf("%s: GitHub is not an OpenID Connect provider; use the _AUTH_URL, _TOKEN_URL and _USERINFO_URL overrides", env("_ISSUER"))
	}
	if lower != "github" && lower != "google" && cfg.Issuer == "" {
		return cfg, fmt.Errorf("%s: required for a provider other than github and google", env("_ISSUER"))
	}
	if _, err := oauth.New(cfg); err != nil {
		return cfg, fmt.Errorf("%s: %v", env("_CLIENT_ID"), err)
	}
	return cfg, nil
}

// oauthRegistry builds the enabled providers.
func oauthRegistry(cfgs []oauth.Config) (*oauth.Registry, error) {
	ps := make([]oauth.Provider, 0, len(cfgs))
	for _, c := range cfgs {
		p, err := oauth.New(c)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return oauth.NewRegistry(ps...)
}
