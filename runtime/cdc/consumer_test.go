package cdc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	"github.com/cachegen/cachegen/runtime/memory"
	cgredis "github.com/cachegen/cachegen/runtime/redis"
	cachestore "github.com/cachegen/cachegen/runtime/store"
	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	goredis "github.com/redis/go-redis/v9"
)

// applyDB is one test's own tables of the blog example on a CDC server:
// db for the repositories and for raw SQL made outside them, open for the
// consumer's stream.
type applyDB struct {
	db     *sqlx.DB
	schema string
	open   func(ctx context.Context, from Position) (Source, error)
	// dropSlot drops the PostgreSQL slot (nil on MariaDB).
	dropSlot func() error
}

func pgApplyDB(t *testing.T) *applyDB {
	t.Helper()
	e := newPGEnv(t)
	db, err := sqlx.Open("pgx", e.dsn+"&search_path="+e.schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	mustExec(t, db, schema(t, "postgres")...)
	mustExec(t, db, "ALTER TABLE users REPLICA IDENTITY FULL",
		"ALTER TABLE posts REPLICA IDENTITY FULL")
	tables := []string{e.table("users"), e.table("posts")}
	return &applyDB{db: db, schema: e.schema, open: func(ctx context.Context, from Position) (Source, error) {
		return OpenPostgres(ctx, PostgresOptions{DSN: e.dsn, Publication: e.name, Slot: e.name, Tables: tables, FullIdentity: tables, From: from})
	}, dropSlot: e.dropSlot}
}

func myApplyDB(t *testing.T) *applyDB {
	t.Helper()
	e := newMyEnv(t)
	cfg, err := mysql.ParseDSN(e.dsn)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DBName, cfg.ParseTime = e.sch, true
	db, err := sqlx.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	mustExec(t, db, schema(t, "mysql")...)
	return &applyDB{db: db, schema: e.sch, open: func(ctx context.Context, from Position) (Source, error) {
		return OpenMySQL(ctx, MySQLOptions{DSN: e.dsn, Schemas: []string{e.sch}, From: from})
	}}
}

func mustExec(t *testing.T, db *sqlx.DB, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

// schema is the statements that create the tables of the engine suite's
// model, which the consumer tests write through, on dialect.
func schema(t *testing.T, dialect string) []string {
	t.Helper()
	stmts, err := model.Schema(dialect)
	if err != nil {
		t.Fatal(err)
	}
	return stmts
}

func memoryStore(t *testing.T) runtime.Store {
	s, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// redisStore is the shared Redis; the test's keys (prefix, and the
// consumer's under "cachegen:cdc:"+prefix) are deleted when it ends.
func redisStore(t *testing.T, prefix string) runtime.Store {
	client := goredis.NewClient(&goredis.Options{Addr: testenv.RedisAddr(t)})
	t.Cleanup(func() {
		dbtest.DeleteRedisKeys(client, prefix+":*")
		dbtest.DeleteRedisKeys(client, "cachegen:cdc:"+prefix+":*")
		client.Close()
	})
	s, err := cgredis.New(client, cgredis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func uniqueName() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "cgapply" + hex.EncodeToString(b)
}

// faultyStore fails every call while down; while locksDown, only the locks
// of the repositories' keys (the invalidations) fail.
type faultyStore struct {
	runtime.Store
	down, locksDown atomic.Bool
}

var errDown = errors.New("test: store down")

func (f *faultyStore) fail() error {
	if f.down.Load() {
		return errDown
	}
	return nil
}
func (f *faultyStore) Get(ctx context.Context, key string) (cachestore.Entry, error) {
	if err := f.fail(); err != nil {
		return cachestore.Entry{}, err
	}
	return f.Store.Get(ctx, key)
}
func (f *faultyStore) Lease(ctx context.Context, key, token string, ttl time.Duration) (bool, cachestore.Entry, error) {
	if err := f.fail(); err != nil {
		return false, cachestore.Entry{}, err
	}
	return f.Store.Lease(ctx, key, token, ttl)
}
func (f *faultyStore) Fill(ctx context.Context, key, token string, e cachestore.Entry, ttl time.Duration) (bool, error) {
	if err := f.fail(); err != nil {
		return false, err
	}
	return f.Store.Fill(ctx, key, token, e, ttl)
}
func (f *faultyStore) Release(ctx context.Context, key, token string) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.Release(ctx, key, token)
}
func (f *faultyStore) Lock(ctx context.Context, key string, ttl time.Duration) error {
	if err := f.fail(); err != nil {
		return err
	}
	if f.locksDown.Load() {
		return errDown
	}
	return f.Store.Lock(ctx, key, ttl)
}
func (f *faultyStore) Unlock(ctx context.Context, key string) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.Unlock(ctx, key)
}
func (f *faultyStore) Delete(ctx context.Context, key string) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.Delete(ctx, key)
}
func (f *faultyStore) ScanKeys(ctx context.Context, prefix string, fn func(string) error) error {
	if err := f.fail(); err != nil {
		return err
	}
	return f.Store.(cachestore.KeyScanner).ScanKeys(ctx, prefix, fn)
}

// repos builds the blog's repositories on store under prefix, with a
// registry of their own.
func repos(t *testing.T, d *applyDB, store runtime.Store, prefix string) (*model.Repos, *runtime.Registry) {
	t.Helper()
	reg := runtime.NewRegistry()
	rs, err := model.NewRepos(d.db, store, runtime.WithPrefix(prefix), runtime.WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	return rs, reg
}

// startConsumer runs a consumer until the test ends; stop ends it earlier
// and waits for it.
func startConsumer(t *testing.T, d *applyDB, reg *runtime.Registry, store runtime.Store, name string) (c *Consumer, stop func()) {
	t.Helper()
	c, err := NewConsumer(ConsumerOptions{Open: d.open, Registry: reg, Store: store, Name: name, Schema: d.schema,
		LeaseTTL: time.Second, RetryPause: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = c.Run(ctx) })
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return c, stop
}

// waitFor polls cond until it holds, failing the test after a deadline
// (the CDC servers and the store are real: their pace is not ours).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ready waits until c leads and has opened its stream (its first start
// invalidates every table: it knows no position yet).
func ready(t *testing.T, c *Consumer) {
	t.Helper()
	waitFor(t, "the consumer to lead and open its stream", func() bool {
		s := c.Stats()
		return s.Leader && s.PositionLost > 0
	})
}

func userName(t *testing.T, rs *model.Repos, id int64) string {
	t.Helper()
	u, err := rs.Users.GetByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return u.Name
}

// A raw SQL INSERT, UPDATE (its unique and unique_together values
// included) and DELETE, made outside the repository, become visible
// through the cached repository with no Invalidate call: the consumer
// drops the keys of the old and new rows, key by key (no table-wide
// invalidation after its first start).
func TestConsumerRawSQL(t *testing.T) {
	for _, c := range []struct {
		name  string
		db    func(*testing.T) *applyDB
		store func(*testing.T, string) runtime.Store
	}{
		{"postgres+memory", pgApplyDB, func(t *testing.T, _ string) runtime.Store { return memoryStore(t) }},
		{"postgres+redis", pgApplyDB, redisStore},
		{"mariadb+memory", myApplyDB, func(t *testing.T, _ string) runtime.Store { return memoryStore(t) }},
		{"mariadb+redis", myApplyDB, redisStore},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := c.db(t)
			prefix := uniqueName()
			store := c.store(t, prefix)
			rs, reg := repos(t, d, store, prefix)
			ctx := context.Background()
			cons, _ := startConsumer(t, d, reg, store, prefix)
			ready(t, cons)
			whole := cons.Stats().WholeTables

			u := &model.User{Email: "ann@x", OrgID: 1, Handle: "ann", Name: "Ann"}
			if err := rs.Users.Save(ctx, u); err != nil {
				t.Fatal(err)
			}
			// The Save's own transaction comes through the stream too: once
			// it is applied, cache the row under every key, and the All list.
			waitFor(t, "the Save's transaction", func() bool { return cons.Stats().Events >= 1 })
			for range 2 {
				if userName(t, rs, u.ID) != "Ann" {
					t.Fatal("wrong row")
				}
				if _, err := rs.Users.GetByEmail(ctx, "ann@x"); err != nil {
					t.Fatal(err)
				}
				if _, err := rs.Users.GetByOrgIDHandle(ctx, 1, "ann"); err != nil {
					t.Fatal(err)
				}
				if _, err := rs.Users.All(ctx); err != nil {
					t.Fatal(err)
				}
			}
			if s := rs.Users.Stats(); s.Hits < 4 {
				t.Fatalf("the rows are not cached: %+v", s)
			}

			mustExec(t, d.db, "UPDATE users SET email = 'ann2@x', handle = 'ann2', name = 'Ann B' WHERE email = 'ann@x'")
			waitFor(t, "the raw UPDATE through GetByID", func() bool { return userName(t, rs, u.ID) == "Ann B" })
			waitFor(t, "the old email and handle to find nothing", func() bool {
				_, e1 := rs.Users.GetByEmail(ctx, "ann@x")
				_, e2 := rs.Users.GetByOrgIDHandle(ctx, 1, "ann")
				return errors.Is(e1, runtime.ErrNotFound) && errors.Is(e2, runtime.ErrNotFound)
			})
			got, err := rs.Users.GetByEmail(ctx, "ann2@x")
			if err != nil || got.Name != "Ann B" {
				t.Fatalf("GetByEmail(new) = %+v, %v", got, err)
			}
			all, err := rs.Users.All(ctx)
			if err != nil || len(all) != 1 || all[0].Name != "Ann B" {
				t.Fatalf("All = %+v, %v", all, err)
			}

			// A DELETE, then an INSERT under a key read (and cached) as missing.
			mustExec(t, d.db, "DELETE FROM users WHERE email = 'ann2@x'")
			waitFor(t, "the raw DELETE", func() bool {
				_, err := rs.Users.GetByID(ctx, u.ID)
				return errors.Is(err, runtime.ErrNotFound)
			})
			if _, err := rs.Users.GetByID(ctx, u.ID+100); !errors.Is(err, runtime.ErrNotFound) {
				t.Fatal(err)
			}
			mustExec(t, d.db, fmt.Sprintf("INSERT INTO users (id, email, org_id, handle, name) VALUES (%d, 'bob@x', 1, 'bob', 'Bob')", u.ID+100))
			waitFor(t, "the raw INSERT", func() bool {
				u, err := rs.Users.GetByID(ctx, u.ID+100)
				return err == nil && u.Name == "Bob"
			})
			if s := cons.Stats(); s.WholeTables != whole || s.Keys == 0 || s.Events < 3 || s.Lag <= 0 || s.Position == "" {
				t.Errorf("stats %+v: want key by key invalidations (WholeTables still %d), lag and position", s, whole)
			}
		})
	}
}

