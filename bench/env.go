package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachegen/cachegen/examples/blog/models"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/memory"
	cgredis "github.com/cachegen/cachegen/runtime/redis"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	goredis "github.com/redis/go-redis/v9"
)

// env holds one PostgreSQL schema of its own (dropped at the end), the
// clients, and the repositories under test.
type env struct {
	dsn, schema, prefix string
	db                  *sqlx.DB
	client              *goredis.Client
	users, memUsers     *models.UserRepo
	nearUsers           *models.UserRepo // Redis with a near cache in front
	near                *runtime.NearCache
	posts, nearPosts    *models.PostRepo
	store               runtime.Store // Redis
	http                httpOps
	gz                  *gozeroUsers
	writeSides          []*writeSide // PostgreSQL's, then MariaDB's when the run has one
	hot                 models.User
	hotKey              string
	cleanups            []func()
}

func setup(ctx context.Context, dsn, mysqlDSN, redisAddr string) (*env, error) {
	e := &env{dsn: dsn, schema: "cg_bench_" + strings.ToLower(rand.Text()[:10])}
	e.prefix = e.schema
	ok := false
	defer func() {
		if !ok {
			e.close()
		}
	}()
	var err error
	if e.db, err = e.openSchema(ctx, e.schema, 1000); err != nil {
		return nil, err
	}
	for i := 1; i <= 100; i++ {
		if _, err := e.db.ExecContext(ctx, `INSERT INTO posts (author_id, slug, title, body) VALUES (1, $1, 'Title', 'A body of some length, as posts have.')`, fmt.Sprint("post-", i)); err != nil {
			return nil, err
		}
	}
	// ContextTimeoutEnabled, as the README's "Client settings" advise: a
	// write's store phases then run on the caller's goroutine (the reads
	// the figures time carry no deadline, so it changes nothing for them).
	e.client = goredis.NewClient(&goredis.Options{Addr: redisAddr, ContextTimeoutEnabled: true})
	e.cleanups = append(e.cleanups, func() {
		e.deleteKeys(e.prefix + ":*")
		e.deleteKeys(gozeroKeyPrefix + e.schema + ":*")
		e.client.Close()
	})
	if err := e.client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("redis at %s: %w", redisAddr, err)
	}
	store, err := cgredis.New(e.client, cgredis.Options{})
	if err != nil {
		return nil, err
	}
	e.store = store
	mem, err := memory.New(memory.Options{})
	if err != nil {
		return nil, err
	}
	e.cleanups = append(e.cleanups, mem.Close)
	prefix := runtime.WithPrefix(e.prefix)
	if e.users, err = models.NewUserRepo(e.db, store, prefix); err != nil {
		return nil, err
	}
	if e.memUsers, err = models.NewUserRepo(e.db, mem, prefix); err != nil {
		return nil, err
	}
	if e.posts, err = models.NewPostRepo(e.db, store, prefix); err != nil {
		return nil, err
	}
	// The near cache announces on a channel of this run's, so concurrent
	// runs on one Redis never drop each other's entries.
	bus, err := cgredis.NewBus(e.client, e.prefix+":near")
	if err != nil {
		return nil, err
	}
	if e.near, err = runtime.NewNearCache(bus, runtime.NearOptions{}); err != nil {
		return nil, err
	}
	e.cleanups = append(e.cleanups, func() { e.near.Close() })
	if e.nearUsers, err = models.NewUserRepo(e.db, store, prefix, runtime.WithNearCache(e.near)); err != nil {
		return nil, err
	}
	if e.nearPosts, err = models.NewPostRepo(e.db, store, prefix, runtime.WithNearCache(e.near)); err != nil {
		return nil, err
	}
	readyCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := e.near.Ready(readyCtx); err != nil {
		return nil, err
	}
	if e.gz, err = newGozeroUsers(e.searchPathDSN(e.schema), redisAddr, e.schema); err != nil {
		return nil, err
	}
	if e.http, err = e.httpOps(); err != nil {
		return nil, err
	}
	hot, err := e.users.GetByID(ctx, 1) // fills the key
	if err != nil {
		return nil, err
	}
	e.hot = *hot
	// The key GetByID filled: the raw GET reads the same bytes.
	var keys []string
	iter := e.client.Scan(ctx, 0, e.prefix+":users:*id=1", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	if err := iter.Err(); err != nil || len(keys) != 1 {
		return nil, fmt.Errorf("the hot key is not in Redis (%v, %v)", keys, err)
	}
	e.hotKey = keys[0]
	e.writeSides = []*writeSide{{db: e.db, users: e.users, gz: e.gz}}
	if mysqlDSN != "" {
		side, err := e.mariaDBSide(ctx, mysqlDSN, redisAddr, store)
		if err != nil {
			return nil, err
		}
		e.writeSides = append(e.writeSides, side)
	}
	ok = true
	return e, nil
}

