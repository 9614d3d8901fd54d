package consistency

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/memory"
	"github.com/cachegen/cachegen/runtime/store"
)

// The store wrappers, from the runtime down:
//
//	runtime (breaker) -> [crashStore] -> traceStore -> [weakStore] -> memFault -> memShared -> memory.Store
//	runtime (breaker) -> [crashStore] -> traceStore -> [weakStore] -> redis.Store -> client -> proxy -> redis-server

type traceKey struct{}

// withTrace returns ctx carrying the trace of one write.
func withTrace(ctx context.Context, t *Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

func traceOf(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	return t
}

// traceStore records, for the write whose context carries a Trace, which
// keys the store locked and released, and remembers the keys reads asked
// for (the corrupter's targets).
type traceStore struct {
	inner runtime.Store
	keys  *keySet
}

func (s *traceStore) Get(ctx context.Context, key string) (store.Entry, error) {
	s.keys.add(key)
	return s.inner.Get(ctx, key)
}

func (s *traceStore) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, store.Entry, error) {
	return s.inner.Lease(ctx, key, token, ttl)
}

func (s *traceStore) Fill(ctx context.Context, key, token string, e store.Entry, ttl time.Duration) (bool, error) {
	return s.inner.Fill(ctx, key, token, e, ttl)
}

func (s *traceStore) Release(ctx context.Context, key, token string) error {
	return s.inner.Release(ctx, key, token)
}

func (s *traceStore) Lock(ctx context.Context, key string, ttl time.Duration) error {
	err := s.inner.Lock(ctx, key, ttl)
	if t := traceOf(ctx); t != nil {
		t.Record(false, key, err)
	}
	return err
}

func (s *traceStore) Unlock(ctx context.Context, key string) error {
	err := s.inner.Unlock(ctx, key)
	if t := traceOf(ctx); t != nil {
		t.Record(true, key, err)
	}
	return err
}

func (s *traceStore) Delete(ctx context.Context, key string) error { return s.inner.Delete(ctx, key) }

// keySet is the set of cache keys seen, for the corrupter to pick from.
type keySet struct {
	mu   sync.Mutex
	keys map[string]struct{}
	list []string
}

func (k *keySet) add(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.keys[key]; ok {
		return
	}
	if k.keys == nil {
		k.keys = map[string]struct{}{}
	}
	k.keys[key] = struct{}{}
	k.list = append(k.list, key)
}

func (k *keySet) random(r *rand.Rand) string {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.list) == 0 {
		return ""
	}
	return k.list[r.IntN(len(k.list))]
}

// crashStore is the store of a writer that dies between its commit and its
// releases: every Unlock (and lease Release) is lost, as if the process had
// exited. The locks it took stay until their TTL, and no retry ever comes.
// The first Unlock marks the process dead (dead, when not nil), for its
// near cache's bus (crashBus).
type crashStore struct {
	runtime.Store
	dead *atomic.Bool
}

func (s crashStore) Unlock(context.Context, string) error {
	if s.dead != nil {
		s.dead.Store(true)
	}
	return nil
}

func (crashStore) Release(context.Context, string, string) error { return nil }

// weakStore turns the protocol into plain cache-aside, for the negative
// control: a lease always "succeeds" without storing anything, a fill is an
// unconditional set (delete, lease, fill on the inner store), and a lock or
// an unlock is a delete. Nothing keeps a slow reader from writing back a
// row older than a write that committed meanwhile.
type weakStore struct{ inner runtime.Store }

func (s weakStore) Get(ctx context.Context, key string) (store.Entry, error) {
	return s.inner.Get(ctx, key)
}

func (weakStore) Lease(context.Context, string, string, time.Duration) (bool, store.Entry, error) {
	return true, store.Entry{}, nil
}

func (s weakStore) Fill(ctx context.Context, key, _ string, e store.Entry, ttl time.Duration) (bool, error) {
	if err := s.inner.Delete(ctx, key); err != nil {
		return false, err
	}
	const token = "weak"
	if _, _, err := s.inner.Lease(ctx, key, token, ttl); err != nil {
		return false, err
	}
	return s.inner.Fill(ctx, key, token, e, ttl)
}

func (weakStore) Release(context.Context, string, string) error { return nil }

func (s weakStore) Lock(ctx context.Context, key string, _ time.Duration) error {
	return s.inner.Delete(ctx, key)
}

func (s weakStore) Unlock(ctx context.Context, key string) error { return s.inner.Delete(ctx, key) }

func (s weakStore) Delete(ctx context.Context, key string) error { return s.inner.Delete(ctx, key) }