var applyDBs = []struct {
	name string
	db   func(*testing.T) *applyDB
}{{"postgres", pgApplyDB}, {"mariadb", myApplyDB}}

// faultEnv is a memory store behind a faultyStore: readers read the
// memory store directly, so what they see cached is what the consumer left
// there, while the consumer invalidates through the faulty one.
type faultEnv struct {
	d       *applyDB
	prefix  string
	mem     runtime.Store
	readers *model.Repos
	user    *model.User
}

func newFaultEnv(t *testing.T, d *applyDB) *faultEnv {
	f := &faultEnv{d: d, prefix: uniqueName(), mem: memoryStore(t)}
	f.readers, _ = repos(t, d, f.mem, f.prefix)
	return f
}

// consumer starts a consumer whose repositories and store are behind a
// faultyStore of its own.
func (f *faultEnv) consumer(t *testing.T) (*Consumer, *faultyStore, func()) {
	fs := &faultyStore{Store: f.mem}
	_, reg := repos(t, f.d, fs, f.prefix)
	c, stop := startConsumer(t, f.d, reg, fs, f.prefix)
	return c, fs, stop
}

// saveAndCache saves a user through the readers, waits until c has
// applied that transaction and stored its position, and caches the row.
func (f *faultEnv) saveAndCache(t *testing.T, c *Consumer) {
	t.Helper()
	f.user = &model.User{Email: "ann@x", OrgID: 1, Handle: "ann", Name: "Ann"}
	if err := f.readers.Users.Save(context.Background(), f.user); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the Save's transaction", func() bool { s := c.Stats(); return s.Events >= 1 && s.Position != "" })
	for range 2 {
		if userName(t, f.readers, f.user.ID) != "Ann" {
			t.Fatal("wrong row")
		}
	}
	if s := f.readers.Users.Stats(); s.Hits == 0 {
		t.Fatalf("the row is not cached: %+v", s)
	}
}

