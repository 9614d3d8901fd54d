package store

import (
	"context"
	"strconv"
	"time"
)

// Kind says what a cache key holds.
type Kind uint8

// The states a key can be in; the table on Store says how each operation
// moves between them.
const (
	// Absent: nothing is stored under the key (or what was stored expired).
	Absent Kind = iota
	// CachedRow: the encoded row (or row list) for the key.
	CachedRow
	// CachedNotFound: the database confirmed that no row answers the key.
	CachedNotFound
	// Leased: a reader holds a fill lease; Entry.Token names it.
	Leased
	// Locked: one or more writers hold a write lock; Entry.Locks counts them.
	Locked
)

var kindNames = [...]string{"absent", "value", "not-found", "leased", "locked"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Entry is what a Store holds under one key.
type Entry struct {
	Kind  Kind
	Value []byte // Kind == CachedRow: the bytes; nobody may modify them, the store included: decoded rows share them
	Token string // Kind == Leased: the lease token
	Locks int    // Kind == Locked: how many writers hold the lock
}

// Store is a cache backend. Every method acts on exactly one key and must be
// atomic on that key (for Redis: one command or one script), so the protocol
// works unchanged on a sharded store. An expired entry behaves as Absent.
// Every ttl is positive; a store rejects a non-positive one with an error.
// Unlock from a count above 1 keeps the lock's TTL, so that a lock always
// expires. When Lease takes the lease, cur is the zero Entry.
//
// The contract, which package runtime/storetest checks on every
// implementation:
//
//	key holds        Lease(t)        Fill(t, v)   Release(t)   Lock          Unlock
//	absent           takes it        fails        no-op        count 1       deletes (no-op)
//	row/not-found    reports it      fails        no-op        count 1       deletes
//	lease t          reports it      stores v     deletes      count 1       deletes
//	lease t' != t    reports it      fails        no-op        count 1       deletes
//	lock, count n    reports it      fails        no-op        count n+1     n-1; at 0 deletes
//
// Bytes the store did not write (someone else's key, garbage) are reported
// as a CachedRow holding them; the runtime recognises its own values by their
// header and discards the rest through Lock and Unlock.
type Store interface {
	// Get returns what the key holds.
	Get(ctx context.Context, key string) (Entry, error)
	// Lease stores a fill lease with token under key for ttl if the key is
	// absent. It reports whether it did; when it did not, cur is what the key
	// holds instead.
	Lease(ctx context.Context, key, token string, ttl time.Duration) (ok bool, cur Entry, err error)
	// Fill replaces the lease token with e (Kind CachedRow or CachedNotFound) for ttl, if
	// and only if the key still holds that lease. It reports whether it did.
	Fill(ctx context.Context, key, token string, e Entry, ttl time.Duration) (bool, error)
	// Release deletes the key if and only if it still holds the lease with
	// token: a reader gives back a lease it will not fill (the database
	// failed, or the row may not be cached under that key), so that other
	// readers need not wait for the lease to expire.
	Release(ctx context.Context, key, token string) error
	// Lock adds one writer's lock to key: a lock count of n becomes n+1,
	// anything else becomes a lock of count 1. The TTL is set to ttl either way.
	Lock(ctx context.Context, key string, ttl time.Duration) error
	// Unlock removes one writer's lock: a count above 1 is decremented, a count
	// of 1 or anything that is not a lock (its TTL ran out, or the store lost
	// it) deletes the key.
	Unlock(ctx context.Context, key string) error
	// Delete removes whatever the key holds.
	Delete(ctx context.Context, key string) error
}

// BoardStore is implemented by stores that can hold a table's build board:
// where every runtime of the table announces its build, the unique indexes
// it declares and those whose keys its writes lock (see "Builds with other
// unique indexes: the build board" in the README). The memory, Redis and
// memcached stores implement it; a store without it keeps each build to
// the indexes it knows, as before.
type BoardStore interface {
	// UpdateBoard replaces the bytes under key with what fn returns for
	// the bytes there now (nil when the key is absent), atomically: the
	// store retries fn when the key changed meanwhile. The key then lives
	// for keep. An error from fn is returned as it is.
	UpdateBoard(ctx context.Context, key string, keep time.Duration, fn func(cur []byte) ([]byte, error)) error
}

// KeyScanner is implemented by stores that can list their keys. A table's
// InvalidateAll needs it.
type KeyScanner interface {
	// ScanKeys calls fn with every key that starts with prefix and is present
	// for the whole scan (keys added or removed meanwhile may be missed).
	ScanKeys(ctx context.Context, prefix string, fn func(key string) error) error
}
