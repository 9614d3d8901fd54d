package models_test

import (
	"context"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/runtime"
	cgmemcached "github.com/cachegen/cachegen/runtime/memcached"
	"github.com/cachegen/cachegen/runtime/memory"
	cgredis "github.com/cachegen/cachegen/runtime/redis"
	"github.com/jmoiron/sqlx"
	goredis "github.com/redis/go-redis/v9"
)

func newMemory(t *testing.T, _ string) runtime.Store {
	t.Helper()
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return store
}

// pairDef is a database + store combination the behaviour suite runs on.
type pairDef struct {
	name string
	open func(t *testing.T) *env
}

var pairs = []pairDef{
	{"sqlite+memory", pair(openSQLite, newMemory)},
	{"sqlite+redis", pair(openSQLite, newRedis)},
	{"postgres+redis", pair(openPostgres, newRedis)},
	{"mysql+redis", pair(openMySQL, newRedis)},
	{"postgres+memory", pair(openPostgres, newMemory)},
	{"mysql+memory", pair(openMySQL, newMemory)},
	{"postgres+redis-cluster", pair(openPostgres, newRedisCluster)},
	{"sqlite+memcached", pair(openSQLite, newMemcached)},
	{"postgres+memcached", pair(openPostgres, newMemcached)},
	{"postgres+redis+near", nearPair(openPostgres)},
}

// pair makes an env on a fresh database and store, with a key prefix of its
// own so that runs sharing a Redis never see each other's keys.
func pair(open func(*testing.T) (*sqlx.DB, *dbtest.Counter), store func(*testing.T, string) runtime.Store) func(*testing.T) *env {
	return func(t *testing.T) *env {
		t.Helper()
		db, count := open(t)
		prefix := dbtest.UniqueName()
		return newEnv(t, db, count, store(t, prefix), prefix)
	}
}

// nearPair makes an env whose repositories read through a near cache of
// their own in front of Redis, announcing writes on a channel of the test's.
func nearPair(open func(*testing.T) (*sqlx.DB, *dbtest.Counter)) func(*testing.T) *env {
	return func(t *testing.T) *env {
		t.Helper()
		db, count := open(t)
		prefix := dbtest.UniqueName()
		client := redisClient(t, prefix, []string{testenv.RedisAddr(t)})
		store, err := cgredis.New(client, cgredis.Options{})
		if err != nil {
			t.Fatal(err)
		}
		bus, err := cgredis.NewBus(client, prefix+":near")
		if err != nil {
			t.Fatal(err)
		}
		near, err := runtime.NewNearCache(bus, runtime.NearOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { near.Close() })
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := near.Ready(ctx); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, db, count, store, prefix, runtime.WithNearCache(near))
		e.near = near
		return e
	}
}

func newRedis(t *testing.T, prefix string) runtime.Store {
	t.Helper()
	return redisStore(t, prefix, []string{testenv.RedisAddr(t)})
}

func newRedisCluster(t *testing.T, prefix string) runtime.Store {
	t.Helper()
	return redisStore(t, prefix, testenv.RedisCluster(t))
}

// redisStore connects to addrs (several: a Cluster) and deletes the test's
// keys when it ends.
func redisStore(t *testing.T, prefix string, addrs []string) runtime.Store {
	t.Helper()
	store, err := cgredis.New(redisClient(t, prefix, addrs), cgredis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// redisClient connects to addrs and deletes the test's keys when it ends.
func redisClient(t *testing.T, prefix string, addrs []string) goredis.UniversalClient {
	t.Helper()
	client := goredis.NewUniversalClient(&goredis.UniversalOptions{Addrs: addrs})
	if err := client.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis at %v: %v", addrs, err)
	}
	t.Cleanup(func() {
		dbtest.DeleteRedisKeys(client, prefix+":*")
		client.Close()
	})
	return client
}

// newMemcached connects to memcached and deletes the test's keys (only
// those: the server may be shared) when it ends.
func newMemcached(t *testing.T, prefix string) runtime.Store {
	t.Helper()
	servers := new(memcache.ServerList)
	if err := servers.SetServers(testenv.MemcachedAddr(t)); err != nil {
		t.Fatal(err)
	}
	client := memcache.NewFromSelector(servers)
	client.MaxIdleConns = 64
	if err := client.Ping(); err != nil {
		t.Fatalf("memcached: %v", err)
	}
	store, err := cgmemcached.New(client, cgmemcached.Options{Servers: servers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx := context.Background()
		store.ScanKeys(ctx, prefix+":", func(k string) error { return store.Delete(ctx, k) })
		client.Close()
	})
	return store
}

func openSQLite(t *testing.T) (*sqlx.DB, *dbtest.Counter) {
	t.Helper()
	db, count := dbtest.OpenSQLite(t)
	mustExec(t, db, models.SQLiteSchema)
	return db, count
}

func openPostgres(t *testing.T) (*sqlx.DB, *dbtest.Counter) {
	t.Helper()
	db, count := dbtest.OpenPostgres(t)
	mustExec(t, db, models.PostgresSchema)
	return db, count
}

func openMySQL(t *testing.T) (*sqlx.DB, *dbtest.Counter) {
	t.Helper()
	db, count := dbtest.OpenMySQL(t)
	mustExec(t, db, models.MySQLSchema...)
	return db, count
}

func mustExec(t *testing.T, db *sqlx.DB, stmts ...string) {
	t.Helper()
	for _, stmt := range stmts {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
}
