package redis_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	goredis "github.com/redis/go-redis/v9"

	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/redis"
	"github.com/cachegen/cachegen/runtime/store"
	"github.com/cachegen/cachegen/runtime/storetest"
)

// A target is a Redis deployment the tests run on.
type target struct {
	name    string
	connect func(t *testing.T) goredis.UniversalClient
}

var targets = []target{
	{"miniredis", miniClient},
	{"redis", realClient},
	{"cluster", clusterClient},
}

// miniClient starts a miniredis whose TTLs run down with the wall clock.
// By default miniredis only expires keys on FastForward; ClockTTL(true)
// makes every command first advance the TTLs by the real time elapsed since
// the previous one, so the suite's real sleeps expire keys as on a server.
func miniClient(t *testing.T) goredis.UniversalClient {
	mr := miniredis.RunT(t)
	mr.ClockTTL(true)
	return closeLater(t, goredis.NewClient(&goredis.Options{Addr: mr.Addr()}))
}

// realClient connects to the single Redis node, or skips.
func realClient(t *testing.T) goredis.UniversalClient {
	addr := testenv.RedisAddr(t)
	c := closeLater(t, goredis.NewUniversalClient(&goredis.UniversalOptions{Addrs: []string{addr}}))
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("Redis at %s (%s): %v", addr, testenv.RedisVar, err)
	}
	return c
}

// clusterClient connects to the Redis Cluster, or skips.
func clusterClient(t *testing.T) goredis.UniversalClient {
	addrs := testenv.RedisCluster(t)
	c := closeLater(t, goredis.NewUniversalClient(&goredis.UniversalOptions{Addrs: addrs}))
	if _, ok := c.(*goredis.ClusterClient); !ok {
		t.Fatalf("%s=%s did not give a ClusterClient but a %T: name at least two seed nodes", testenv.RedisClusterVar, strings.Join(addrs, ","), c)
	}
	if err := c.Ping(t.Context()).Err(); err != nil {
		t.Fatalf("Redis Cluster at %v (%s): %v", addrs, testenv.RedisClusterVar, err)
	}
	return c
}

func closeLater(t *testing.T, c goredis.UniversalClient) goredis.UniversalClient {
	t.Cleanup(func() { c.Close() })
	return c
}