func (e *env) close() {
	for i := len(e.cleanups) - 1; i >= 0; i-- {
		e.cleanups[i]()
	}
}

func (e *env) searchPathDSN(schema string) string {
	u, err := url.Parse(e.dsn)
	if err != nil {
		return e.dsn
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// openSchema creates schema with the example's tables and rows users,
// dropped at close.
func (e *env) openSchema(ctx context.Context, schema string, rows int) (*sqlx.DB, error) {
	admin, err := sql.Open("pgx", e.dsn)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		return nil, fmt.Errorf("PostgreSQL: %w", err)
	}
	e.cleanups = append(e.cleanups, func() {
		if db, err := sql.Open("pgx", e.dsn); err == nil {
			db.Exec("DROP SCHEMA " + schema + " CASCADE")
			db.Close()
		}
	})
	db, err := sqlx.Open("pgx", e.searchPathDSN(schema))
	if err != nil {
		return nil, err
	}
	e.cleanups = append(e.cleanups, func() { db.Close() })
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	if _, err := db.ExecContext(ctx, models.PostgresSchema); err != nil {
		return nil, err
	}
	_, err = db.ExecContext(ctx, `INSERT INTO users (email, org_id, handle, name)
		SELECT 'user' || g || '@example.com', g % 100, 'handle' || g, 'User number ' || g FROM generate_series(1, $1) g`, rows)
	return db, err
}

func (e *env) deleteKeys(pattern string) {
	ctx := context.Background()
	iter := e.client.Scan(ctx, 0, pattern, 1000).Iterator()
	for iter.Next(ctx) {
		e.client.Del(ctx, iter.Val())
	}
}

// readOps are the single reads the figures time, and the paired ratios
// time against each other.
type readOps struct {
	pgByID, pgByEmail, rawGet, hit, uniqueHit, nearHit, memoryHit, gozeroHit func() error
}

func (e *env) readOps() readOps {
	ctx := context.Background()
	const byID = "SELECT id, email, org_id, handle, name FROM users WHERE id = $1"
	const byEmail = "SELECT id, email, org_id, handle, name FROM users WHERE email = $1"
	id, email := e.hot.ID, e.hot.Email
	byIDFrom := func(r *models.UserRepo) func() error {
		return func() error {
			_, err := r.GetByID(ctx, id)
			return err
		}
	}
	return readOps{
		pgByID: func() error {
			var u models.User
			return e.db.GetContext(ctx, &u, byID, id)
		},
		pgByEmail: func() error {
			var u models.User
			return e.db.GetContext(ctx, &u, byEmail, email)
		},
		rawGet: func() error {
			_, err := e.client.Get(ctx, e.hotKey).Bytes()
			return err
		},
		hit: byIDFrom(e.users),
		uniqueHit: func() error {
			_, err := e.users.GetByEmail(ctx, email)
			return err
		},
		nearHit:   byIDFrom(e.nearUsers),
		memoryHit: byIDFrom(e.memUsers),
		gozeroHit: func() error {
			_, err := e.gz.FindOne(ctx, id)
			return err
		},
	}
}

// timed is the figure of op: one call per iteration.
func timed(op func() error) func(*testing.B) {
	return func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := op(); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func (e *env) figures() []figure {
	ctx := context.Background()
	must := func(b *testing.B, err error) {
		if err != nil {
			b.Fatal(err)
		}
	}
	id := e.hot.ID
	ids100 := make([]int64, 100)
	for i := range ids100 {
		ids100[i] = int64(i + 1)
	}
	saved := e.hot
	ops := e.readOps()
	return append([]figure{
		{"pg_query", timed(ops.pgByID)},
		{"pg_query_unique", timed(ops.pgByEmail)},
		{"raw_redis_get", timed(ops.rawGet)},
		{"redis_hit", timed(ops.hit)},
		{"redis_unique_hit", timed(ops.uniqueHit)},
		{"redis_miss", func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				must(b, e.users.InvalidateRows(ctx, &saved))
				b.StartTimer()
				_, err := e.users.GetByID(ctx, id)
				must(b, err)
			}
		}},
		{"near_hit", func(b *testing.B) {
			timed(ops.nearHit)(b)
			if e.near.Stats().Hits == 0 {
				b.Fatal("near_hit: the near cache answered nothing")
			}
		}},
		{"memory_hit", timed(ops.memoryHit)},
		{"http_render", timed(e.http.render)},
		{"http_304", timed(e.http.revalidate)},
		{"http_kept_page", timed(e.http.kept)},
		{"http_near_render", timed(e.http.nearRender)},
		{"http_near_304", timed(e.http.nearRevalidate)},
		{"all_hit_100_rows", func(b *testing.B) {
			for b.Loop() {
				_, err := e.posts.All(ctx)
				must(b, err)
			}
		}},
		{"gozero_hit", timed(ops.gozeroHit)},
		{"get_by_ids_100", func(b *testing.B) {
			for b.Loop() {
				if _, err := e.users.GetByIDs(ctx, ids100); err != nil {
					b.Fatal(err)
				}
			}
		}},
		{"get_by_id_loop_100", func(b *testing.B) {
			for b.Loop() {
				for _, id := range ids100 {
					_, err := e.users.GetByID(ctx, id)
					must(b, err)
				}
			}
		}},
		{"pg_query_parallel", parallel(ops.pgByID)},
		{"redis_hit_parallel", parallel(ops.hit)},
	}, e.writeFigures()...)
}

