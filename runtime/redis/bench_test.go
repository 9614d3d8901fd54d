package redis_test

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachegen/cachegen/internal/consistency"
	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/runtime/redis"
	"github.com/cachegen/cachegen/runtime/store"
)

// benchClient connects to the single Redis node, or skips.
func benchClient(b *testing.B) goredis.UniversalClient {
	addr := testenv.RedisAddr(b)
	c := goredis.NewUniversalClient(&goredis.UniversalOptions{Addrs: []string{addr}})
	b.Cleanup(func() { c.Close() })
	if err := c.Ping(b.Context()).Err(); err != nil {
		b.Fatalf("Redis at %s: %v", addr, err)
	}
	return c
}

// benchValue is a 200-byte row, stored by a lease and a fill under a fresh
// key that the benchmark deletes when it ends.
func benchValue(b *testing.B, c goredis.UniversalClient) (*redis.Store, string, []byte) {
	s, err := redis.New(c, redis.Options{})
	if err != nil {
		b.Fatal(err)
	}
	key := prefix(b) + "row"
	b.Cleanup(func() { c.Del(context.Background(), key) })
	v := bytes.Repeat([]byte("0123456789"), 20)
	ctx := b.Context()
	if ok, _, err := s.Lease(ctx, key, "t", time.Hour); !ok || err != nil {
		b.Fatalf("Lease: %v %v", ok, err)
	}
	if ok, err := s.Fill(ctx, key, "t", store.Entry{Kind: store.CachedRow, Value: v}, time.Hour); !ok || err != nil {
		b.Fatalf("Fill: %v %v", ok, err)
	}
	return s, key, v
}

// BenchmarkGetHit is Store.Get of a 200-byte value: to compare with
// BenchmarkRawGet, the plain GET it is built on.
func BenchmarkGetHit(b *testing.B) {
	c := benchClient(b)
	s, key, v := benchValue(b, c)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		e, err := s.Get(ctx, key)
		if err != nil || len(e.Value) != len(v) {
			b.Fatalf("Get: %v, %d bytes", err, len(e.Value))
		}
	}
}

// BenchmarkRawGet is client.Get(…).Bytes() of the same stored bytes.
func BenchmarkRawGet(b *testing.B) {
	c := benchClient(b)
	_, key, v := benchValue(b, c)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		raw, err := c.Get(ctx, key).Bytes()
		if err != nil || len(raw) != len(v)+1 {
			b.Fatalf("GET: %v, %d bytes", err, len(raw))
		}
	}
}

// BenchmarkLeaseHeld is a Lease that finds a 200-byte value (the script
// runs GET and returns it), to compare with BenchmarkRawSetNXGet, the
// single command Redis 7 could do it with.
func BenchmarkLeaseHeld(b *testing.B) {
	c := benchClient(b)
	s, key, _ := benchValue(b, c)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		ok, cur, err := s.Lease(ctx, key, "token-0123456789", time.Second)
		if ok || err != nil || cur.Kind != store.CachedRow {
			b.Fatalf("Lease: %v %v %v", ok, cur.Kind, err)
		}
	}
}

// BenchmarkRawSetNXGet is SET key l<token> NX PX ttl GET on the same key.
func BenchmarkRawSetNXGet(b *testing.B) {
	c := benchClient(b)
	_, key, _ := benchValue(b, c)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		_, err := c.SetArgs(ctx, key, "ltoken-0123456789", goredis.SetArgs{Mode: "NX", TTL: time.Second, Get: true}).Bytes()
		if err != nil {
			b.Fatalf("SET NX GET: %v", err)
		}
	}
}

// BenchmarkWaitPhases is a write's two store phases (LockMany, then
// UnlockMany, of four keys) against a primary with one replica, both
// started by the benchmark: without wait mode and with WaitReplicas 1,
// call by call in alternation, so that both see the same machine. It
// reports each side's ns per write (off-ns/op, on-ns/op) and their ratio.
func BenchmarkWaitPhases(b *testing.B) {
	primary, err := consistency.StartRedis("", "--repl-diskless-sync-delay", "0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(primary.Stop)
	host, port, _ := net.SplitHostPort(primary.Addr())
	replica, err := consistency.StartRedis("", "--replicaof", host, port)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(replica.Stop)
	c := goredis.NewClient(&goredis.Options{Addr: primary.Addr()})
	b.Cleanup(func() { c.Close() })
	ctx := b.Context()
	if n, err := c.Wait(ctx, 1, 30*time.Second).Result(); err != nil || n != 1 {
		b.Fatalf("WAIT for the replica to link: %d, %v", n, err)
	}
	stores := [2]*redis.Store{newStore(b, c), waitStore(b, c, 1, time.Second)}
	locks := make([]store.LockOp, 4)
	unlocks := make([]store.UnlockOp, 4)
	write := func(s *redis.Store) time.Duration {
		for i := range locks {
			locks[i] = store.LockOp{Key: "k" + strconv.Itoa(i), TTL: time.Minute}
			unlocks[i] = store.UnlockOp{Key: locks[i].Key}
		}
		start := time.Now()
		s.LockMany(ctx, locks)
		s.UnlockMany(ctx, unlocks)
		d := time.Since(start)
		for i := range locks {
			if locks[i].Err != nil || unlocks[i].Err != nil {
				b.Fatalf("phases: %v, %v", locks[i].Err, unlocks[i].Err)
			}
		}
		return d
	}
	write(stores[1]) // the scripts loaded
	var spent [2]time.Duration
	n := 0
	for b.Loop() {
		spent[n%2] += write(stores[n%2])
		n++
	}
	off := float64(spent[0]) / float64((n+1)/2)
	on := float64(spent[1]) / float64(max(n/2, 1))
	b.ReportMetric(off, "off-ns/op")
	b.ReportMetric(on, "on-ns/op")
	b.ReportMetric(on/off, "on/off")
}