func newStore(t testing.TB, c goredis.UniversalClient) *redis.Store {
	s, err := redis.New(c, redis.Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// prefix returns a key prefix unique to this test run, so that tests on a
// shared server never meet another run's keys.
func prefix(t testing.TB) string {
	var b [6]byte
	rand.Read(b[:])
	return "cachegen-redis-test:" + hex.EncodeToString(b[:]) + ":"
}

// runSuite runs the conformance suite on one store shared by every subtest.
func runSuite(t *testing.T, c goredis.UniversalClient) {
	s := newStore(t, c)
	storetest.Run(t, func(*testing.T) runtime.Store { return s })
}

func TestStoreMiniredis(t *testing.T) { runSuite(t, miniClient(t)) }
func TestStoreRedis(t *testing.T)     { runSuite(t, realClient(t)) }
func TestStoreCluster(t *testing.T)   { runSuite(t, clusterClient(t)) }

func TestNew(t *testing.T) {
	if _, err := redis.New(nil, redis.Options{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	var typedNil *goredis.Client
	if _, err := redis.New(typedNil, redis.Options{}); err == nil {
		t.Error("New((*Client)(nil)) succeeded")
	}
	for _, o := range []goredis.ClusterOptions{{ReadOnly: true}, {RouteByLatency: true}, {RouteRandomly: true}} {
		cc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{"127.0.0.1:1"},
			ReadOnly: o.ReadOnly, RouteByLatency: o.RouteByLatency, RouteRandomly: o.RouteRandomly})
		if _, err := redis.New(cc, redis.Options{}); err == nil {
			t.Errorf("New accepted a ClusterClient that reads from replicas: %+v", o)
		}
		cc.Close()
	}
	cc := goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	defer cc.Close()
	if _, err := redis.New(cc, redis.Options{}); err != nil {
		t.Errorf("New(ClusterClient): %v", err)
	}
}

// TestArguments checks what every method refuses before touching the server.
func TestArguments(t *testing.T) {
	c := miniClient(t)
	s := newStore(t, c)
	ctx := t.Context()
	k := prefix(t) + "k"
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, _, err := s.Lease(ctx, k, "t", ttl); err == nil {
			t.Errorf("Lease with ttl %v succeeded", ttl)
		}
		if _, err := s.Fill(ctx, k, "t", store.Entry{Kind: store.CachedNotFound}, ttl); err == nil {
			t.Errorf("Fill with ttl %v succeeded", ttl)
		}
		if err := s.Lock(ctx, k, ttl); err == nil {
			t.Errorf("Lock with ttl %v succeeded", ttl)
		}
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Get(done, k); err != context.Canceled {
		t.Errorf("Get on a done ctx: %v", err)
	}
	if _, _, err := s.Lease(done, k, "t", time.Minute); err != context.Canceled {
		t.Errorf("Lease on a done ctx: %v", err)
	}
	if _, err := s.Fill(done, k, "t", store.Entry{Kind: store.CachedNotFound}, time.Minute); err != context.Canceled {
		t.Errorf("Fill on a done ctx: %v", err)
	}
	if err := s.Lock(done, k, time.Minute); err != context.Canceled {
		t.Errorf("Lock on a done ctx: %v", err)
	}
	if err := s.Unlock(done, k); err != context.Canceled {
		t.Errorf("Unlock on a done ctx: %v", err)
	}
	if err := s.Delete(done, k); err != context.Canceled {
		t.Errorf("Delete on a done ctx: %v", err)
	}
	if n := c.Exists(ctx, k).Val(); n != 0 {
		t.Error("a call on a done ctx wrote the key")
	}
	// a sub-millisecond TTL is rounded up, not sent as PX 0
	if err := s.Lock(ctx, k, time.Microsecond); err != nil {
		t.Errorf("Lock with a 1µs TTL: %v", err)
	}
}

// TestEncoding checks the bytes each state is stored as, the contract with
// other readers of the keys (and with earlier versions of this package).
func TestEncoding(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			c := tg.connect(t)
			s := newStore(t, c)
			ctx := t.Context()
			p := prefix(t)
			t.Cleanup(func() { deleteAll(c, p, "v", "n", "l", "w") })
			raw := func(k string) string {
				t.Helper()
				v, err := c.Get(ctx, k).Result()
				if err != nil {
					t.Fatalf("GET %q: %v", k, err)
				}
				return v
			}
			if ok, _, err := s.Lease(ctx, p+"l", "tok\x00en", time.Minute); !ok || err != nil {
				t.Fatalf("Lease: %v %v", ok, err)
			}
			if got := raw(p + "l"); got != "ltok\x00en" {
				t.Errorf("a lease is stored as %q", got)
			}
			for _, k := range []string{"v", "n"} {
				if ok, _, err := s.Lease(ctx, p+k, "t", time.Minute); !ok || err != nil {
					t.Fatalf("Lease: %v %v", ok, err)
				}
			}
			if ok, err := s.Fill(ctx, p+"v", "t", store.Entry{Kind: store.CachedRow, Value: []byte("\x00row\xff")}, time.Minute); !ok || err != nil {
				t.Fatalf("Fill: %v %v", ok, err)
			}
			// "v", the server's tag (8 bytes, see fence.go), the bytes
			if got := raw(p + "v"); len(got) != 1+8+5 || got[0] != 'v' || got[9:] != "\x00row\xff" {
				t.Errorf("a value is stored as %q", got)
			}
			if ok, err := s.Fill(ctx, p+"n", "t", store.Entry{Kind: store.CachedNotFound}, time.Minute); !ok || err != nil {
				t.Fatalf("Fill: %v %v", ok, err)
			}
			// "n" and the server's tag
			if got := raw(p + "n"); len(got) != 1+8 || got[0] != 'n' || tg.name != "cluster" && got[1:] != raw(p + "v")[1:9] {
				t.Errorf("a not-found is stored as %q", got)
			}
			for range 12 {
				if err := s.Lock(ctx, p+"w", time.Minute); err != nil {
					t.Fatal(err)
				}
			}
			if got := raw(p + "w"); got != "w12" {
				t.Errorf("a lock of count 12 is stored as %q", got)
			}
			if ttl := c.PTTL(ctx, p+"w").Val(); ttl <= 50*time.Second || ttl > time.Minute {
				t.Errorf("a lock with TTL 1m has PTTL %v", ttl)
			}
		})
	}
}