// parallel is the figure of op on 16 goroutines (8 per core).
func parallel(op func() error) func(*testing.B) {
	return func(b *testing.B) {
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := op(); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
}

// invalidationCost compares the cost of Save on a table of 1,000,000 rows
// with its cost on a table of 1,000: invalidation is O(1) per write.
func (e *env) invalidationCost(ctx context.Context, count int) (float64, error) {
	small, err := e.openSchema(ctx, e.schema+"_1k", 1000)
	if err != nil {
		return 0, err
	}
	large, err := e.openSchema(ctx, e.schema+"_1m", 1000000)
	if err != nil {
		return 0, err
	}
	store, err := cgredis.New(e.client, cgredis.Options{})
	if err != nil {
		return 0, err
	}
	bench := func(db *sqlx.DB, name string) (func(b *testing.B), error) {
		repo, err := models.NewUserRepo(db, store, runtime.WithPrefix(e.prefix+name))
		if err != nil {
			return nil, err
		}
		u, err := repo.GetByID(ctx, 500)
		if err != nil {
			return nil, err
		}
		return func(b *testing.B) {
			n := 0
			for b.Loop() {
				n++
				u.Name = fmt.Sprint("edit ", n)
				if err := repo.Save(ctx, u); err != nil {
					b.Fatal(err)
				}
			}
		}, nil
	}
	fs, err := bench(small, "1k")
	if err != nil {
		return 0, err
	}
	fl, err := bench(large, "1m")
	if err != nil {
		return 0, err
	}
	var s, l []float64
	for i := 0; i < count; i++ {
		rs, rl := testing.Benchmark(fs), testing.Benchmark(fl)
		s = append(s, float64(rs.NsPerOp()))
		l = append(l, float64(rl.NsPerOp()))
	}
	return median(l) / median(s), nil
}

// loadMix runs a mix of reads by primary key under a Zipf(1.1) distribution
// over 10,000 rows, 1% of the operations being writes (GetByID of the row,
// then Save of it; the row drawn from the same distribution), on 8
// goroutines, 40,000 operations a run. It returns two figures, each the
// database queries per 1,000 reads over one measured run (seed 2), each on
// a cache of its own (a key prefix of its own, on the same table and store):
//
//   - steady (db_queries_per_1000_reads): the cache warmed as a
//     long-running service's would be: every row read once with GetByIDs
//     in chunks of 500 (one query each), then a mixed warm-up run (seed 1),
//     then the measured run. What it still counts is what a warm cache
//     cannot avoid. Each write invalidates its row's keys, so the next read
//     of a written row refills it: about one query per write, ~10 per 1,000
//     reads at 1% writes (a little less when a written row is not read
//     again in the run); that is the floor. On top of it come the reads
//     that race a write: while Save holds the row's keys locked (from
//     before its transaction until after its commit), a read of them goes
//     to the database and does not fill. The written rows are Zipf-drawn,
//     mostly hot ones, so those reads grow with Save's latency.
//   - cold (db_queries_per_1000_reads_cold): the measured run right after
//     the mixed warm-up only, no full read first (what
//     db_queries_per_1000_reads measured before): most of the tail has
//     never been read, and first touches dominate.
//
// What is counted is the readers' repository's Stats().DBReads over the
// measured run (the queries its GetByID calls sent to the database: misses
// and reads through a lock) divided by the number of those GetByID calls.
// The writes go through a second repository on the same store and prefix,
// as another instance of the service would: their own GetByID before Save
// is in neither the numerator nor the denominator, and Save's read of the
// old row under lock is not a DBRead either.
func (e *env) loadMix(ctx context.Context) (steady, cold float64, err error) {
	const rows, ops, workers, chunk = 10000, 40000, 8, 500
	db, err := e.openSchema(ctx, e.schema+"_zipf", rows)
	if err != nil {
		return 0, 0, err
	}
	store, err := cgredis.New(e.client, cgredis.Options{})
	if err != nil {
		return 0, 0, err
	}
	// cache returns the readers' and the writers' repositories on a key
	// prefix of their own, deleted at close.
	cache := func(name string) (readers, writers *models.UserRepo, err error) {
		prefix := e.prefix + name
		e.cleanups = append(e.cleanups, func() { e.deleteKeys(prefix + ":*") })
		if readers, err = models.NewUserRepo(db, store, runtime.WithPrefix(prefix)); err != nil {
			return nil, nil, err
		}
		writers, err = models.NewUserRepo(db, store, runtime.WithPrefix(prefix))
		return readers, writers, err
	}
	// run runs the mix once and returns how many reads the readers made.
	run := func(readers, writers *models.UserRepo, seed uint64) (reads int64, err error) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r := mrand.New(mrand.NewPCG(seed, uint64(w)))
				z := newZipf(r, 1.1, rows)
				var n int64
				for i := 0; i < ops/workers; i++ {
					id := int64(z.next()) + 1
					if r.IntN(100) == 0 {
						u, gerr := writers.GetByID(ctx, id)
						if gerr == nil {
							u.Name = fmt.Sprint("edit ", i)
							gerr = writers.Save(ctx, u)
						}
						if gerr != nil {
							mu.Lock()
							err = gerr
							mu.Unlock()
							return
						}
						continue
					}
					if _, gerr := readers.GetByID(ctx, id); gerr != nil {
						mu.Lock()
						err = gerr
						mu.Unlock()
						return
					}
					n++
				}
				mu.Lock()
				reads += n
				mu.Unlock()
			}()
		}
		wg.Wait()
		return reads, err
	}
	// measure runs the mixed warm-up then the measured run.
	measure := func(readers, writers *models.UserRepo) (float64, error) {
		if _, err := run(readers, writers, 1); err != nil {
			return 0, err
		}
		before := readers.Stats().DBReads
		reads, err := run(readers, writers, 2)
		if err != nil {
			return 0, err
		}
		return float64(readers.Stats().DBReads-before) / float64(reads) * 1000, nil
	}

	readers, writers, err := cache("zipfcold")
	if err != nil {
		return 0, 0, err
	}
	if cold, err = measure(readers, writers); err != nil {
		return 0, 0, err
	}

	if readers, writers, err = cache("zipf"); err != nil {
		return 0, 0, err
	}
	ids := make([]int64, 0, chunk)
	for id := int64(1); id <= rows; id++ {
		ids = append(ids, id)
		if len(ids) < chunk && id < rows {
			continue
		}
		got, err := readers.GetByIDs(ctx, ids)
		if err != nil {
			return 0, 0, err
		}
		for i, u := range got {
			if u == nil {
				return 0, 0, fmt.Errorf("warm-up: row %d not found", ids[i])
			}
		}
		ids = ids[:0]
	}
	if steady, err = measure(readers, writers); err != nil {
		return 0, 0, err
	}
	return steady, cold, nil
}

// zipf draws from {0, …, n-1} with P(k) ∝ 1/(k+1)^s, for any s > 0
// (math/rand's Zipf needs s > 1 and has no v = 1 form for s near 1).
type zipf struct {
	r   *mrand.Rand
	cdf []float64
}

func newZipf(r *mrand.Rand, s float64, n int) *zipf {
	cdf := make([]float64, n)
	sum := 0.0
	for k := 0; k < n; k++ {
		sum += 1 / math.Pow(float64(k+1), s)
		cdf[k] = sum
	}
	for k := range cdf {
		cdf[k] /= sum
	}
	return &zipf{r: r, cdf: cdf}
}

func (z *zipf) next() int {
	return sort.SearchFloat64s(z.cdf, z.r.Float64())
}
