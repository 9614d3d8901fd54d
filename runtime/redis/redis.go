// Package redis is the store.Store on Redis: a single node, Sentinel or
// Redis Cluster, through go-redis's UniversalClient.
//
// Every method touches exactly one key with one command or one Lua script,
// the key being the script's only KEYS entry, so the protocol runs
// unchanged on a Cluster and never meets CROSSSLOT. Get is a plain GET; the
// writes are short scripts, sent as EVALSHA with a fallback to EVAL when the
// server does not know the script (a fresh node, a failover, SCRIPT FLUSH).
// A write's locks and releases go in one pipeline per
// phase, each command sent once and the call bounded by its context's
// deadline (see LockMany). On a Client (a single node, or Sentinel's
// master) a phase's pipeline holds one script over all its keys, which
// are on the one server, instead of one script a key: the server runs one
// script, not one a key.
// With Options.WaitReplicas each phase's pipeline ends with a WAIT, and a
// phase fails unless that many replicas acknowledged it (see wait.go).
//
// # Encoding
//
// A key holds one Redis string whose first byte tags what it is:
//
//	"v" + tag + bytes  Value (the bytes may be empty); tag: 8 bytes naming
//	                   the master it was written to (see fence.go)
//	"n" + tag       NotFound (exactly these 9 bytes), tagged as a value
//	"l" + token     Leased
//	"w" + count     Locked; count is decimal ASCII digits
//
// Anything else under a key (a value written by someone else, garbage, an
// empty string, "n" with other than 8 bytes after it) reads as Kind Value with the raw
// bytes, tag byte included; a key of another Redis type (a hash, a list…)
// reads as Kind Value with no bytes. The runtime checks its own header on
// every value and discards one it does not recognise with Lock and Unlock,
// which overwrite or delete whatever the key holds, whatever its type. A
// "w" whose count is not 1 to 15 ASCII digits, or is 0, reads as Locked with
// count 1, and the scripts treat it the same way: Lock makes it 2, Unlock
// deletes it. Lock stops counting at 999,999,999,999,999.
//
// # Servers
//
// Redis 6.0 or later (Unlock uses SET … KEEPTTL; tested on 7.0). TTLs
// are sent in milliseconds (PX), a sub-millisecond TTL rounded up to 1 ms.
// Reads must go to the master that takes the writes: a replica lags, and
// a read from it could return a value older than an acknowledged write. New
// therefore rejects a ClusterClient that reads from replicas (ReadOnly,
// RouteByLatency or RouteRandomly); a Sentinel client must not be made
// with ReplicaOnly either, which New cannot see.
package redis

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"reflect"
	"sync"
	"time"
	"unsafe"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachegen/cachegen/runtime/store"
)

// Options configures a Store. The zero value is a working configuration.
type Options struct {
	// Logger, when set, is told once per server when the store finds
	// persistence (RDB save points or AOF) turned on: a restart then comes
	// back with old values, which the store fences (see fence.go) at the
	// cost of a cold cache after each restart.
	Logger *slog.Logger

	// WaitReplicas, when above zero, makes each of a write's store phases
	// (its locks before commit, its releases after) end with WAIT
	// WaitReplicas WaitTimeout, in the same pipeline as the phase's
	// commands (one per node on a Cluster). A node whose WAIT counts fewer
	// replicas than WaitReplicas fails the phase for its ops, as a timeout
	// would: the write commits all the same and the runtime queues their
	// keys for a retry. A release (an invalidation) acknowledged to the
	// write then survives a failover to any of the replicas that
	// acknowledged it. Zero (the default) turns the mode off: a phase ends
	// when the master has run its commands, and a failover to a replica
	// that has not yet received a release serves the value it dropped
	// until the fence or the TTL removes it.
	//
	// The cost is one replication round trip per phase, twice per write
	// (see the README for the measured figure), and a phase that fails
	// whenever fewer replicas than WaitReplicas are connected.
	WaitReplicas int

	// WaitTimeout bounds each WAIT, rounded up to a millisecond. It must be
	// above zero when WaitReplicas is (WAIT 0 blocks without bound) and
	// zero when WaitReplicas is zero. Keep it below the client's
	// ReadTimeout and the runtime's phase timeout (runtime.WithPhaseTimeout),
	// which bound the phase as a whole: a phase that outlives either fails
	// the same way, but leaves the connection's WAIT running on the server.
	WaitTimeout time.Duration
}