// TestForeignValues checks how what this package did not write is read,
// and that Lock and Unlock, which the runtime discards such values with,
// clear it.
func TestForeignValues(t *testing.T) {
	val := func(s string) store.Entry { return store.Entry{Kind: store.CachedRow, Value: []byte(s)} }
	lock := func(n int) store.Entry { return store.Entry{Kind: store.Locked, Locks: n} }
	absent := store.Entry{}
	cases := []struct {
		raw        string
		read       store.Entry // what Get and a failed Lease report
		afterLock  store.Entry
		afterUnlck store.Entry
	}{
		{"hello", val("hello"), lock(1), absent},
		{"", val(""), lock(1), absent},
		{"nope", val("nope"), lock(1), absent},
		{"n", val("n"), lock(1), absent}, // an untagged not-found, as earlier versions wrote it
		{"n\x00\x00\x00\x00\x00\x00\x00\x01", val("n\x00\x00\x00\x00\x00\x00\x00\x01"), lock(1), absent}, // a tag no server has
		{"\xff\x00", val("\xff\x00"), lock(1), absent},
		{"w", lock(1), lock(2), absent},
		{"wabc", lock(1), lock(2), absent},
		{"w-3", lock(1), lock(2), absent},
		{"w+3", lock(1), lock(2), absent},
		{"w 3", lock(1), lock(2), absent},
		{"w3 ", lock(1), lock(2), absent},
		{"w0x10", lock(1), lock(2), absent},
		{"w1e3", lock(1), lock(2), absent},
		{"w0", lock(1), lock(2), absent},
		{"w000", lock(1), lock(2), absent},
		{"w1234567890123456", lock(1), lock(2), absent}, // 16 digits
		{"w007", lock(7), lock(8), lock(6)},
		{"w999999999999999", lock(999999999999999), lock(999999999999999), lock(999999999999998)},
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			c := tg.connect(t)
			s := newStore(t, c)
			ctx := t.Context()
			p := prefix(t)
			var keys []string
			t.Cleanup(func() { deleteAll(c, "", keys...) })
			put := func(k, raw string) {
				t.Helper()
				keys = append(keys, k)
				if err := c.Set(ctx, k, raw, time.Minute).Err(); err != nil {
					t.Fatal(err)
				}
			}
			get := func(k string) store.Entry {
				t.Helper()
				e, err := s.Get(ctx, k)
				if err != nil {
					t.Fatalf("Get(%q): %v", k, err)
				}
				return e
			}
			for i, tc := range cases {
				k := fmt.Sprintf("%s%d", p, i)
				put(k, tc.raw)
				if got := get(k); !storetest.Same(got, tc.read) {
					t.Errorf("%q: Get reports %s, want %s", tc.raw, storetest.Show(got), storetest.Show(tc.read))
				}
				ok, cur, err := s.Lease(ctx, k, "t", time.Minute)
				if err != nil || ok || !storetest.Same(cur, tc.read) {
					t.Errorf("%q: Lease = %v, %s, %v; want false, %s", tc.raw, ok, storetest.Show(cur), err, storetest.Show(tc.read))
				}
				if ok, err := s.Fill(ctx, k, "t", val("x"), time.Minute); ok || err != nil {
					t.Errorf("%q: Fill = %v, %v", tc.raw, ok, err)
				}
				if got, err := c.Get(ctx, k).Result(); got != tc.raw || err != nil {
					t.Errorf("%q: after a failed Lease and Fill the key holds %q (%v)", tc.raw, got, err)
				}
				if err := s.Lock(ctx, k, time.Minute); err != nil {
					t.Fatal(err)
				}
				if got := get(k); !storetest.Same(got, tc.afterLock) {
					t.Errorf("%q: after Lock the key holds %s, want %s", tc.raw, storetest.Show(got), storetest.Show(tc.afterLock))
				}
				// Unlock from the raw value, not from what Lock made of it
				put(k, tc.raw)
				if err := s.Unlock(ctx, k); err != nil {
					t.Fatal(err)
				}
				if got := get(k); !storetest.Same(got, tc.afterUnlck) {
					t.Errorf("%q: after Unlock the key holds %s, want %s", tc.raw, storetest.Show(got), storetest.Show(tc.afterUnlck))
				}
			}

			// a key of another Redis type reads as a value without bytes,
			// and Lock and Unlock clear it
			for i, mk := range []func(k string) error{
				func(k string) error { return c.HSet(ctx, k, "f", "v").Err() },
				func(k string) error { return c.RPush(ctx, k, "a").Err() },
			} {
				k := fmt.Sprintf("%stype%d", p, i)
				keys = append(keys, k)
				if err := mk(k); err != nil {
					t.Fatal(err)
				}
				if got := get(k); !storetest.Same(got, val("")) {
					t.Errorf("a %s key: Get reports %s", c.Type(ctx, k).Val(), storetest.Show(got))
				}
				ok, cur, err := s.Lease(ctx, k, "t", time.Minute)
				if err != nil || ok || !storetest.Same(cur, val("")) {
					t.Errorf("a %s key: Lease = %v, %s, %v", c.Type(ctx, k).Val(), ok, storetest.Show(cur), err)
				}
				if ok, err := s.Fill(ctx, k, "t", val("x"), time.Minute); ok || err != nil {
					t.Errorf("a %s key: Fill = %v, %v", c.Type(ctx, k).Val(), ok, err)
				}
				if err := s.Unlock(ctx, k); err != nil {
					t.Fatalf("Unlock of a %s key: %v", c.Type(ctx, k).Val(), err)
				}
				if got := get(k); !storetest.Same(got, absent) {
					t.Errorf("after Unlock the key holds %s", storetest.Show(got))
				}
				if err := mk(k); err != nil {
					t.Fatal(err)
				}
				if err := s.Lock(ctx, k, time.Minute); err != nil {
					t.Fatalf("Lock of a %s key: %v", c.Type(ctx, k).Val(), err)
				}
				if got := get(k); !storetest.Same(got, lock(1)) {
					t.Errorf("after Lock the key holds %s", storetest.Show(got))
				}
			}
		})
	}
}

