package redis_test

import (
	"context"
	"testing"
	"time"

	cachestore "github.com/cachegen/cachegen/runtime/store"
)

// TestGetAllocs holds Store.Get, the store call of every cache hit, to at
// least two allocations fewer than the client.Get(…).Bytes() it replaces:
// the GET is built in one allocation instead of three (see Store.get). The
// two are measured side by side on the same server, so the connection
// pool's own allocations (its health check on every checkout, the reply
// string) cancel out whatever go-redis version is in use.
func TestGetAllocs(t *testing.T) {
	c := realClient(t)
	s := newStore(t, c)
	key := prefix(t) + "allocs"
	t.Cleanup(func() { c.Del(context.Background(), key) })
	ctx := t.Context()
	if ok, _, err := s.Lease(ctx, key, "t", time.Hour); !ok || err != nil {
		t.Fatalf("Lease: %v %v", ok, err)
	}
	if ok, err := s.Fill(ctx, key, "t", cachestore.Entry{Kind: cachestore.CachedRow, Value: []byte("row")}, time.Hour); !ok || err != nil {
		t.Fatalf("Fill: %v %v", ok, err)
	}
	store := testing.AllocsPerRun(200, func() {
		if e, err := s.Get(ctx, key); err != nil || string(e.Value) != "row" {
			t.Fatalf("Get: %v %q", err, e.Value)
		}
	})
	raw := testing.AllocsPerRun(200, func() {
		if _, err := c.Get(ctx, key).Bytes(); err != nil {
			t.Fatalf("GET: %v", err)
		}
	})
	t.Logf("allocs per Get: Store.Get %.1f, client.Get(…).Bytes() %.1f", store, raw)
	if store > raw-2 {
		t.Errorf("Store.Get makes %.1f allocations, client.Get(…).Bytes() %.1f: want at least 2 fewer", store, raw)
	}
}

// TestPhaseAllocs holds a write's two phases of four keys (LockMany, then
// UnlockMany) to half the allocations of two go-redis pipelines of four
// GETs: the scripts' commands, their arguments and the pipeline's list are
// three allocations whatever the count (see queueScripts), and pipelines
// are reused (before issue 15 the phases made about as many as the GETs).
// Measured side by side on the same server, like TestGetAllocs.
func TestPhaseAllocs(t *testing.T) {
	c := realClient(t)
	s := newStore(t, c)
	p := prefix(t)
	keys := []string{p + "a", p + "b", p + "c", p + "d"}
	t.Cleanup(func() { c.Del(context.Background(), keys...) })
	ctx := t.Context()
	locks := make([]cachestore.LockOp, len(keys))
	unlocks := make([]cachestore.UnlockOp, len(keys))
	phases := testing.AllocsPerRun(200, func() {
		for i, k := range keys {
			locks[i] = cachestore.LockOp{Key: k, TTL: time.Minute}
			unlocks[i] = cachestore.UnlockOp{Key: k}
		}
		s.LockMany(ctx, locks)
		s.UnlockMany(ctx, unlocks)
		for i := range keys {
			if locks[i].Err != nil || unlocks[i].Err != nil {
				t.Fatalf("phase: %v %v", locks[i].Err, unlocks[i].Err)
			}
		}
	})
	raw := testing.AllocsPerRun(200, func() {
		for range 2 {
			pipe := c.Pipeline()
			for _, k := range keys {
				pipe.Get(ctx, k)
			}
			_, _ = pipe.Exec(ctx)
		}
	})
	t.Logf("allocs per lock and unlock phase of 4 keys: Store %.1f, two go-redis pipelines of 4 GETs %.1f", phases, raw)
	if phases > raw/2 {
		t.Errorf("a lock and an unlock phase of 4 keys make %.1f allocations, two pipelines of 4 GETs %.1f: want at most half", phases, raw)
	}
}
