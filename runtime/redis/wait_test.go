package redis_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachegen/cachegen/internal/consistency"
	"github.com/cachegen/cachegen/runtime/redis"
	"github.com/cachegen/cachegen/runtime/store"
)

// replicated starts a primary and a replica that replicates through a
// proxy the test can freeze, and returns a client on the primary, one on
// the replica and the proxy, once the replica is linked.
func replicated(t testing.TB) (p, r *goredis.Client, link *consistency.Proxy) {
	primary, err := consistency.StartRedis("", "--repl-diskless-sync-delay", "0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(primary.Stop)
	link, err = consistency.NewProxy(primary.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(link.Close)
	host, port, _ := net.SplitHostPort(link.Addr())
	replica, err := consistency.StartRedis("", "--replicaof", host, port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(replica.Stop)
	p = goredis.NewClient(&goredis.Options{Addr: primary.Addr()})
	t.Cleanup(func() { p.Close() })
	r = goredis.NewClient(&goredis.Options{Addr: replica.Addr()})
	t.Cleanup(func() { r.Close() })
	if n, err := p.Wait(context.Background(), 1, 30*time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT for the replica to link: %d, %v", n, err)
	}
	return p, r, link
}

func waitStore(t testing.TB, c goredis.UniversalClient, n int, timeout time.Duration) *redis.Store {
	s, err := redis.New(c, redis.Options{WaitReplicas: n, WaitTimeout: timeout})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

// onReplica returns what key holds on the replica ("" when absent).
func onReplica(t *testing.T, r *goredis.Client, key string) string {
	v, err := r.Get(context.Background(), key).Result()
	if errors.Is(err, goredis.Nil) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func lockErrs(ops []store.LockOp) error {
	var errs []error
	for _, op := range ops {
		errs = append(errs, op.Err)
	}
	return errors.Join(errs...)
}

// TestWaitReplicas: in wait mode the locks and releases a phase reports
// done are on the replica when the call returns. With replication frozen,
// the same phase without the mode reports success for locks the replica
// does not have (the window a failover would lose them in), and with the
// mode it fails instead.
func TestWaitReplicas(t *testing.T) {
	ctx := context.Background()
	p, r, link := replicated(t)
	safe := waitStore(t, p, 1, time.Minute)
	pre := prefix(t)
	ops := []store.LockOp{{Key: pre + "a", TTL: time.Hour}, {Key: pre + "b", TTL: time.Hour}}
	safe.LockMany(ctx, ops)
	if err := lockErrs(ops); err != nil {
		t.Fatalf("LockMany in wait mode: %v", err)
	}
	for _, op := range ops {
		if got := onReplica(t, r, op.Key); got != "w1" {
			t.Errorf("after LockMany in wait mode returned, the replica holds %q under %s, want the lock w1", got, op.Key)
		}
	}
	un := []store.UnlockOp{{Key: pre + "a"}}
	safe.UnlockMany(ctx, un)
	if un[0].Err != nil {
		t.Fatalf("UnlockMany in wait mode: %v", un[0].Err)
	}
	if got := onReplica(t, r, pre+"a"); got != "" {
		t.Errorf("after UnlockMany in wait mode returned, the replica holds %q under %sa, want nothing", got, pre)
	}

	link.SetPartition(true)
	defer link.SetPartition(false)
	off := newStore(t, p)
	ops = []store.LockOp{{Key: pre + "c", TTL: time.Hour}}
	off.LockMany(ctx, ops)
	if err := lockErrs(ops); err != nil {
		t.Fatalf("LockMany without wait mode: %v", err)
	}
	if got := onReplica(t, r, pre+"c"); got != "" {
		t.Fatalf("the replica holds %q under %sc with replication frozen", got, pre)
	}
	// the race the mode closes: the lock was reported taken, and a
	// failover now would lose it

	short := waitStore(t, p, 1, 50*time.Millisecond)
	ops = []store.LockOp{{Key: pre + "d", TTL: time.Hour}, {Key: pre + "e", TTL: time.Hour}}
	short.LockMany(ctx, ops)
	for _, op := range ops {
		if op.Err == nil || !strings.Contains(op.Err.Error(), "0 of 1 replicas") {
			t.Errorf("LockMany in wait mode with replication frozen: %s: err = %v, want a failure naming 0 of 1 replicas", op.Key, op.Err)
		}
	}
	un = []store.UnlockOp{{Key: pre + "d"}}
	short.UnlockMany(ctx, un)
	if un[0].Err == nil || !strings.Contains(un[0].Err.Error(), "0 of 1 replicas") {
		t.Errorf("UnlockMany in wait mode with replication frozen: err = %v, want a failure naming 0 of 1 replicas", un[0].Err)
	}
}

// TestWaitNoReplica: with no replica connected, a phase in wait mode fails
// once its WAIT times out instead of reporting success.
func TestWaitNoReplica(t *testing.T) {
	srv := startRedis(t)
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { c.Close() })
	s := waitStore(t, c, 1, 20*time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ops := []store.LockOp{{Key: "k", TTL: time.Hour}}
	s.LockMany(ctx, ops)
	if err := ops[0].Err; err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("LockMany in wait mode with no replica: err = %v, want the WAIT's shortfall", err)
	}
	un := []store.UnlockOp{{Key: "k"}}
	s.UnlockMany(ctx, un)
	if err := un[0].Err; err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("UnlockMany in wait mode with no replica: err = %v, want the WAIT's shortfall", err)
	}
}

// TestWaitOptions: New rejects wait options out of range.
func TestWaitOptions(t *testing.T) {
	c := goredis.NewClient(&goredis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { c.Close() })
	for _, o := range []redis.Options{
		{WaitReplicas: -1, WaitTimeout: time.Second},
		{WaitReplicas: 1, WaitTimeout: -time.Second},
		{WaitReplicas: 1},
		{WaitTimeout: time.Second},
	} {
		if _, err := redis.New(c, o); err == nil {
			t.Errorf("New with WaitReplicas %d, WaitTimeout %v: no error", o.WaitReplicas, o.WaitTimeout)
		}
	}
	if _, err := redis.New(c, redis.Options{WaitReplicas: 2, WaitTimeout: time.Second}); err != nil {
		t.Errorf("New with WaitReplicas 2, WaitTimeout 1s: %v", err)
	}
}

// TestWaitCluster: on a Cluster whose masters have no replica, wait mode
// sends each key's script to its master (the locks are there) and fails
// every op with the shortfall of its master's WAIT. (It does not tell one
// WAIT per master from one on any master: that needs replicas on some
// masters only.)
func TestWaitCluster(t *testing.T) {
	c := clusterClient(t)
	cc := c.(*goredis.ClusterClient)
	ctx := context.Background()
	s := waitStore(t, c, 1, 20*time.Millisecond)
	pre := prefix(t)
	ops := make([]store.LockOp, 12)
	masters := map[string]bool{}
	for i := range ops {
		ops[i] = store.LockOp{Key: pre + string(rune('a'+i)), TTL: time.Minute}
		m, err := cc.MasterForKey(ctx, ops[i].Key)
		if err != nil {
			t.Fatal(err)
		}
		masters[m.Options().Addr] = true
		t.Cleanup(func() { c.Del(context.Background(), ops[i].Key) })
	}
	if len(masters) < 2 {
		t.Fatalf("the keys are on %d master(s), want them spread", len(masters))
	}
	s.LockMany(ctx, ops)
	for _, op := range ops {
		if op.Err == nil || !strings.Contains(op.Err.Error(), "0 of 1 replicas") {
			t.Errorf("%s: err = %v, want a failure naming 0 of 1 replicas", op.Key, op.Err)
		}
		if v, err := c.Get(ctx, op.Key).Result(); err != nil || v != "w1" {
			t.Errorf("%s holds %q, %v; want the lock w1", op.Key, v, err)
		}
	}
}
