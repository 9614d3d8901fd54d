// Package pairs opens the database + store combinations that integration
// suites run on: every test gets a fresh database namespace (dbtest) and a
// key prefix of its own, so runs sharing servers never see each other.
package pairs

import (
	"context"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/runtime"
	cgmemcached "github.com/cachegen/cachegen/runtime/memcached"
	"github.com/cachegen/cachegen/runtime/memory"
	cgredis "github.com/cachegen/cachegen/runtime/redis"
	"github.com/jmoiron/sqlx"
	goredis "github.com/redis/go-redis/v9"
)

// Store opens one store for a test whose keys all start with prefix; the
// test's keys are deleted when it ends.
type Store struct {
	Name string
	Open func(t testing.TB, prefix string) runtime.Store
}

// Stores are the backends a suite can run on.
var Stores = []Store{
	{"memory", Memory},
	{"redis", Redis},
	{"redis-cluster", RedisCluster},
	{"memcached", Memcached},
}

// Pair is a database and a store.
type Pair struct {
	Name    string // "<database>+<store>"
	DB      func(t testing.TB) (*sqlx.DB, *dbtest.Counter)
	Store   func(t testing.TB, prefix string) runtime.Store
	Dialect string // "sqlite", "postgres" or "mysql"
	// Near, when set, is the near cache the pair's repositories read
	// through (runtime.WithNearCache), announcing on a channel under prefix.
	// Each ignores it.
	Near func(t testing.TB, prefix string) *runtime.NearCache
}

// All returns every database with every store: 3 × 4 pairs.
func All() []Pair {
	var out []Pair
	for _, d := range dbtest.Dialects {
		for _, s := range Stores {
			out = append(out, Pair{Name: d.Name + "+" + s.Name, DB: d.Open, Store: s.Open, Dialect: d.Name})
		}
	}
	return out
}

// WithNear returns the pairs with a near cache in front of the store:
// PostgreSQL + Redis.
func WithNear() []Pair {
	return []Pair{{Name: "postgres+redis+near", DB: dbtest.OpenPostgres, Store: Redis, Dialect: "postgres", Near: NearCache}}
}

// Each runs test once per pair in ps, as a subtest named after the pair,
// with a fresh database, a fresh store and the prefix its keys use.
func Each(t *testing.T, ps []Pair, test func(t *testing.T, db *sqlx.DB, store runtime.Store, prefix string)) {
	for _, p := range ps {
		t.Run(p.Name, func(t *testing.T) {
			db, _ := p.DB(t)
			prefix := dbtest.UniqueName()
			test(t, db, p.Store(t, prefix), prefix)
		})
	}
}

// Memory is a new in-process store.
func Memory(t testing.TB, _ string) runtime.Store {
	t.Helper()
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return store
}

// Redis is a store on the single Redis node of CACHEGEN_REDIS_ADDR.
func Redis(t testing.TB, prefix string) runtime.Store {
	t.Helper()
	return redisStore(t, RedisClient(t, prefix, []string{testenv.RedisAddr(t)}))
}

// RedisCluster is a store on the Redis Cluster of CACHEGEN_REDIS_CLUSTER.
func RedisCluster(t testing.TB, prefix string) runtime.Store {
	t.Helper()
	return redisStore(t, RedisClient(t, prefix, testenv.RedisCluster(t)))
}

func redisStore(t testing.TB, client goredis.UniversalClient) runtime.Store {
	t.Helper()
	store, err := cgredis.New(client, cgredis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return store
}

// RedisClient connects to addrs (several: a Cluster) and deletes the keys
// under prefix when the test ends.
func RedisClient(t testing.TB, prefix string, addrs []string) goredis.UniversalClient {
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

// Memcached is a store on the memcached of CACHEGEN_MEMCACHED_ADDR; only
// the test's own keys are deleted when it ends (the server may be shared).
func Memcached(t testing.TB, prefix string) runtime.Store {
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

// RedisNear is a store on the single Redis node of CACHEGEN_REDIS_ADDR and
// a near cache in front of it, announcing writes on a channel under prefix
// and ready to serve. Repositories take it with runtime.WithNearCache.
func RedisNear(t testing.TB, prefix string) (runtime.Store, *runtime.NearCache) {
	t.Helper()
	client := RedisClient(t, prefix, []string{testenv.RedisAddr(t)})
	return redisStore(t, client), newNear(t, client, prefix)
}

// NearCache is a near cache on a client of its own to the Redis of
// CACHEGEN_REDIS_ADDR, announcing on a channel under prefix and ready to
// serve.
func NearCache(t testing.TB, prefix string) *runtime.NearCache {
	t.Helper()
	return newNear(t, RedisClient(t, prefix, []string{testenv.RedisAddr(t)}), prefix)
}

func newNear(t testing.TB, client goredis.UniversalClient, prefix string) *runtime.NearCache {
	t.Helper()
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
	return near
}