func (f *faultEnv) update(t *testing.T) {
	t.Helper()
	mustExec(t, f.d.db, fmt.Sprintf("UPDATE users SET name = 'Ann B', email = 'ann2@x' WHERE id = %d", f.user.ID))
}

// stale fails the test unless the readers still see the row from before
// the update: the change was not invalidated yet.
func (f *faultEnv) stale(t *testing.T, when string) {
	t.Helper()
	if name := userName(t, f.readers, f.user.ID); name != "Ann" {
		t.Fatalf("%s: the readers see %q: the update was invalidated", when, name)
	}
}

func (f *faultEnv) waitFresh(t *testing.T) {
	t.Helper()
	waitFor(t, "the update through the cache", func() bool { return userName(t, f.readers, f.user.ID) == "Ann B" })
}

// A consumer killed after it read a transaction and before its keys were
// invalidated (its store refused them) has not acknowledged it: the next
// consumer resumes from the stored position and invalidates it, without
// a table-wide invalidation.
func TestConsumerKilledBeforeAck(t *testing.T) {
	for _, db := range applyDBs {
		t.Run(db.name, func(t *testing.T) {
			f := newFaultEnv(t, db.db(t))
			c1, fs1, stop1 := f.consumer(t)
			ready(t, c1)
			f.saveAndCache(t, c1)
			acked := c1.Stats().Position
			fs1.locksDown.Store(true)
			f.update(t)
			waitFor(t, "the consumer to fail the invalidation", func() bool { return c1.Stats().Retries > 0 })
			stop1()
			f.stale(t, "after the kill")
			if s := c1.Stats(); s.Position != acked {
				t.Fatalf("the killed consumer acknowledged %q (had %q) without invalidating", s.Position, acked)
			}

			c2, _, _ := f.consumer(t)
			f.waitFresh(t)
			// The row reads fresh once the keys are dropped, a moment before
			// the consumer counts the transaction in its Stats.
			waitFor(t, "the restarted consumer to count the transaction", func() bool { return c2.Stats().Transactions > 0 })
			if s := c2.Stats(); s.PositionLost != 0 || s.WholeTables != 0 || s.Events == 0 {
				t.Errorf("restarted consumer %+v: want the transaction again from the stored position, key by key", s)
			}
		})
	}
}