// memShared is the one in-memory store every runtime shares: it can be
// flushed (replaced by an empty store, as a restart would), and can hold
// corrupt values: a marked key whose entry is a value reads as damaged
// bytes until the key is next written.
type memShared struct {
	cur     atomic.Pointer[memory.Store]
	mu      sync.Mutex
	corrupt map[string]int // key -> damage kind
	ncorr   atomic.Int64
}

func newMemShared() (*memShared, error) {
	s, err := memory.New(memory.Options{})
	if err != nil {
		return nil, err
	}
	m := &memShared{corrupt: map[string]int{}}
	m.cur.Store(s)
	return m, nil
}

// flush replaces the store with an empty one: every value, lease and lock
// is gone.
func (m *memShared) flush() error {
	s, err := memory.New(memory.Options{})
	if err != nil {
		return err
	}
	old := m.cur.Swap(s)
	old.Close()
	return nil
}

func (m *memShared) close() { m.cur.Load().Close() }

// damage marks key: while it holds a value, reads see it damaged.
func (m *memShared) damage(key string, kind int) {
	m.mu.Lock()
	m.corrupt[key] = kind
	m.ncorr.Store(int64(len(m.corrupt)))
	m.mu.Unlock()
}

func (m *memShared) clear(key string) {
	if m.ncorr.Load() == 0 {
		return
	}
	m.mu.Lock()
	delete(m.corrupt, key)
	m.ncorr.Store(int64(len(m.corrupt)))
	m.mu.Unlock()
}

func (m *memShared) Get(ctx context.Context, key string) (store.Entry, error) {
	e, err := m.cur.Load().Get(ctx, key)
	if err != nil || e.Kind != store.CachedRow || m.ncorr.Load() == 0 {
		return e, err
	}
	m.mu.Lock()
	kind, ok := m.corrupt[key]
	m.mu.Unlock()
	if ok {
		e.Value = damaged(e.Value, kind)
	}
	return e, nil
}

func (m *memShared) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, store.Entry, error) {
	ok, cur, err := m.cur.Load().Lease(ctx, key, token, ttl)
	if ok {
		m.clear(key)
	}
	return ok, cur, err
}

func (m *memShared) Fill(ctx context.Context, key, token string, e store.Entry, ttl time.Duration) (bool, error) {
	ok, err := m.cur.Load().Fill(ctx, key, token, e, ttl)
	if ok {
		m.clear(key)
	}
	return ok, err
}

func (m *memShared) Release(ctx context.Context, key, token string) error {
	return m.cur.Load().Release(ctx, key, token)
}

func (m *memShared) Lock(ctx context.Context, key string, ttl time.Duration) error {
	m.clear(key)
	return m.cur.Load().Lock(ctx, key, ttl)
}

func (m *memShared) Unlock(ctx context.Context, key string) error {
	m.clear(key)
	return m.cur.Load().Unlock(ctx, key)
}

func (m *memShared) Delete(ctx context.Context, key string) error {
	m.clear(key)
	return m.cur.Load().Delete(ctx, key)
}

// The damage the corrupter does to a value. The first kinds are what the
// runtime must recognise (no header, another schema, truncated, trailing
// bytes, empty); the undetectable ones (a flipped bit in the row, another
// key's value) are only done on request, to show what a checksum-less
// format cannot catch.
const (
	damageGarbage = iota
	damageSchema
	damageTruncate
	damageTrailing
	damageEmpty
	detectableDamages
	damageBitFlip = detectableDamages
	damageSwap    = detectableDamages + 1
)

// damaged returns v damaged by kind. v starts with the runtime's 5-byte
// header (format version, schema hash).
func damaged(v []byte, kind int) []byte {
	out := append([]byte(nil), v...)
	switch kind {
	case damageGarbage:
		return []byte("\xffnot a cachegen value")
	case damageSchema:
		if len(out) > 2 {
			out[2] ^= 0x5a
		}
	case damageTruncate:
		if len(out) > 6 {
			return out[:len(out)-1]
		}
		return out[:len(out)/2]
	case damageTrailing:
		return append(out, 0x01, 0x02)
	case damageEmpty:
		return []byte{}
	case damageBitFlip:
		if len(out) > 6 {
			i := 5 + rand.IntN(len(out)-5)
			out[i] ^= 1 << rand.IntN(8)
		}
	}
	return out
}

// errStoreDown, errStoreDropped and errStoreTimeout are the memory store's
// faults as a client would see them.
var (
	errStoreDown    = errors.New("consistency: store unreachable (injected)")
	errStoreDropped = errors.New("consistency: connection dropped after the command was sent (injected)")
)

type timeoutError struct{}

