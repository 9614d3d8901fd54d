// Package runtime is the engine behind the repositories cachegen
// generates: it reads rows through a shared cache (Redis, memcached or
// process memory) and keeps that cache consistent with the database across
// writes, transactions, crashes and store faults.
//
// Generated code holds no protocol of its own: each generated method is a
// few lines of SQL, key and codec around one call into this package. The
// package serves four audiences, each of which needs only a few of its
// names.
//
// Applications build repositories with the generated NewXRepo or NewRepos
// and configure them with options:
//
//   - Option and the With functions (WithPrefix, WithTTL, WithNotFoundTTL,
//     WithLeaseTTL, WithLeaseWait, WithLockTTL, WithPhaseTimeout,
//     WithAllCap, WithDialect, WithVerify, WithRegistry, WithNearCache,
//     WithObserver, WithLogger). An option given a value out of range makes
//     the constructor fail with an error naming the option and the value;
//     none is ignored.
//   - Dialect (SQLite, Postgres, MySQL) and DialectOf.
//   - Begin, InTx and Tx, for writes inside a database transaction.
//   - ErrNotFound and ErrSchemaMismatch.
//   - NearCache, NewNearCache, NearOptions and NearStats, for an
//     in-process tier in front of the store.
//   - Registry and NewRegistry, to share repositories between packages.
//   - Store, the interface the stores in runtime/redis, runtime/memcached
//     and runtime/memory implement.
//
// Generated code calls the rest, and applications need not:
//
//   - NewTable, Table and its methods, Spec, Index, MissPolicy and its
//     values, Mapper, Scanner, ScanBytes and GoType.
//   - The key encoders (AppendKeyInt, AppendKeyString and the other
//     AppendKey functions), KeyBufferSize and MaxKeyLen.
//   - LoadMany, Related, RegistryOf and Provide, behind the loaders of
//     foreign keys.
//
// Store authors implement Store (and, for speed, BatchStore and
// KeyScanner) over the key states of Kind, with Entry and the batch
// operations GetOp, FillOp, LeaseOp, LockOp, UnlockOp and ReleaseOp; Batch
// adapts a Store without batch methods. A near cache's transport
// implements Bus and calls a BusHandler. Package runtime/storetest checks
// a Store against the protocol.
//
// Observers implement Observer, given with WithObserver, and receive an
// Event (EventKind, Outcome) for each read, write and fault; Table.Stats
// and NearCache.Stats return counters. Packages runtime/metrics/prom and
// runtime/trace/otel are ready-made observers.
//
// The README describes the protocol (how the cache stays correct) and
// what each option bounds.
package runtime
