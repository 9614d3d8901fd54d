// Package memcached is the store.Store on memcached, through
// github.com/bradfitz/gomemcache.
//
// Every method acts on exactly one key. memcached has no scripts, so where
// Redis runs a short Lua script this package reads the key with gets and
// writes it with a cas against what it read (or an add where the key is
// absent): the write lands only if the key did not change in between, and
// the method starts over when it did. So each method takes effect at one
// atomic step on its key, as the contract requires, and a key sharded to
// one server of a pool needs nothing from the others.
//
//	Get      gets
//	Lease    add; when the key exists, gets and (past its deadline) cas
//	Fill     gets, cas: only over the caller's live lease
//	Release  gets, cas to a deleted entry: only over the caller's live lease
//	Lock     gets, cas (add when absent): count n becomes n+1, anything else 1
//	Unlock   gets, cas: count n > 1 becomes n-1 keeping the deadline,
//	         anything else is deleted by a cas
//	Delete   delete
//
// A method starts over at most 100 times, sleeping a short random while
// between tries; a key that changes under every one of them makes the
// method fail with an error (the runtime counts it and retries an
// invalidation later). Only keys that many writers lock at once, such as a
// table's All key under a burst of writes, come near that.
//
// A conditional delete is a cas with a negative expiration: memcached
// stores the item already expired (documented: "if a negative value is
// given the item is immediately expired"), so the key reads as absent at
// once, and only if it still held what was read. A plain delete, which
// cannot be made conditional, would drop a lock another writer had just
// added.
//
// # Expiry
//
// memcached counts expiration in whole seconds, on a clock that ticks once
// a second, and reads a value above 30 days as a unix time. The protocol
// needs finer TTLs (leases of seconds, tests of 100 ms), so every entry
// carries its own deadline, in unix milliseconds, and a reader treats an
// entry at or past its deadline as absent: to every method, as the
// contract says. memcached's own expiration only reclaims the memory. It is
// set to the time left to the deadline, rounded up to whole seconds, plus 3
// seconds, because an item set just before memcached's clock ticks can
// otherwise expire up to 2 seconds early, and it must never expire before
// its deadline: a lock would vanish early. Above 30 days it is sent as a
// unix time. It is never 0, which would mean "never".
//
// TTLs are rounded up to whole milliseconds and capped at 10 years.
// Deadlines are read on the wall clock of each client, so the processes
// sharing a memcached should keep their clocks in step (NTP): a skew of d
// shortens or stretches every TTL by d as another process sees it, and at
// most 3 seconds beyond its deadline memcached drops the entry anyway.
//
// Unlock keeps a lock's TTL by keeping its deadline, which is in the value:
// memcached cannot tell the TTL it holds.
//
// # Encoding
//
// An item's value starts with a tag byte, then the deadline as decimal
// digits and a colon:
//
//	"v" deadline ":" bytes    Value (the bytes may be empty)
//	"n" deadline ":"          NotFound
//	"l" deadline ":" token    Leased
//	"w" deadline ":" count    Locked; count is 1 to 15 decimal digits, at least 1
//
// The deadline is 1 to 15 digits. Anything else under a key (a value
// written by someone else, garbage, an empty value, a lock count of 0)
// reads as Kind Value with the raw bytes, tag included, and lives as long
// as memcached keeps it. The runtime checks its own header on every value
// and discards one it does not recognise with Lock and Unlock, which
// replace or delete whatever the key holds. Item flags are written as 0
// and ignored. Lock stops counting at 999,999,999,999,999.
//
// # Keys
//
// memcached takes keys of 1 to 250 bytes without spaces or control
// characters. A key of 1 to 250 printable ASCII bytes other than '^' is
// sent as it is: every key the runtime makes is one (at most
// engine.MaxKeyLen bytes, its values escaped), given a prefix of such
// bytes. Any other key is sent escaped, each byte outside that set written
// as '^' and two upper-case hex digits; an escaped key longer than 250
// bytes (or an empty key) is sent as "^#" and the unpadded base64url
// SHA-256 of the key. The three forms cannot meet, so no two keys share an
// item, and no key is refused.
//
// # Servers
//
// memcached 1.6 or later; tested on 1.6.18. A pool of servers works: each
// key lives on the one server the client's selector picks for it. ScanKeys
// (which the runtime's InvalidateAll needs) also needs that selector, in
// Options.Servers, and an LRU crawler (on by default). Items are limited
// in size by the server (-I, 1 MiB by default): a Fill above it fails with
// an error, so keep runtime.WithAllCap below what an All list of that size
// holds, or raise -I. The client's methods take no context: a call that
// has started runs until the client's Timeout, and ctx is checked before
// each step. Give the client a MaxIdleConns above the number of concurrent
// calls, or each call past it dials a new connection.
package memcached

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cachegen/cachegen/runtime/store"
)

