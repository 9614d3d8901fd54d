// Package store is for store authors: it defines the interface a cache
// backend implements for the repositories cachegen generates, as
// database/sql/driver does for database drivers. Applications do not
// import it; they pass a store built by runtime/redis, runtime/memcached or
// runtime/memory to a generated constructor.
//
// A backend implements Store over the key states of Kind (Absent,
// CachedRow, CachedNotFound, Leased, Locked), each key holding an Entry.
// It may also implement:
//
//   - BatchStore, to act on many keys in one round trip with the ops
//     GetOp, LeaseOp, FillOp, ReleaseOp, LockOp and UnlockOp; Batched
//     adapts a Store without batch methods;
//   - BoardStore, to hold a table's build board;
//   - KeyScanner, to list keys for InvalidateAll.
//
// A near cache's transport implements Bus and reports to a BusHandler.
// Package runtime/storetest checks an implementation against the contract
// written on Store and BatchStore.
package store
