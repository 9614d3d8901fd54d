package memory_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/memory"
	"github.com/cachegen/cachegen/runtime/store"
	"github.com/cachegen/cachegen/runtime/storetest"
)

func newStore(t *testing.T, opts memory.Options) *memory.Store {
	t.Helper()
	s, err := memory.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// The contract runs in synctest bubbles: the store's TTLs run on the
// bubble's clock, so the cases that wait for one to run out wait for no
// real time, and none depends on how fast the machine is.

func TestContractFreshStores(t *testing.T) {
	storetest.RunSynctest(t, func(t *testing.T) runtime.Store { return newStore(t, memory.Options{}) })
}

func TestContractSharedStore(t *testing.T) {
	storetest.RunSynctestShared(t, func(t *testing.T) runtime.Store { return newStore(t, memory.Options{}) })
}

func TestNewValidates(t *testing.T) {
	for _, n := range []uint64{1, 1023} {
		if s, err := memory.New(memory.Options{MaxBytes: n}); err == nil {
			s.Close()
			t.Errorf("MaxBytes %d accepted", n)
		}
	}
	for _, n := range []uint64{0, 1024, math.MaxUint64} {
		s, err := memory.New(memory.Options{MaxBytes: n})
		if err != nil {
			t.Errorf("MaxBytes %d: %v", n, err)
			continue
		}
		s.Close()
	}
}

// Size eviction may drop values, never a lease or a lock: losing one would
// let a stale value be filled while a writer holds the key.
func TestEvictionSparesLeasesAndLocks(t *testing.T) {
	const maxBytes = 256 << 10
	s := newStore(t, memory.Options{MaxBytes: maxBytes})
	ctx := t.Context()
	fill := func(key string, v []byte) {
		t.Helper()
		if ok, _, err := s.Lease(ctx, key, "fill", time.Hour); err != nil || !ok {
			t.Fatalf("Lease(%q): %v, %v", key, ok, err)
		}
		if ok, err := s.Fill(ctx, key, "fill", store.Entry{Kind: store.CachedRow, Value: v}, time.Hour); err != nil || !ok {
			t.Fatalf("Fill(%q): %v, %v", key, ok, err)
		}
	}
	v := make([]byte, 1024)

	// locks over keys that held values first, whose weight drops to zero
	for i := range 1000 {
		fill(fmt.Sprint("lock", i), v)
	}
	const locks, leases, values = 10000, 1000, 5000 // values: ~20 times maxBytes
	for i := range locks {
		if err := s.Lock(ctx, fmt.Sprint("lock", i), time.Hour); err != nil {
			t.Fatal(err)
		}
		if i < leases {
			if ok, _, err := s.Lease(ctx, fmt.Sprint("lease", i), "t", time.Hour); err != nil || !ok {
				t.Fatalf("Lease: %v, %v", ok, err)
			}
		}
		if i < values {
			fill(fmt.Sprint("value", i), v)
		}
	}

	kept := 0
	for i := range values {
		e, err := s.Get(ctx, fmt.Sprint("value", i))
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind == store.CachedRow {
			kept++
		}
	}
	// otherwise the test exercised no eviction at all
	if kept > values/2 {
		t.Fatalf("%d of %d values kept: no eviction pressure", kept, values)
	}
	for i := range locks {
		if e, err := s.Get(ctx, fmt.Sprint("lock", i)); err != nil || e.Kind != store.Locked || e.Locks != 1 {
			t.Fatalf("lock%d holds %v (%d locks), err %v", i, e.Kind, e.Locks, err)
		}
	}
	for i := range leases {
		if e, err := s.Get(ctx, fmt.Sprint("lease", i)); err != nil || e.Kind != store.Leased || e.Token != "t" {
			t.Fatalf("lease%d holds %v, err %v", i, e.Kind, err)
		}
	}
	t.Logf("%d of %d values kept under a %d byte bound", kept, values, maxBytes)
}

func TestBadArguments(t *testing.T) {
	s := newStore(t, memory.Options{})
	ctx := t.Context()
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, _, err := s.Lease(ctx, "k", "t", ttl); err == nil {
			t.Errorf("Lease with ttl %v: no error", ttl)
		}
		if err := s.Lock(ctx, "k", ttl); err == nil {
			t.Errorf("Lock with ttl %v: no error", ttl)
		}
	}
	if e, _ := s.Get(ctx, "k"); e.Kind != store.Absent {
		t.Fatalf("a failed call stored %v", e.Kind)
	}

	if ok, _, err := s.Lease(ctx, "k", "t", time.Hour); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, err := s.Fill(ctx, "k", "t", store.Entry{Kind: store.CachedRow}, 0); ok || err == nil {
		t.Errorf("Fill with ttl 0: %v, %v", ok, err)
	}
	for _, k := range []store.Kind{store.Absent, store.Leased, store.Locked, 99} {
		if ok, err := s.Fill(ctx, "k", "t", store.Entry{Kind: k}, time.Hour); ok || err == nil {
			t.Errorf("Fill of kind %v: %v, %v", k, ok, err)
		}
	}
	if e, _ := s.Get(ctx, "k"); e.Kind != store.Leased || e.Token != "t" {
		t.Errorf("failed Fills changed the lease to %v", e.Kind)
	}
}

func TestHugeTTL(t *testing.T) {
	s := newStore(t, memory.Options{})
	ctx := t.Context()
	if err := s.Lock(ctx, "k", math.MaxInt64); err != nil {
		t.Fatal(err)
	}
	if err := s.Lock(ctx, "k", math.MaxInt64); err != nil {
		t.Fatal(err)
	}
	if e, err := s.Get(ctx, "k"); err != nil || e.Kind != store.Locked || e.Locks != 2 {
		t.Errorf("got %v (%d locks), err %v", e.Kind, e.Locks, err)
	}
}

func TestCanceledContext(t *testing.T) {
	s := newStore(t, memory.Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Lock(t.Context(), "locked", time.Hour); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "k"); !errors.Is(err, context.Canceled) {
		t.Errorf("Get: %v", err)
	}
	if _, _, err := s.Lease(ctx, "k", "t", time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Lease: %v", err)
	}
	if _, err := s.Fill(ctx, "k", "t", store.Entry{Kind: store.CachedNotFound}, time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Fill: %v", err)
	}
	if err := s.Lock(ctx, "k", time.Hour); !errors.Is(err, context.Canceled) {
		t.Errorf("Lock: %v", err)
	}
	if err := s.Unlock(ctx, "locked"); !errors.Is(err, context.Canceled) {
		t.Errorf("Unlock: %v", err)
	}
	if err := s.Delete(ctx, "locked"); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete: %v", err)
	}
	// nothing was done
	if e, _ := s.Get(t.Context(), "k"); e.Kind != store.Absent {
		t.Errorf("k holds %v", e.Kind)
	}
	if e, _ := s.Get(t.Context(), "locked"); e.Kind != store.Locked || e.Locks != 1 {
		t.Errorf("locked holds %v (%d locks)", e.Kind, e.Locks)
	}
}

func TestCloseTwice(t *testing.T) {
	s, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close()
	// still usable, as documented
	if err := s.Lock(t.Context(), "k", time.Hour); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Get(t.Context(), "k"); e.Kind != store.Locked {
		t.Errorf("k holds %v", e.Kind)
	}
}