// Options configures a Store.
type Options struct {
	// Servers is the selector the client picks servers with: the one given
	// to memcache.NewFromSelector, or a memcache.ServerList of the addresses
	// given to memcache.New. Only ScanKeys uses it, to list the keys of
	// every server; without it ScanKeys fails.
	Servers memcache.ServerSelector
}

// Store is a store.Store on memcached. It is safe for concurrent use,
// holds no state of its own besides the client, and never closes the
// client.
type Store struct {
	c       *memcache.Client
	servers memcache.ServerSelector
}

var _ store.Store = (*Store)(nil)

// New returns a Store on client, which stays the caller's to close. It
// rejects a nil client.
func New(client *memcache.Client, opts Options) (*Store, error) {
	if client == nil {
		return nil, errors.New("memcached: New with a nil client")
	}
	return &Store{c: client, servers: opts.Servers}, nil
}

// Tag bytes: the first byte of what a key holds.
const (
	tagValue    = 'v'
	tagNotFound = 'n'
	tagLease    = 'l'
	tagLock     = 'w'
)

const (
	// maxDigits bounds the deadline and the lock count, so both fit an
	// int64 with room to spare.
	maxDigits = 15
	// maxLocks is where Lock stops counting: wrapping would let one Unlock
	// open a key that others still hold.
	maxLocks = 999_999_999_999_999
	// maxTTL caps a TTL, so that deadlines stay far from overflow.
	maxTTL = 10 * 365 * 24 * time.Hour
	// expirySlack is how many seconds memcached keeps an item past its
	// deadline, at least: its clock ticks once a second and an item set
	// just before a tick otherwise expires up to 2 seconds early.
	expirySlack = 3
	// maxRelative is the largest expiration memcached reads as seconds
	// from now; above it, an expiration is a unix time.
	maxRelative = 30 * 24 * 60 * 60
	// deleted is the expiration of a conditional delete: negative, so the
	// item is stored already expired.
	deleted = -1
	// maxAttempts bounds the tries of a method whose key keeps changing.
	maxAttempts = 100
)

// check returns the error of a done ctx, and tolerates a nil one.
func check(ctx context.Context) (context.Context, error) {
	if ctx == nil {
		return context.Background(), nil
	}
	return ctx, ctx.Err()
}

// checkTTL validates the arguments of a method that sets a TTL, and returns
// the TTL in whole milliseconds, rounded up, at most maxTTL.
func checkTTL(ctx context.Context, ttl time.Duration) (context.Context, int64, error) {
	ctx, err := check(ctx)
	if err != nil {
		return ctx, 0, err
	}
	if ttl <= 0 {
		return ctx, 0, fmt.Errorf("memcached: ttl %v is not positive", ttl)
	}
	ttl = min(ttl, maxTTL)
	ms := int64(ttl / time.Millisecond)
	if ttl%time.Millisecond != 0 {
		ms++
	}
	return ctx, ms, nil
}

// nowMilli reads the wall clock the deadlines are written on.
func nowMilli() int64 { return time.Now().UnixMilli() }

// expiration is memcached's expiration for an item whose deadline is
// deadline (unix ms), at now (unix ms): the time left, rounded up to whole
// seconds, plus expirySlack; above 30 days, a unix time. Never 0.
func expiration(now, deadline int64) int32 {
	left := max(deadline-now, 0)
	secs := (left+999)/1000 + expirySlack
	if secs <= maxRelative {
		return int32(secs)
	}
	return int32(min((now+999)/1000+secs, math.MaxInt32))
}