// Store is a store.Store on Redis. It is safe for concurrent use, holds no
// state of its own besides the client, and never closes the client.
type Store struct {
	c     goredis.UniversalClient
	fence fence
	wait  waitMode
	// boundsCalls: the client ends each call by its context's deadline, so
	// a write phase need not run on a goroutine of its own (see bounded).
	boundsCalls bool
	pipes       sync.Pool // empty pipelines on c (see pipeline)
	// oneNode: every key is on the one server c talks to (a Client, on a
	// single node or Sentinel's master), so a script may touch many.
	oneNode bool
}

var _ store.Store = (*Store)(nil)

// New returns a Store on client, which stays the caller's to close. It
// rejects a nil client, a ClusterClient that reads from replicas, and
// Options whose WaitReplicas or WaitTimeout are out of range.
func New(client goredis.UniversalClient, opts Options) (*Store, error) {
	if isNil(client) {
		return nil, errors.New("redis: New with a nil client")
	}
	if cc, ok := client.(*goredis.ClusterClient); ok {
		if o := cc.Options(); o.ReadOnly || o.RouteByLatency || o.RouteRandomly {
			return nil, errors.New("redis: the ClusterClient reads from replicas (ReadOnly, RouteByLatency or RouteRandomly), which can return values older than an acknowledged write")
		}
	}
	wait, err := newWaitMode(opts)
	if err != nil {
		return nil, err
	}
	_, oneNode := client.(*goredis.Client)
	s := &Store{c: client, wait: wait, boundsCalls: boundsCalls(client), oneNode: oneNode}
	s.fence.init()
	if opts.Logger != nil {
		s.fence.onLearn = persistenceCheck(opts.Logger)
	}
	s.watch(client)
	if cc, ok := client.(*goredis.ClusterClient); ok {
		// nodes the client made already: those made from now on get the
		// hook as they are made
		_ = cc.ForEachShard(context.Background(), func(_ context.Context, n *goredis.Client) error {
			n.AddHook(dialWatch{&s.fence})
			return nil
		})
	}
	return s, nil
}

// isNil reports whether c is nil or an interface holding a nil pointer.
func isNil(c goredis.UniversalClient) bool {
	if c == nil {
		return true
	}
	v := reflect.ValueOf(c)
	return v.Kind() == reflect.Pointer && v.IsNil()
}

// Tag bytes: the first byte of what a key holds.
const (
	tagValue    = 'v'
	tagNotFound = 'n'
	tagLease    = 'l'
	tagLock     = 'w'
)

// maxCountDigits is the longest lock count read as a number, so that the
// Lua scripts (whose numbers are doubles) and Go read every count alike.
const maxCountDigits = 15

// The scripts. Each touches KEYS[1] only. A GET through redis.pcall turns a
// key of another type into an error table instead of failing the script,
// so such a key is treated like any other foreign value.
//
// lockCount is the Lua twin of parseCount; the scripts share it by
// concatenation. cur is a string that starts with "w".
const lockCount = `
local function lockCount(cur)
  local s = string.sub(cur, 2)
  if #s < 1 or #s > 15 or not string.find(s, '^%d+$') then return 1 end
  local n = tonumber(s)
  if n < 1 then return 1 end
  return n
end
`