func (timeoutError) Error() string   { return "consistency: store timed out (injected)" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

// Fault modes of one runtime's link to the in-memory store.
const (
	linkOK      = iota
	linkDown    // every call fails at once, nothing applied (refused, partitioned)
	linkDrop    // calls are applied but half the replies are lost
	linkSlow    // calls take up to twice the timeout; a late one fails and may be applied later
	linkBlocked // every call waits for the timeout, then fails, nothing applied
)

// memFault is one runtime's link to the shared in-memory store, with the
// faults a network would add.
type memFault struct {
	inner   runtime.Store
	mode    atomic.Int32
	timeout time.Duration
}

func (f *memFault) set(mode int) { f.mode.Store(int32(mode)) }

// do runs op through the link's current fault. A late op's result is
// dropped.
func (f *memFault) do(ctx context.Context, op func(ctx context.Context) (any, error)) (any, error) {
	switch f.mode.Load() {
	case linkDown:
		return nil, errStoreDown
	case linkBlocked:
		sleep(ctx, f.timeout)
		return nil, timeoutError{}
	case linkDrop:
		v, err := op(ctx)
		if rand.IntN(2) == 0 {
			return nil, errStoreDropped
		}
		return v, err
	case linkSlow:
		d := time.Duration(rand.Int64N(int64(2 * f.timeout)))
		if d <= f.timeout {
			sleep(ctx, d)
			return op(ctx)
		}
		sleep(ctx, f.timeout)
		if rand.IntN(2) == 0 {
			go func() { // delivered late, after the caller gave up
				time.Sleep(d - f.timeout)
				_, _ = op(context.Background())
			}()
		}
		return nil, timeoutError{}
	}
	return op(ctx)
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

type leaseResult struct {
	ok  bool
	cur store.Entry
}

func (f *memFault) Get(ctx context.Context, key string) (store.Entry, error) {
	v, err := f.do(ctx, func(ctx context.Context) (any, error) { return f.inner.Get(ctx, key) })
	if err != nil {
		return store.Entry{}, err
	}
	return v.(store.Entry), nil
}

func (f *memFault) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, store.Entry, error) {
	v, err := f.do(ctx, func(ctx context.Context) (any, error) {
		ok, cur, err := f.inner.Lease(ctx, key, token, ttl)
		return leaseResult{ok, cur}, err
	})
	if err != nil {
		return false, store.Entry{}, err
	}
	r := v.(leaseResult)
	return r.ok, r.cur, nil
}

func (f *memFault) Fill(ctx context.Context, key, token string, e store.Entry, ttl time.Duration) (bool, error) {
	e.Value = append([]byte(nil), e.Value...) // a late fill must not share the caller's bytes
	v, err := f.do(ctx, func(ctx context.Context) (any, error) { return f.inner.Fill(ctx, key, token, e, ttl) })
	if err != nil {
		return false, err
	}
	return v.(bool), nil
}

func (f *memFault) Release(ctx context.Context, key, token string) error {
	_, err := f.do(ctx, func(ctx context.Context) (any, error) { return nil, f.inner.Release(ctx, key, token) })
	return err
}

func (f *memFault) Lock(ctx context.Context, key string, ttl time.Duration) error {
	_, err := f.do(ctx, func(ctx context.Context) (any, error) { return nil, f.inner.Lock(ctx, key, ttl) })
	return err
}

func (f *memFault) Unlock(ctx context.Context, key string) error {
	_, err := f.do(ctx, func(ctx context.Context) (any, error) { return nil, f.inner.Unlock(ctx, key) })
	return err
}

func (f *memFault) Delete(ctx context.Context, key string) error {
	_, err := f.do(ctx, func(ctx context.Context) (any, error) { return nil, f.inner.Delete(ctx, key) })
	return err
}

// UpdateBoard keeps the build board in the current store: a flush loses
// it, as a restart would.
func (m *memShared) UpdateBoard(ctx context.Context, key string, keep time.Duration, fn func([]byte) ([]byte, error)) error {
	return m.cur.Load().UpdateBoard(ctx, key, keep, fn)
}

// ScanKeys lists the keys of the current store (store.KeyScanner, for
// InvalidateAll: the -cdc consumers invalidate tables as a whole).
func (m *memShared) ScanKeys(ctx context.Context, prefix string, fn func(string) error) error {
	return m.cur.Load().ScanKeys(ctx, prefix, fn)
}

// ScanKeys lists the shared store's keys through the link's fault.
func (f *memFault) ScanKeys(ctx context.Context, prefix string, fn func(string) error) error {
	_, err := f.do(ctx, func(ctx context.Context) (any, error) {
		return nil, f.inner.(store.KeyScanner).ScanKeys(ctx, prefix, fn)
	})
	return err
}