// encode returns what a key holding kind tag with deadline and payload
// holds.
func encode(tag byte, deadline int64, payload []byte) []byte {
	b := make([]byte, 0, 2+maxDigits+len(payload))
	b = append(b, tag)
	b = strconv.AppendInt(b, deadline, 10)
	b = append(b, ':')
	return append(b, payload...)
}

// encodeLock returns what a key holding a lock of count n holds.
func encodeLock(deadline int64, n int64) []byte {
	return encode(tagLock, deadline, strconv.AppendInt(nil, n, 10))
}

// decoded is what a key holds, read.
type decoded struct {
	e        store.Entry
	deadline int64 // unix ms; for our own entries
	ours     bool  // written by this package, so it has a deadline
}

// live reports whether d is present at now: a foreign value lives as long
// as memcached keeps it, our own entries until their deadline.
func (d decoded) live(now int64) bool { return !d.ours || now < d.deadline }

// decode reads an item's value. The Value bytes alias b.
func decode(b []byte) decoded {
	if len(b) >= 3 {
		switch tag := b[0]; tag {
		case tagValue, tagNotFound, tagLease, tagLock:
			deadline, rest, ok := digits(b[1:], ':')
			if !ok {
				break
			}
			d := decoded{deadline: deadline, ours: true}
			switch tag {
			case tagValue:
				d.e = store.Entry{Kind: store.CachedRow, Value: rest}
				return d
			case tagNotFound:
				if len(rest) == 0 {
					d.e = store.Entry{Kind: store.CachedNotFound}
					return d
				}
			case tagLease:
				d.e = store.Entry{Kind: store.Leased, Token: string(rest)}
				return d
			case tagLock:
				if n, tail, ok := digits(rest, 0); ok && len(tail) == 0 && n >= 1 {
					d.e = store.Entry{Kind: store.Locked, Locks: int(min(n, math.MaxInt))}
					return d
				}
			}
		}
	}
	if b == nil {
		b = []byte{}
	}
	return decoded{e: store.Entry{Kind: store.CachedRow, Value: b}} // a foreign value
}

// digits reads 1 to maxDigits ASCII digits at the start of b, followed by
// sep (0: by the end of b). It returns the number and what follows sep.
func digits(b []byte, sep byte) (int64, []byte, bool) {
	end := len(b)
	if sep != 0 {
		if end = bytes.IndexByte(b, sep); end < 0 {
			return 0, nil, false
		}
	}
	if end < 1 || end > maxDigits {
		return 0, nil, false
	}
	var n int64
	for _, c := range b[:end] {
		if c < '0' || c > '9' {
			return 0, nil, false
		}
		n = n*10 + int64(c-'0')
	}
	if sep == 0 {
		return n, nil, true
	}
	return n, b[end+1:], true
}

// get reads key's item; a miss is (nil, nil).
func (s *Store) get(mk string) (*memcache.Item, error) {
	it, err := s.c.Get(mk)
	if errors.Is(err, memcache.ErrCacheMiss) {
		return nil, nil
	}
	return it, err
}

// changed reports whether err says the key changed (or went) between a read
// and a conditional write: the write did not happen, and the method starts
// over.
func changed(err error) bool {
	return errors.Is(err, memcache.ErrCASConflict) || errors.Is(err, memcache.ErrNotStored) ||
		errors.Is(err, memcache.ErrCacheMiss)
}

// retry runs attempt until it reports done or fails, at most maxAttempts
// times, checking ctx and sleeping a short random while between tries.
func retry(ctx context.Context, op string, attempt func() (done bool, err error)) error {
	var took time.Duration // how long the last try took
	for i := range maxAttempts {
		if i > 0 {
			if err := backoff(ctx, i, took); err != nil {
				return err
			}
		}
		start := time.Now()
		done, err := attempt()
		took = time.Since(start)
		if err != nil {
			return fmt.Errorf("memcached: %s: %w", op, err)
		}
		if done {
			return nil
		}
	}
	return fmt.Errorf("memcached: %s: the key changed under each of %d attempts", op, maxAttempts)
}