// TestScriptFlush checks that a script the server forgot mid-run is sent
// again: go-redis falls back from EVALSHA to EVAL on NOSCRIPT.
func TestScriptFlush(t *testing.T) {
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			c := tg.connect(t)
			s := newStore(t, c)
			ctx := t.Context()
			p := prefix(t)
			t.Cleanup(func() { deleteAll(c, p, "a", "b") })
			flush := func() { flushScripts(t, c) }
			// a lock's script in the cache, then flushed
			if err := s.Lock(ctx, p+"a", time.Minute); err != nil {
				t.Fatal(err)
			}
			flush()
			if err := s.Lock(ctx, p+"a", time.Minute); err != nil {
				t.Fatalf("Lock after SCRIPT FLUSH: %v", err)
			}
			if e, _ := s.Get(ctx, p+"a"); !storetest.Same(e, store.Entry{Kind: store.Locked, Locks: 2}) {
				t.Fatalf("after two Locks the key holds %s", storetest.Show(e))
			}
			flush()
			if err := s.Unlock(ctx, p+"a"); err != nil {
				t.Fatalf("Unlock after SCRIPT FLUSH: %v", err)
			}
			flush()
			if ok, _, err := s.Lease(ctx, p+"b", "t", time.Minute); !ok || err != nil {
				t.Fatalf("Lease after SCRIPT FLUSH: %v, %v", ok, err)
			}
			flush()
			if ok, err := s.Fill(ctx, p+"b", "t", store.Entry{Kind: store.CachedNotFound}, time.Minute); !ok || err != nil {
				t.Fatalf("Fill after SCRIPT FLUSH: %v, %v", ok, err)
			}
			if e, _ := s.Get(ctx, p+"b"); e.Kind != store.CachedNotFound {
				t.Fatalf("after Fill the key holds %s", storetest.Show(e))
			}
			// and concurrently, as when a failover brings up a node that
			// never saw the scripts
			flush()
			var wg sync.WaitGroup
			for i := range 20 {
				wg.Go(func() {
					if err := s.Lock(ctx, p+"a", time.Minute); err != nil {
						t.Errorf("Lock %d after SCRIPT FLUSH: %v", i, err)
					}
				})
			}
			wg.Wait()
			if e, _ := s.Get(ctx, p+"a"); !storetest.Same(e, store.Entry{Kind: store.Locked, Locks: 21}) {
				t.Fatalf("after 21 Locks the key holds %s", storetest.Show(e))
			}
		})
	}
}

