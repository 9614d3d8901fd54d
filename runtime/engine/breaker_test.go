package engine

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cachegen/cachegen/runtime/store"
)

// flakyStore fails every call while down, counting the calls that reach it.
type flakyStore struct {
	store.Store
	down  atomic.Bool
	calls atomic.Int64
}

var errFlaky = errors.New("store down")

func (f *flakyStore) Get(ctx context.Context, key string) (store.Entry, error) {
	f.calls.Add(1)
	if f.down.Load() {
		return store.Entry{}, errFlaky
	}
	return store.Entry{Kind: store.CachedNotFound}, nil
}

// TestBreakerOpensSkipsAndCloses runs in a synctest bubble: time.Sleep
// moves the bubble's clock, which the breaker reads, so each pause is
// checked to the nanosecond and no step depends on the machine's speed.
func TestBreakerOpensSkipsAndCloses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		var stats counters
		f := &flakyStore{}
		b := &breaker{inner: f, stats: &stats}
		f.down.Store(true)
		for i := 0; i < breakerThreshold; i++ {
			if _, err := b.Get(ctx, "k"); !errors.Is(err, errFlaky) {
				t.Fatalf("call %d: %v", i, err)
			}
		}
		if !b.isOpen() || stats.breakerOpens.Load() != 1 {
			t.Fatalf("after %d errors: open=%v opens=%d", breakerThreshold, b.isOpen(), stats.breakerOpens.Load())
		}
		before := f.calls.Load()
		for i := 0; i < 100; i++ {
			if _, err := b.Get(ctx, "k"); !errors.Is(err, errBreakerOpen) {
				t.Fatalf("open breaker let a call through: %v", err)
			}
		}
		if f.calls.Load() != before {
			t.Fatalf("%d calls reached the store while the breaker was open", f.calls.Load()-before)
		}
		// It stays open for the whole cool-down, then one probe goes
		// through; it fails, so the breaker stays open for twice as long.
		time.Sleep(breakerFirstOpen - time.Nanosecond)
		if _, err := b.Get(ctx, "k"); !errors.Is(err, errBreakerOpen) {
			t.Fatalf("1ns before the cool-down ends: %v", err)
		}
		time.Sleep(time.Nanosecond)
		if _, err := b.Get(ctx, "k"); !errors.Is(err, errFlaky) {
			t.Fatalf("probe: %v", err)
		}
		if _, err := b.Get(ctx, "k"); !errors.Is(err, errBreakerOpen) {
			t.Fatalf("after a failed probe: %v", err)
		}
		f.down.Store(false)
		time.Sleep(2*breakerFirstOpen - time.Nanosecond)
		if _, err := b.Get(ctx, "k"); !errors.Is(err, errBreakerOpen) {
			t.Fatalf("1ns before the doubled pause ends: %v", err)
		}
		time.Sleep(time.Nanosecond)
		if _, err := b.Get(ctx, "k"); err != nil {
			t.Fatalf("probe after recovery: %v", err)
		}
		if b.isOpen() || stats.breakerCloses.Load() != 1 {
			t.Fatalf("a successful probe did not close the breaker: open=%v closes=%d", b.isOpen(), stats.breakerCloses.Load())
		}
		// Context errors are the caller's, not the store's.
		b2 := &breaker{inner: &ctxStore{}, stats: &stats}
		for i := 0; i < 2*breakerThreshold; i++ {
			b2.Get(ctx, "k")
		}
		if b2.isOpen() {
			t.Fatal("cancelled contexts opened the breaker")
		}
	})
}

// TestBreakerPauseDoublesToItsCap: each failed probe doubles the pause,
// up to breakerMaxOpen, and a success resets it to breakerFirstOpen.
func TestBreakerPauseDoublesToItsCap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		f := &flakyStore{}
		b := &breaker{inner: f, stats: &counters{}}
		f.down.Store(true)
		for range breakerThreshold {
			b.Get(ctx, "k")
		}
		// probeAfter checks that the breaker refuses calls until d has
		// passed, then lets one through: a probe.
		probeAfter := func(d time.Duration) {
			t.Helper()
			time.Sleep(d - time.Nanosecond)
			if _, err := b.Get(ctx, "k"); !errors.Is(err, errBreakerOpen) {
				t.Fatalf("a call got through 1ns before the pause of %v ended: %v", d, err)
			}
			time.Sleep(time.Nanosecond)
			if _, err := b.Get(ctx, "k"); errors.Is(err, errBreakerOpen) {
				t.Fatalf("no probe after a pause of %v", d)
			}
		}
		pause := breakerFirstOpen
		for pause < breakerMaxOpen {
			probeAfter(pause)
			pause *= 2
		}
		probeAfter(breakerMaxOpen)
		probeAfter(breakerMaxOpen)
		f.down.Store(false)
		probeAfter(breakerMaxOpen)
		if b.isOpen() {
			t.Fatal("a successful probe did not close the breaker")
		}
		f.down.Store(true)
		for range breakerThreshold {
			b.Get(ctx, "k")
		}
		probeAfter(breakerFirstOpen)
	})
}

type ctxStore struct{ store.Store }

func (ctxStore) Get(context.Context, string) (store.Entry, error) {
	return store.Entry{}, context.Canceled
}