var (
	// leaseScript: ARGV[1] = "l"+token, ARGV[2] = TTL in ms. It returns nil
	// if it stored the lease, or what the key holds instead ("" for a key
	// of another type).
	leaseScript = goredis.NewScript(`
local cur = redis.pcall('GET', KEYS[1])
if cur == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return false
end
if type(cur) ~= 'string' then return '' end
return cur
`)

	// fillScript: ARGV[1] = "l"+token, ARGV[2] = the encoded entry, ARGV[3]
	// = TTL in ms. It returns 1 if it replaced the lease, else 0.
	fillScript = goredis.NewScript(`
if redis.pcall('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
`)

	// releaseScript: ARGV[1] = "l"+token. It deletes the key if it holds
	// that lease and returns 1, else 0.
	releaseScript = goredis.NewScript(`
if redis.pcall('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
`)

	// lockScript: ARGV[1] = TTL in ms. It returns the new lock count.
	lockScript = goredis.NewScript(lockSrc)

	// unlockScript returns the lock count left, 0 when it deleted the key.
	unlockScript = goredis.NewScript(unlockSrc)

	// lockAllScript and unlockAllScript are lockScript and unlockScript
	// over every key of KEYS.
	lockAllScript   = goredis.NewScript(lockAllSrc)
	unlockAllScript = goredis.NewScript(unlockAllSrc)
)

// The sources of the write phases' scripts, which are sent as EVAL when a
// server does not know them (see runOnce). lockAllSrc and unlockAllSrc do
// the same for each of their KEYS in turn, and return the counts in order:
// a single node's phase is one of them (see runGroupOneScript).
const (
	lockAllSrc = lockCount + `
local out = {}
for i, key in ipairs(KEYS) do
  local n = 0
  local cur = redis.pcall('GET', key)
  if type(cur) == 'string' and string.byte(cur, 1) == 119 then n = lockCount(cur) end
  if n < 999999999999999 then n = n + 1 end
  redis.call('SET', key, 'w' .. string.format('%d', n), 'PX', ARGV[1])
  out[i] = n
end
return out
`

	unlockAllSrc = lockCount + `
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = 0
  local cur = redis.pcall('GET', key)
  if cur ~= false then
    local n = 0
    if type(cur) == 'string' and string.byte(cur, 1) == 119 then n = lockCount(cur) end
    if n > 1 then
      redis.call('SET', key, 'w' .. string.format('%d', n - 1), 'KEEPTTL')
      out[i] = n - 1
    else
      redis.call('DEL', key)
    end
  end
end
return out
`

	lockSrc = lockCount + `
local n = 0
local cur = redis.pcall('GET', KEYS[1])
if type(cur) == 'string' and string.byte(cur, 1) == 119 then n = lockCount(cur) end
if n < 999999999999999 then n = n + 1 end
redis.call('SET', KEYS[1], 'w' .. string.format('%d', n), 'PX', ARGV[1])
return n
`

	unlockSrc = lockCount + `
local cur = redis.pcall('GET', KEYS[1])
if cur == false then return 0 end
if type(cur) == 'string' and string.byte(cur, 1) == 119 then
  local n = lockCount(cur)
  if n > 1 then
    redis.call('SET', KEYS[1], 'w' .. string.format('%d', n - 1), 'KEEPTTL')
    return n - 1
  end
end
redis.call('DEL', KEYS[1])
return 0
`
)

// check returns the error of a done ctx, and tolerates a nil one.
func check(ctx context.Context) (context.Context, error) {
	if ctx == nil {
		return context.Background(), nil
	}
	return ctx, ctx.Err()
}

// checkTTL validates the arguments of a method that sets a TTL, and returns
// the TTL in milliseconds, rounded up.
func checkTTL(ctx context.Context, ttl time.Duration) (context.Context, int64, error) {
	ctx, err := check(ctx)
	if err != nil {
		return ctx, 0, err
	}
	if ttl <= 0 {
		return ctx, 0, fmt.Errorf("redis: ttl %v is not positive", ttl)
	}
	ms := int64(ttl / time.Millisecond)
	if ttl%time.Millisecond != 0 {
		ms++
	}
	return ctx, ms, nil
}

