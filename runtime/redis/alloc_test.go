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