// While the store is unreachable the consumer applies the transaction
// again and again and acknowledges nothing; once the store is back it
// invalidates the change and moves on.
func TestConsumerStoreOutage(t *testing.T) {
	for _, db := range applyDBs {
		t.Run(db.name, func(t *testing.T) {
			f := newFaultEnv(t, db.db(t))
			c, fs, _ := f.consumer(t)
			ready(t, c)
			f.saveAndCache(t, c)
			acked := c.Stats().Position
			fs.down.Store(true)
			f.update(t)
			waitFor(t, "the consumer to fail the invalidation", func() bool { return c.Stats().Retries > 0 })
			f.stale(t, "during the outage")
			if s := c.Stats(); s.Position != acked {
				t.Fatalf("acknowledged %q (had %q) while the store was down", s.Position, acked)
			}
			fs.down.Store(false)
			f.waitFresh(t)
			waitFor(t, "the position to move", func() bool { return c.Stats().Position != acked })
		})
	}
}

// Two consumers of one database: one leads, the other stands by and takes
// over once the leader dies (its store unreachable, so it neither renews
// nor gives back its lease), within a bounded time.
func TestConsumerLeader(t *testing.T) {
	for _, db := range applyDBs {
		t.Run(db.name, func(t *testing.T) {
			f := newFaultEnv(t, db.db(t))
			c1, fs1, _ := f.consumer(t)
			ready(t, c1)
			c2, _, _ := f.consumer(t)
			f.saveAndCache(t, c1)
			if s := c2.Stats(); s.Leader || s.Events != 0 {
				t.Fatalf("the standby leads or applies while the leader lives: %+v", s)
			}
			fs1.down.Store(true)
			died := time.Now()
			waitFor(t, "the standby to take over", func() bool { return c2.Stats().Leader })
			if took := time.Since(died); took > 3*time.Second {
				t.Errorf("takeover took %v, want within the lease TTL (1s) and a third", took)
			}
			waitFor(t, "the dead leader to step down", func() bool { return !c1.Stats().Leader })
			f.update(t)
			f.waitFresh(t)
		})
	}
}

// A lost position (the PostgreSQL slot dropped while no consumer ran)
// means changes nobody will deliver: the consumer invalidates every table
// as a whole, logs it, and goes on from a new slot.
func TestConsumerPositionLost(t *testing.T) {
	f := newFaultEnv(t, pgApplyDB(t))
	c1, _, stop1 := f.consumer(t)
	ready(t, c1)
	f.saveAndCache(t, c1)
	stop1()
	if err := f.d.dropSlot(); err != nil {
		t.Fatal(err)
	}
	f.update(t) // no slot holds it: no stream will deliver it
	c2, _, _ := f.consumer(t)
	f.waitFresh(t)
	if s := c2.Stats(); s.PositionLost != 1 || s.WholeTables < 2 {
		t.Errorf("stats %+v: want the position lost once and both tables invalidated", s)
	}
	// and it goes on, key by key
	mustExec(t, f.d.db, fmt.Sprintf("UPDATE users SET name = 'Ann C' WHERE id = %d", f.user.ID))
	waitFor(t, "a change after the loss", func() bool { return userName(t, f.readers, f.user.ID) == "Ann C" })
}
