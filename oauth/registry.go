package oauth

import "fmt"

// Registry holds the providers a deployment enabled, in a stable order.
type Registry struct {
	list []Provider
	byID map[string]Provider
}

// NewRegistry returns a registry of ps, refusing duplicate IDs.
func NewRegistry(ps ...Provider) (*Registry, error) {
	r := &Registry{byID: make(map[string]Provider, len(ps))}
	for _, p := range ps {
		if _, dup := r.byID[p.ID()]; dup {
			return nil, fmt.Errorf("oauth: provider %q configured twice", p.ID())
		}
		r.byID[p.ID()] = p
		r.list = append(r.list, p)
	}
	return r, nil
}

// Get returns the provider with the given ID. A nil registry has none.
func (r *Registry) Get(id string) (Provider, bool) {
	if r == nil {
		return nil, false
	}
	p, ok := r.byID[id]
	return p, ok
}

// Providers returns the enabled providers in the order they were given.
func (r *Registry) Providers() []Provider {
	if r == nil {
		return nil
	}
	return append([]Provider(nil), r.list...)
}
