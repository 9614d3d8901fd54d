// Package runtime is what an application needs of cachegen besides its
// generated repositories: the options it builds them with, transactions,
// fresh reads, errors, the near cache, statistics and the registry that
// connects the repositories of several packages.
//
// Generated code builds repositories with NewXRepo or NewRepos, which take
// a Store (runtime/redis, runtime/memcached or runtime/memory builds one)
// and options:
//
//   - Option and the With functions. An option given a value out of range
//     makes the constructor fail with an error naming the option and the
//     value; none is ignored.
//   - Dialect (SQLite, Postgres, MySQL), for WithDialect.
//   - Begin, InTx, Join, JoinSQL and Tx, for writes inside a database
//     transaction; Fresh and IsFresh, for reads that must skip the cache.
//   - ErrNotFound and ErrSchemaMismatch.
//   - NearCache, NewNearCache, NearOptions and NearStats, for an
//     in-process tier in front of the store.
//   - Registry, NewRegistry and Provide, to share repositories between
//     packages; Stats, what a repository did.
//
// The names here are aliases of package runtime/engine's, so values pass
// between the two. Three other packages serve other audiences:
//
//   - runtime/engine holds the protocol that generated code calls; only
//     generated code and cachegen's own tools import it.
//   - runtime/store is for store authors, with runtime/storetest to check a
//     store against the protocol.
//   - runtime/observe is for observers (WithObserver); runtime/metrics/prom
//     and runtime/trace/otel are ready-made ones.
//
// The README describes the protocol (how the cache stays correct) and
// what each option bounds.
package runtime