// decode reads what a key holds. The Value bytes alias b. A value whose
// server tag names no master the store talks to now (written before a
// restart or a failover: see fence.go) reads as a foreign value.
func (s *Store) decode(b []byte) store.Entry {
	if len(b) > 0 {
		switch b[0] {
		case tagValue:
			if len(b) > tagLen && s.fence.knows(binary.LittleEndian.Uint64(b[1:1+tagLen])) {
				return store.Entry{Kind: store.CachedRow, Value: b[1+tagLen:]}
			}
		case tagNotFound:
			if len(b) == 1+tagLen && s.fence.knows(binary.LittleEndian.Uint64(b[1:])) {
				return store.Entry{Kind: store.CachedNotFound}
			}
		case tagLease:
			return store.Entry{Kind: store.Leased, Token: string(b[1:])}
		case tagLock:
			return store.Entry{Kind: store.Locked, Locks: parseCount(b[1:])}
		}
	}
	if b == nil {
		b = []byte{}
	}
	return store.Entry{Kind: store.CachedRow, Value: b} // a foreign value
}

// parseCount reads a lock count the way the scripts' lockCount does: 1 to
// 15 ASCII digits, at least 1; anything else is 1.
func parseCount(b []byte) int {
	if len(b) < 1 || len(b) > maxCountDigits {
		return 1
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 1
		}
		n = n*10 + int64(c-'0')
	}
	if n < 1 {
		return 1
	}
	return int(min(n, math.MaxInt))
}

// isWrongType reports whether err is Redis's reply to a command on a key of
// another type.
func isWrongType(err error) bool { return goredis.HasErrorPrefix(err, "WRONGTYPE") }

// getCmd is one GET in one allocation: the command, its arguments and the
// key. s.c.Get(ctx, key) makes three (the command, the argument slice, and
// the key boxed into an interface), on the path of every cache hit.
type getCmd struct {
	cmd  goredis.StringCmd
	args [2]any
	key  string
}

// get runs GET key and returns the reply.
//
// The key goes in as a *string to g.key, which shares g's allocation:
// boxing a pointer into an interface costs nothing, boxing a string costs
// an allocation. go-redis (v9.23) handles a *string argument as the string
// it points to wherever it reads a key: the RESP writer (WriteArg), the
// Cluster slot of the command (stringArg) and Name. Two visible
// differences: cmd.String(), which only hooks and logs call, prints the
// pointer, not the key; and client-side caching (isWireKeyType) leaves the
// GET uncached, so it always reaches the server, as the package requires
// of reads anyway.
//
// The command is built by NewStringCmd, the constructor go-redis's own Get
// uses, and copied into g before anything sees it: NewStringCmd is inlined
// and its result does not escape, so the copy costs no allocation. g is
// never reused, so a hook or a client that keeps the command keeps a valid
// one.
func (s *Store) get(ctx context.Context, key string) (string, error) {
	g := &getCmd{key: key}
	g.args = [2]any{"get", &g.key}
	g.cmd = *goredis.NewStringCmd(ctx, g.args[:]...)
	_ = s.c.Process(ctx, &g.cmd) // the error is also the command's
	return g.cmd.Result()
}

// Get returns what key holds, with one GET. The Value bytes share memory
// with go-redis's reply string (as StringCmd.Bytes does): callers must not
// modify them.
func (s *Store) Get(ctx context.Context, key string) (store.Entry, error) {
	ctx, err := check(ctx)
	if err != nil {
		return store.Entry{}, err
	}
	v, err := s.get(ctx, key)
	if s.fence.stale() {
		// a connection was made since the servers' identities were read:
		// maybe for this very GET, to a server that came back with old data
		if lerr := s.learn(ctx); lerr != nil {
			return store.Entry{}, lerr
		}
	}
	switch {
	case err == nil:
		// no copy: v is a string go-redis made for this reply alone and
		// nobody writes to (strings are immutable), and callers must not
		// modify the Value (the same aliasing as StringCmd.Bytes and Lease)
		return s.decode(unsafe.Slice(unsafe.StringData(v), len(v))), nil
	case errors.Is(err, goredis.Nil):
		return store.Entry{}, nil
	case isWrongType(err):
		return s.decode(nil), nil // someone else's key, of another type
	}
	return store.Entry{}, fmt.Errorf("redis: get: %w", err)
}

