package redis_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/cachegen/cachegen/internal/checkmodel"
	"github.com/cachegen/cachegen/internal/consistency"
	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/redis"
)

// A store that comes back with old data (a restart from a snapshot taken
// before a write, a failover to a replica that missed the write's release)
// must not serve it: each test below reads the database's answer after
// such an event, on servers of its own.

func startRedis(t *testing.T, args ...string) *consistency.RedisServer {
	srv, err := consistency.StartRedis("", args...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

// accounts opens the checker's model on SQLite with one row at version 1,
// on store.
func accounts(t *testing.T, store runtime.Store) *checkmodel.AccountRepo {
	db, _ := dbtest.OpenSQLite(t)
	db.MustExec(checkmodel.SQLiteSchema)
	db.MustExec(`INSERT INTO accounts (id, email, org, handle, version) VALUES (1, 'a@x', 1, 'a', 1)`)
	repo, err := checkmodel.NewAccountRepo(db, store, runtime.WithTTL(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

// cached reads row 1 twice, the second time from the store.
func cached(t *testing.T, repo *checkmodel.AccountRepo) {
	ctx := context.Background()
	for range 2 {
		if a, err := repo.GetByID(ctx, 1); err != nil || a.Version != 1 {
			t.Fatalf("GetByID: %+v, %v", a, err)
		}
	}
	if st := repo.Stats(); st.Hits != 1 {
		t.Fatalf("the second read was not a hit: %+v", st)
	}
}

// TestRestartFromSnapshot: the server saves a snapshot holding row 1 at
// version 1, a Save moves it to version 2, and the server restarts from the
// snapshot: the read that follows answers version 2.
func TestRestartFromSnapshot(t *testing.T) {
	ctx := context.Background()
	srv := startRedis(t)
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { c.Close() })
	repo := accounts(t, newStore(t, c))
	cached(t, repo)
	direct := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { direct.Close() })
	if err := direct.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := repo.Save(ctx, &checkmodel.Account{ID: 1, Email: "a@x", Org: 1, Handle: "a", Version: 2}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Restart(0); err != nil {
		t.Fatal(err)
	}
	if n, err := direct.DBSize(ctx).Result(); err != nil || n == 0 {
		t.Fatalf("the restarted server holds %d keys (%v): the snapshot was not loaded", n, err)
	}
	a, err := repo.GetByID(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if a.Version != 2 {
		t.Errorf("after a restart from a snapshot taken before the Save, GetByID returned version %d, the database holds 2", a.Version)
	}
}

// TestFailoverToStaleReplica: the replica has row 1 at version 1, then
// stops replicating (it is promoted early); a Save moves the row to version
// 2 on the old master, and the client fails over to the replica, which
// never got the release. The read that follows answers version 2.
func TestFailoverToStaleReplica(t *testing.T) {
	ctx := context.Background()
	primary := startRedis(t, "--repl-diskless-sync-delay", "0")
	host, port, _ := net.SplitHostPort(primary.Addr())
	replica := startRedis(t, "--replicaof", host, port)
	var master atomic.Value // where the client dials: the failover client's job
	master.Store(primary.Addr())
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, master.Load().(string))
	}
	c := goredis.NewClient(&goredis.Options{Addr: primary.Addr(), Dialer: dial})
	t.Cleanup(func() { c.Close() })
	repo := accounts(t, newStore(t, c))
	cached(t, repo)
	p := goredis.NewClient(&goredis.Options{Addr: primary.Addr()})
	t.Cleanup(func() { p.Close() })
	if n, err := p.Wait(ctx, 1, 10*time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT for the replica: %d, %v", n, err)
	}
	r := goredis.NewClient(&goredis.Options{Addr: replica.Addr()})
	t.Cleanup(func() { r.Close() })
	if err := r.ReplicaOf(ctx, "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	if err := repo.Save(ctx, &checkmodel.Account{ID: 1, Email: "a@x", Org: 1, Handle: "a", Version: 2}); err != nil {
		t.Fatal(err)
	}
	// The failover: the client's connections to the old master break, and
	// new ones reach the promoted replica.
	master.Store(replica.Addr())
	if err := p.ClientKillByFilter(ctx, "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := r.DBSize(ctx).Result(); err != nil || n == 0 {
		t.Fatalf("the promoted replica holds %d keys (%v)", n, err)
	}
	a, err := repo.GetByID(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if a.Version != 2 {
		t.Errorf("after a failover to a replica that missed the Save's release, GetByID returned version %d, the database holds 2", a.Version)
	}
}

// TestNotFoundFenced: as TestFailoverToStaleReplica for a cached
// not-found. The replica has "no row 2", the row is inserted on the old
// master only, and the client fails over to the replica: the read that
// follows finds the row.
func TestNotFoundFenced(t *testing.T) {
	ctx := context.Background()
	a := startRedis(t, "--repl-diskless-sync-delay", "0")
	b := startRedis(t, "--replicaof", host(a), port(a))
	var master atomic.Value
	master.Store(a.Addr())
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, master.Load().(string))
	}
	c := goredis.NewClient(&goredis.Options{Addr: a.Addr(), Dialer: dial, PoolSize: 1})
	t.Cleanup(func() { c.Close() })
	repo := accounts(t, newStore(t, c))
	for range 2 {
		if _, err := repo.GetByID(ctx, 2); !errors.Is(err, runtime.ErrNotFound) {
			t.Fatalf("GetByID(2) before the insert: %v, want not found", err)
		}
	}
	if st := repo.Stats(); st.Hits != 1 {
		t.Fatalf("the second read was not a hit on the cached not-found: %+v", st)
	}
	ca := goredis.NewClient(&goredis.Options{Addr: a.Addr()})
	cb := goredis.NewClient(&goredis.Options{Addr: b.Addr()})
	t.Cleanup(func() { ca.Close(); cb.Close() })
	synced(t, ca)
	if err := cb.ReplicaOf(ctx, "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	if err := repo.Save(ctx, &checkmodel.Account{ID: 2, Email: "b@x", Org: 1, Handle: "b", Version: 2}); err != nil {
		t.Fatal(err)
	}
	switchTo(t, &master, c, ca, cb)
	if n, err := cb.DBSize(ctx).Result(); err != nil || n == 0 {
		t.Fatalf("the promoted replica holds %d keys (%v)", n, err)
	}
	keys, _ := cb.Keys(ctx, "*").Result()
	for _, k := range keys {
		t.Logf("%s = %q", k, cb.Get(ctx, k).Val())
	}
	got, err := repo.GetByID(ctx, 2)
	if err != nil {
		t.Errorf("after a failover to a replica that missed the insert's release, GetByID(2): %v, the database holds the row", err)
	} else if got.Version != 2 {
		t.Errorf("GetByID(2) returned version %d, want 2", got.Version)
	}
}

// TestFailoverAndBack: a failover, then a failover back to the first
// master, as a Sentinel or Cluster deployment does when the new master
// fails in turn. Row 1 at version 1 is cached on the primary and
// replicated; the replica is promoted early and a Save moves the row to
// version 2 on the old master only; the client fails over to the replica,
// which keeps the version 1 value (fenced, but not read, so not discarded);
// the old master resyncs from it, value included, and is promoted again.
// Its run_id is the one the value was tagged with, yet the value is older
// than the Save: the read that follows answers version 2.
func TestFailoverAndBack(t *testing.T) {
	ctx := context.Background()
	a := startRedis(t, "--repl-diskless-sync-delay", "0")
	b := startRedis(t, "--repl-diskless-sync-delay", "0", "--replicaof", host(a), port(a))
	var master atomic.Value // where the client dials: the failover client's job
	master.Store(a.Addr())
	dial := func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, master.Load().(string))
	}
	c := goredis.NewClient(&goredis.Options{Addr: a.Addr(), Dialer: dial, PoolSize: 1})
	t.Cleanup(func() { c.Close() })
	repo := accounts(t, newStore(t, c))
	cached(t, repo)
	ca := goredis.NewClient(&goredis.Options{Addr: a.Addr()})
	cb := goredis.NewClient(&goredis.Options{Addr: b.Addr()})
	t.Cleanup(func() { ca.Close(); cb.Close() })
	synced(t, ca)
	if err := cb.ReplicaOf(ctx, "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	if err := repo.Save(ctx, &checkmodel.Account{ID: 1, Email: "a@x", Org: 1, Handle: "a", Version: 2}); err != nil {
		t.Fatal(err)
	}
	// to b: a follows it and gets its data, the version 1 value included
	switchTo(t, &master, c, ca, cb)
	if err := ca.ReplicaOf(ctx, host(b), port(b)).Err(); err != nil {
		t.Fatal(err)
	}
	synced(t, cb)
	// and back to a
	if err := ca.ReplicaOf(ctx, "NO", "ONE").Err(); err != nil {
		t.Fatal(err)
	}
	switchTo(t, &master, c, cb, ca)
	if n, err := ca.Exists(ctx, "cg:accounts:id=1").Result(); err != nil || n != 1 {
		t.Fatalf("the first master, back, holds the version 1 value: %d keys, %v", n, err)
	}
	got, err := repo.GetByID(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 {
		t.Errorf("after a failover and a failover back, GetByID returned version %d, the database holds 2", got.Version)
	}
}

func host(s *consistency.RedisServer) string { h, _, _ := net.SplitHostPort(s.Addr()); return h }
func port(s *consistency.RedisServer) string { _, p, _ := net.SplitHostPort(s.Addr()); return p }

// synced waits until the master of c has a replica in sync with it.
func synced(t *testing.T, c *goredis.Client) {
	t.Helper()
	if n, err := c.Wait(context.Background(), 1, 10*time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT for the replica: %d, %v", n, err)
	}
}

// switchTo turns the client's new connections to the master of to and
// breaks those to the old master (through old), as a failover client does,
// and waits until c (of one connection) talks to the new master.
func switchTo(t *testing.T, master *atomic.Value, c, old, to *goredis.Client) {
	t.Helper()
	ctx := context.Background()
	master.Store(to.Options().Addr)
	if err := old.ClientKillByFilter(ctx, "TYPE", "normal", "SKIPME", "yes").Err(); err != nil {
		t.Fatal(err)
	}
	want := runID(t, to)
	for range 100 {
		if info, err := c.Info(ctx, "server").Result(); err == nil && strings.Contains(info, "run_id:"+want) {
			return
		}
	}
	t.Fatal("the client does not reach the new master")
}

func runID(t *testing.T, c *goredis.Client) string {
	t.Helper()
	info, err := c.Info(context.Background(), "server").Result()
	if err != nil {
		t.Fatal(err)
	}
	_, id, _ := strings.Cut(info, "run_id:")
	return strings.TrimSpace(strings.SplitN(id, "\n", 2)[0])
}

// TestPersistenceWarned: a store on a server that saves snapshots says so,
// once, through its logger.
func TestPersistenceWarned(t *testing.T) {
	srv := startRedis(t, "--save", "3600 1")
	c := goredis.NewClient(&goredis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { c.Close() })
	var log strings.Builder
	s, err := redis.New(c, redis.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := s.Get(context.Background(), "k"); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(log.String(), "Redis persists its data"); n != 1 {
		t.Errorf("the store warned %d times about persistence, want once:\n%s", n, log.String())
	}
}