// backoffTry is the length of a try (a gets and a cas) the backoff bounds
// are made for: on a host where tries take longer, the bounds stretch in
// proportion, so that racing callers spread over as many tries' worth of
// time and lose no more often, however slow the network or the machine.
const backoffTry = 50 * time.Microsecond

// backoff sleeps before the try after the i-th, a random while up to a
// bound that doubles from 20µs to 2ms for tries of backoffTry (scaled by
// took/backoffTry for longer ones), so that racing callers spread out. The
// first retry is immediate.
func backoff(ctx context.Context, i int, took time.Duration) error {
	if i > 1 {
		timer := time.NewTimer(rand.N(backoffBound(i, took)) + 1)
		select {
		case <-ctx.Done():
			timer.Stop()
			return ctx.Err()
		case <-timer.C:
		}
	}
	return ctx.Err()
}

// backoffBound is the longest sleep of backoff before the try after the
// i-th (i > 1), when the last try took took.
func backoffBound(i int, took time.Duration) time.Duration {
	bound := min(20*time.Microsecond<<min(i-2, 7), 2*time.Millisecond)
	if took > backoffTry {
		bound = time.Duration(float64(bound) * float64(took) / float64(backoffTry))
	}
	return bound
}

// Get returns what key holds, with one gets. The Value bytes are the
// caller's: no one else holds them.
func (s *Store) Get(ctx context.Context, key string) (store.Entry, error) {
	if _, err := check(ctx); err != nil {
		return store.Entry{}, err
	}
	it, err := s.get(encodeKey(key))
	if err != nil {
		return store.Entry{}, fmt.Errorf("memcached: get: %w", err)
	}
	if it == nil {
		return store.Entry{}, nil
	}
	d := decode(it.Value)
	if !d.live(nowMilli()) {
		return store.Entry{}, nil
	}
	return d.e, nil
}

// Lease stores a lease with token under key for ttl if the key is absent;
// otherwise it reports what the key holds. On an absent key it is one add;
// on a present one an add, then a gets, and a cas when what the key holds
// is past its deadline.
func (s *Store) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, store.Entry, error) {
	ctx, ms, err := checkTTL(ctx, ttl)
	if err != nil {
		return false, store.Entry{}, err
	}
	mk := encodeKey(key)
	var ok bool
	var cur store.Entry
	err = retry(ctx, "lease", func() (bool, error) {
		now := nowMilli()
		lease := &memcache.Item{Key: mk, Value: encode(tagLease, now+ms, []byte(token)), Expiration: expiration(now, now+ms)}
		err := s.c.Add(lease)
		if err == nil {
			ok = true
			return true, nil
		}
		if !errors.Is(err, memcache.ErrNotStored) {
			return false, err
		}
		it, err := s.get(mk)
		if err != nil || it == nil {
			return false, err // gone since the add: add again
		}
		d := decode(it.Value)
		if d.live(nowMilli()) {
			cur = d.e
			return true, nil
		}
		lease.CasID = it.CasID // what it holds expired: take its place
		if err := s.c.CompareAndSwap(lease); err != nil {
			if changed(err) {
				return false, nil
			}
			return false, err
		}
		ok = true
		return true, nil
	})
	if err != nil {
		return false, store.Entry{}, err
	}
	return ok, cur, nil
}

// Fill replaces the lease token on key with e (Kind Value or NotFound) for
// ttl, if the key still holds that lease, with a gets and a cas. It refuses
// any other kind with an error, without touching the key, and copies
// e.Value.
func (s *Store) Fill(ctx context.Context, key, token string, e store.Entry, ttl time.Duration) (bool, error) {
	ctx, ms, err := checkTTL(ctx, ttl)
	if err != nil {
		return false, err
	}
	var tag byte
	switch e.Kind {
	case store.CachedRow:
		tag = tagValue
	case store.CachedNotFound:
		tag = tagNotFound
	default:
		return false, fmt.Errorf("memcached: Fill with kind %v, want value or not-found", e.Kind)
	}
	mk := encodeKey(key)
	var ok bool
	err = retry(ctx, "fill", func() (bool, error) {
		it, err := s.get(mk)
		if err != nil || it == nil {
			return it == nil, err
		}
		now := nowMilli()
		if d := decode(it.Value); !d.ours || !d.live(now) || d.e.Kind != store.Leased || d.e.Token != token {
			return true, nil
		}
		var payload []byte
		if tag == tagValue {
			payload = e.Value
		}
		it.Value, it.Expiration, it.Flags = encode(tag, now+ms, payload), expiration(now, now+ms), 0
		if err := s.c.CompareAndSwap(it); err != nil {
			if changed(err) {
				return false, nil
			}
			return false, err
		}
		ok = true
		return true, nil
	})
	return ok, err
}