// Lease stores a lease with token under key for ttl if the key is absent;
// otherwise it reports what the key holds, in one round trip. SET NX alone
// cannot report what it found; SET NX GET can, but only on Redis 7.0 and
// later, and it fails with WRONGTYPE on a key of another type. So Lease is
// a script (GET, then SET PX when absent): one code path on every server,
// at the cost of a few allocations on this, the miss, path.
func (s *Store) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, store.Entry, error) {
	ctx, ms, err := checkTTL(ctx, ttl)
	if err != nil {
		return false, store.Entry{}, err
	}
	cur, err := leaseScript.Run(ctx, s.c, []string{key}, leaseArg(token), ms).Text()
	if s.fence.stale() {
		if lerr := s.learn(ctx); lerr != nil {
			return false, store.Entry{}, lerr
		}
	}
	switch {
	case errors.Is(err, goredis.Nil):
		return true, store.Entry{}, nil
	case err != nil:
		return false, store.Entry{}, fmt.Errorf("redis: lease: %w", err)
	}
	// no copy: cur is immutable, and callers must not modify the Value
	return false, s.decode(unsafe.Slice(unsafe.StringData(cur), len(cur))), nil
}

// encodeEntry is what a key holding e (a value or a not-found) written to
// the server of tag holds.
func encodeEntry(tag uint64, e store.Entry) []byte {
	enc := make([]byte, 1+tagLen+len(e.Value))
	enc[0] = tagValue
	if e.Kind == store.CachedNotFound {
		enc = enc[:1+tagLen]
		enc[0] = tagNotFound
	}
	binary.LittleEndian.PutUint64(enc[1:], tag)
	copy(enc[1+tagLen:], e.Value)
	return enc
}

// leaseArg is what a key holding a lease with token holds.
func leaseArg(token string) string { return string(tagLease) + token }

// Fill replaces the lease token on key with e (Kind Value or NotFound) for
// ttl, if the key still holds that lease. It refuses any other kind with an
// error, without touching the key.
func (s *Store) Fill(ctx context.Context, key, token string, e store.Entry, ttl time.Duration) (bool, error) {
	ctx, ms, err := checkTTL(ctx, ttl)
	if err != nil {
		return false, err
	}
	if e.Kind != store.CachedRow && e.Kind != store.CachedNotFound {
		return false, fmt.Errorf("redis: Fill with kind %v, want value or not-found", e.Kind)
	}
	tag, err := s.tagFor(ctx, key)
	if err != nil {
		return false, err
	}
	enc := encodeEntry(tag, e)
	n, err := fillScript.Run(ctx, s.c, []string{key}, leaseArg(token), enc, ms).Int64()
	if err != nil {
		return false, fmt.Errorf("redis: fill: %w", err)
	}
	return n == 1, nil
}

// Release deletes key if it holds the lease with token, in one script.
func (s *Store) Release(ctx context.Context, key, token string) error {
	ctx, err := check(ctx)
	if err != nil {
		return err
	}
	if err := releaseScript.Run(ctx, s.c, []string{key}, leaseArg(token)).Err(); err != nil {
		return fmt.Errorf("redis: release: %w", err)
	}
	return nil
}

// Lock adds a writer's lock to key and sets its TTL to ttl. It is sent
// once, and returns by ctx's deadline (see LockMany).
func (s *Store) Lock(ctx context.Context, key string, ttl time.Duration) error {
	ops := []store.LockOp{{Key: key, TTL: ttl}}
	s.LockMany(ctx, ops)
	return ops[0].Err
}

// Unlock removes a writer's lock from key: a count above 1 is decremented,
// keeping the TTL; anything else is deleted. It is sent once, and returns
// by ctx's deadline (see UnlockMany).
func (s *Store) Unlock(ctx context.Context, key string) error {
	ops := []store.UnlockOp{{Key: key}}
	s.UnlockMany(ctx, ops)
	return ops[0].Err
}

// Delete removes whatever key holds, with one DEL.
func (s *Store) Delete(ctx context.Context, key string) error {
	ctx, err := check(ctx)
	if err != nil {
		return err
	}
	if err := s.c.Del(ctx, key).Err(); err != nil {
		return fmt.Errorf("redis: delete: %w", err)
	}
	return nil
}
