package redis_test

import (
	"context"
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