// TestClusterSpread writes through every method on keys shaped like the
// runtime's, which hash to slots on every master: no method may meet
// CROSSSLOT or a MOVED it cannot follow.
func TestClusterSpread(t *testing.T) {
	c := clusterClient(t)
	cc := c.(*goredis.ClusterClient)
	s := newStore(t, c)
	ctx := t.Context()
	var b [4]byte
	rand.Read(b[:])
	p := "cg:users:" + hex.EncodeToString(b[:]) + ":id="
	const n = 200
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprint(p, i+1)
	}
	t.Cleanup(func() { deleteAll(c, "", keys...) })

	value := []byte("row bytes \x00\xff")
	for _, k := range keys {
		if err := s.Lock(ctx, k, time.Minute); err != nil {
			t.Fatalf("Lock(%q): %v", k, err)
		}
		if err := s.Unlock(ctx, k); err != nil {
			t.Fatalf("Unlock(%q): %v", k, err)
		}
		ok, cur, err := s.Lease(ctx, k, "tok", time.Minute)
		if err != nil || !ok {
			t.Fatalf("Lease(%q) = %v, %s, %v", k, ok, storetest.Show(cur), err)
		}
		if ok, err := s.Fill(ctx, k, "tok", store.Entry{Kind: store.CachedRow, Value: value}, time.Minute); err != nil || !ok {
			t.Fatalf("Fill(%q) = %v, %v", k, ok, err)
		}
		if e, err := s.Get(ctx, k); err != nil || !bytes.Equal(e.Value, value) {
			t.Fatalf("Get(%q) = %s, %v", k, storetest.Show(e), err)
		}
		if err := s.Lock(ctx, k, time.Minute); err != nil {
			t.Fatalf("Lock(%q): %v", k, err)
		}
	}

	slots := map[int64]bool{}
	owners := map[string]int{} // master address: keys it answers for
	for _, k := range keys {
		slot, err := cc.ClusterKeySlot(ctx, k).Result()
		if err != nil {
			t.Fatalf("CLUSTER KEYSLOT %q: %v", k, err)
		}
		slots[slot] = true
		m, err := cc.MasterForKey(ctx, k)
		if err != nil {
			t.Fatalf("MasterForKey(%q): %v", k, err)
		}
		owners[m.Options().Addr]++
	}
	// and where the keys really are: each master's own count of them
	var mu sync.Mutex
	held := map[string]int{}
	err := cc.ForEachMaster(ctx, func(ctx context.Context, m *goredis.Client) error {
		var found int
		iter := m.Scan(ctx, 0, p+"*", 1000).Iterator()
		for iter.Next(ctx) {
			found++
		}
		mu.Lock()
		held[m.Options().Addr] = found
		mu.Unlock()
		return iter.Err()
	})
	if err != nil {
		t.Fatalf("counting keys on the masters: %v", err)
	}
	total, masters := 0, 0
	for addr, found := range held {
		total += found
		if found > 0 {
			masters++
		}
		if found != owners[addr] {
			t.Errorf("master %s holds %d keys, MasterForKey assigned it %d", addr, found, owners[addr])
		}
	}
	t.Logf("%d keys in %d slots; keys per master: %v", n, len(slots), held)
	if total != n {
		t.Errorf("the masters hold %d keys, want %d", total, n)
	}
	if len(slots) < 3 {
		t.Errorf("the keys fell in %d hash slots, want at least 3", len(slots))
	}
	if masters < 2 {
		t.Errorf("the keys fell on %d masters, want at least 2", masters)
	}
	// every key still holds the last lock
	for _, k := range keys {
		if e, err := s.Get(ctx, k); err != nil || !storetest.Same(e, store.Entry{Kind: store.Locked, Locks: 1}) {
			t.Fatalf("Get(%q) = %s, %v", k, storetest.Show(e), err)
		}
		if err := s.Unlock(ctx, k); err != nil {
			t.Fatalf("Unlock(%q): %v", k, err)
		}
	}
}

// deleteAll deletes prefix+name for each name, one key at a time (a Cluster
// refuses a multi-key DEL across slots). It runs in cleanups, after the
// test's context is done.
func deleteAll(c goredis.UniversalClient, prefix string, names ...string) {
	for _, n := range names {
		c.Del(context.Background(), prefix+n)
	}
}

// flushScripts empties the script cache of every master c talks to, as a
// server restart or a failover to a fresh node would.
func flushScripts(t *testing.T, c goredis.UniversalClient) {
	t.Helper()
	ctx := t.Context()
	var err error
	if cc, ok := c.(*goredis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, n *goredis.Client) error {
			return n.ScriptFlush(ctx).Err()
		})
	} else {
		err = c.ScriptFlush(ctx).Err()
	}
	if err != nil {
		t.Fatalf("SCRIPT FLUSH: %v", err)
	}
}
