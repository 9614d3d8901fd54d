package engine

import (
	"context"
	"fmt"
	"sync"
)

// Registry lets the repositories of related models find each other: the
// loader of a foreign key reads the rows it references through the target
// model's own repository, so through its cache, and a cached row never
// holds a related one. The generated NewRepos of a package makes a registry
// (or uses the one passed with WithRegistry) and adds every repository it
// builds. When foreign keys cross packages, pass one registry to the
// NewRepos of each of them. A registry holds one repository per type, so it
// serves one database and store. It is safe for concurrent use.
type Registry struct {
	mu      sync.RWMutex
	repos   map[any]any  // keyed by (*R)(nil) for a repository of type R
	changed changeTables // the tables made with it, for a change-stream consumer (rowkeys.go)
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{repos: map[any]any{}} }

// WithRegistry makes a repository look up the targets of its loaders in
// reg. NewRepos passes it to every repository it builds.
func WithRegistry(reg *Registry) Option {
	return func(o *options) {
		if reg == nil {
			o.fail("WithRegistry", "nil", "want a *Registry")
			return
		}
		o.registry = reg
	}
}

// RegistryOf returns the registry opts name with WithRegistry, and opts; or,
// when they name none, a new registry and opts with it added (opts itself
// is not modified).
func RegistryOf(opts []Option) (*Registry, []Option) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.registry != nil {
		return o.registry, opts
	}
	reg := NewRegistry()
	return reg, append(opts[:len(opts):len(opts)], WithRegistry(reg))
}

// Provide adds repo to reg as the repository of its type, the one loaders
// of foreign keys to its model read through. It fails when reg already
// holds another repository of that type: a registry serves one database.
func Provide[R comparable](reg *Registry, repo R) error {
	reg.mu.Lock()
	defer reg.mu.Unlock()
	key := any((*R)(nil))
	if have, ok := reg.repos[key]; ok && have.(R) != repo {
		return fmt.Errorf("cachegen: the registry already holds a %T: use one registry per database and store", repo)
	}
	reg.repos[key] = repo
	return nil
}

// Lookup returns the repository of type R in the registry of t, the one a
// loader on t reads related rows through; when t is joined to a Tx, that
// repository joined to it too (through its WithTx), so a loader sees the
// transaction's own rows, as every read in it does. It fails when t has no
// registry (it was not built by NewRepos or with WithRegistry) or the
// registry holds no R.
func Lookup[R, T any](t *Table[T]) (R, error) {
	var zero R
	reg := t.opts.registry
	if reg == nil {
		return zero, fmt.Errorf("cachegen: the %s repository has no registry to find its related %T: build repositories with NewRepos (or pass runtime.WithRegistry)", t.spec.Table, zero)
	}
	reg.mu.RLock()
	repo, ok := reg.repos[any((*R)(nil))]
	reg.mu.RUnlock()
	if !ok {
		return zero, fmt.Errorf("cachegen: the registry of the %s repository holds no %T: build it with the NewRepos of its package, passing the same runtime.WithRegistry", t.spec.Table, zero)
	}
	if j, ok := repo.(interface{ WithTx(*Tx) R }); ok && t.tx != nil {
		return j.WithTx(t.tx), nil
	}
	return repo.(R), nil
}

// LoadMany reads the rows that rows reference, aligned with rows: key gives
// the reference of one row (false when it has none, such as a NULL foreign
// key) and get reads all of them in one batch (a generated GetBy<Pk>s). A
// nil row, a row without a reference and a reference to no row give nil.
func LoadMany[S, T, K any](ctx context.Context, rows []*S, get func(context.Context, []K) ([]*T, error), key func(*S) (K, bool)) ([]*T, error) {
	keys := make([]K, 0, len(rows))
	at := make([]int, 0, len(rows))
	for i, row := range rows {
		if row == nil {
			continue
		}
		if k, ok := key(row); ok {
			keys = append(keys, k)
			at = append(at, i)
		}
	}
	found, err := get(ctx, keys)
	if err != nil {
		return nil, err
	}
	if len(found) != len(keys) {
		return nil, fmt.Errorf("cachegen: a batch read of %d keys returned %d rows", len(keys), len(found))
	}
	out := make([]*T, len(rows))
	for j, i := range at {
		out[i] = found[j]
	}
	return out, nil
}