// Release deletes key if it holds the lease with token, with a gets and a
// conditional delete (a cas).
func (s *Store) Release(ctx context.Context, key, token string) error {
	ctx, err := check(ctx)
	if err != nil {
		return err
	}
	mk := encodeKey(key)
	return retry(ctx, "release", func() (bool, error) {
		it, err := s.get(mk)
		if err != nil || it == nil {
			return it == nil, err
		}
		if d := decode(it.Value); !d.ours || !d.live(nowMilli()) || d.e.Kind != store.Leased || d.e.Token != token {
			return true, nil
		}
		return s.deleteItem(it)
	})
}

// deleteItem deletes it if the key still holds it: a cas that stores the
// item already expired. It reports false, without an error, when the key
// changed.
func (s *Store) deleteItem(it *memcache.Item) (bool, error) {
	it.Value, it.Expiration, it.Flags = nil, deleted, 0
	if err := s.c.CompareAndSwap(it); err != nil {
		if changed(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// Lock adds a writer's lock to key and sets its TTL to ttl: a gets, then a
// cas, or an add when the key is absent.
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) error {
	ctx, ms, err := checkTTL(ctx, ttl)
	if err != nil {
		return err
	}
	mk := encodeKey(key)
	return retry(ctx, "lock", func() (bool, error) {
		it, err := s.get(mk)
		if err != nil {
			return false, err
		}
		now := nowMilli()
		var n int64 = 1
		write := s.c.Add
		if it != nil {
			if d := decode(it.Value); d.ours && d.live(now) && d.e.Kind == store.Locked {
				n = min(int64(d.e.Locks), maxLocks-1) + 1
			}
			write = s.c.CompareAndSwap
		} else {
			it = &memcache.Item{Key: mk}
		}
		it.Value, it.Expiration, it.Flags = encodeLock(now+ms, n), expiration(now, now+ms), 0
		if err := write(it); err != nil {
			if changed(err) {
				return false, nil
			}
			return false, err
		}
		return true, nil
	})
}

// Unlock removes a writer's lock from key, with a gets and a cas: a count
// above 1 is decremented, keeping the lock's deadline; anything else is
// deleted.
func (s *Store) Unlock(ctx context.Context, key string) error {
	ctx, err := check(ctx)
	if err != nil {
		return err
	}
	mk := encodeKey(key)
	return retry(ctx, "unlock", func() (bool, error) {
		it, err := s.get(mk)
		if err != nil || it == nil {
			return it == nil, err
		}
		now := nowMilli()
		d := decode(it.Value)
		if !d.ours || !d.live(now) || d.e.Kind != store.Locked || d.e.Locks <= 1 {
			return s.deleteItem(it)
		}
		it.Value, it.Expiration, it.Flags = encodeLock(d.deadline, int64(d.e.Locks)-1), expiration(now, d.deadline), 0
		if err := s.c.CompareAndSwap(it); err != nil {
			if changed(err) {
				return false, nil
			}
			return false, err
		}
		return true, nil
	})
}

// Delete removes whatever key holds, with one delete.
func (s *Store) Delete(ctx context.Context, key string) error {
	if _, err := check(ctx); err != nil {
		return err
	}
	if err := s.c.Delete(encodeKey(key)); err != nil && !errors.Is(err, memcache.ErrCacheMiss) {
		return fmt.Errorf("memcached: delete: %w", err)
	}
	return nil
}
