// Command bench measures cachegen side by side with what it replaces, in
// one run on the same rows: a direct sqlx primary-key query on PostgreSQL, a
// raw go-redis GET of the same bytes, the generated repository on Redis, and
// go-zero's cached model on the same table. It lives in a module of its own
// so that the main module never depends on go-zero.
//
//	cd bench && go run . -pg postgres://postgres@127.0.0.1:5432/test -redis 127.0.0.1:6379
//
// Every figure is measured -count times, the figures interleaved round by
// round so that a noisy neighbour hits them alike, and the median is printed
// as one line "bench: name=value". Ratios are taken within the same run,
// never against absolute numbers: the latency ratios against a baseline
// (the database, a raw GET, go-zero) from the two operations run call by
// call in alternation (pairedRatio), the others between the figures'
// medians.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"
)

func main() {
	pg := flag.String("pg", os.Getenv("CACHEGEN_PG_DSN"), "PostgreSQL DSN (default $CACHEGEN_PG_DSN)")
	mysqlDSN := flag.String("mysql", os.Getenv("CACHEGEN_MYSQL_DSN"), "MariaDB DSN (go-sql-driver form), for the write figures' _mariadb lines (default $CACHEGEN_MYSQL_DSN; empty: skipped)")
	redisAddr := flag.String("redis", os.Getenv("CACHEGEN_REDIS_ADDR"), "Redis address (default $CACHEGEN_REDIS_ADDR)")
	count := flag.Int("count", 5, "rounds per figure; the median is printed")
	benchtime := flag.Duration("benchtime", 300*time.Millisecond, "time per measurement")
	quick := flag.Bool("quick", false, "skip the slow figures (the million-row table, the reads' load mix and the change-stream consumer)")
	pgCDC := flag.String("pg-cdc", os.Getenv("CACHEGEN_PG_CDC_DSN"), "PostgreSQL with wal_level=logical, for the cdc_ figures (default $CACHEGEN_PG_CDC_DSN; empty: skipped)")
	mysqlCDC := flag.String("mysql-cdc", os.Getenv("CACHEGEN_MYSQL_CDC_DSN"), "MariaDB with a ROW binlog, for the cdc_ figures (default $CACHEGEN_MYSQL_CDC_DSN; empty: skipped)")
	cdcOnly := flag.Bool("cdc-only", false, "measure the change-stream consumer's figures alone")
	flag.Parse()
	if *cdcOnly {
		cdcLines(context.Background(), *pgCDC, *mysqlCDC, *redisAddr)
		return
	}
	if *pg == "" || *redisAddr == "" {
		fmt.Fprintln(os.Stderr, "bench: -pg and -redis (or CACHEGEN_PG_DSN and CACHEGEN_REDIS_ADDR) are required")
		os.Exit(2)
	}
	testing.Init()
	if err := flag.Set("test.benchtime", benchtime.String()); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx := context.Background()
	env, err := setup(ctx, *pg, *mysqlDSN, *redisAddr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	defer env.close()

	figures, pairs := env.figures(), env.pairs()
	results := map[string][]testing.BenchmarkResult{}
	paired := map[string][]float64{}
	for round := 0; round < *count; round++ {
		for _, f := range figures {
			results[f.name] = append(results[f.name], testing.Benchmark(f.run))
		}
		for _, p := range pairs {
			r, err := pairedRatio(p, 2**benchtime)
			if err != nil {
				fmt.Fprintf(os.Stderr, "bench: %s: %v\n", p.name, err)
				os.Exit(1)
			}
			paired[p.name] = append(paired[p.name], r)
		}
	}
	ns := map[string]float64{}
	allocs := map[string]float64{}
	for _, f := range figures {
		ns[f.name], allocs[f.name] = medians(results[f.name])
		fmt.Printf("bench: %s_ns=%.0f\n", f.name, ns[f.name])
		fmt.Printf("bench: %s_allocs=%.0f\n", f.name, allocs[f.name])
	}
	ratio := func(name string, num, den string) {
		if ns[num] > 0 && ns[den] > 0 {
			fmt.Printf("bench: %s=%.2f\n", name, ns[num]/ns[den])
		}
	}
	// The single-goroutine latency ratios against a baseline are paired
	// (see pairedRatio); the figures' own ratio is printed beside each as
	// <name>_unpaired.
	for _, p := range pairs {
		fmt.Printf("bench: %s=%.2f\n", p.name, median(paired[p.name]))
	}
	ratio("redis_hit_vs_db_unpaired", "pg_query", "redis_hit")
	ratio("unique_hit_vs_db_unpaired", "pg_query_unique", "redis_unique_hit")
	ratio("hit_overhead_vs_raw_redis_unpaired", "redis_hit", "raw_redis_get")
	ratio("redis_hit_vs_gozero_unpaired", "gozero_hit", "redis_hit")
	ratio("redis_hit_vs_db_parallel", "pg_query_parallel", "redis_hit_parallel")
	ratio("memory_hit_vs_db", "pg_query", "memory_hit")
	ratio("near_hit_vs_db", "pg_query", "near_hit")
	ratio("batch100_vs_loop", "get_by_id_loop_100", "get_by_ids_100")
	for _, s := range env.writeSides {
		ratio("save_many_100_vs_loop"+s.suffix, "save_loop_100"+s.suffix, "save_many_100"+s.suffix)
		fmt.Printf("bench: allocs_save%s=%.0f\n", s.suffix, allocs["save"+s.suffix])
	}
	fmt.Printf("bench: allocs_redis_hit=%.0f\n", allocs["redis_hit"])
	fmt.Printf("bench: allocs_near_hit=%.0f\n", allocs["near_hit"])
	fmt.Printf("bench: allocs_gozero_hit=%.0f\n", allocs["gozero_hit"])

	// The per-view load mix runs in -quick too: it is what the page
	// cache's figures are read with.
	if q, err := env.httpMix(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "bench: http mix:", err)
	} else {
		fmt.Printf("bench: http_db_queries_per_1000_requests=%.1f\n", q)
	}
	if !*quick {
		if r, err := env.invalidationCost(ctx, *count); err != nil {
			fmt.Fprintln(os.Stderr, "bench: invalidation cost:", err)
		} else {
			fmt.Printf("bench: invalidation_cost_1M_vs_1k=%.2f\n", r)
		}
		if steady, cold, err := env.loadMix(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "bench: load mix:", err)
		} else {
			fmt.Printf("bench: db_queries_per_1000_reads=%.1f\n", steady)
			fmt.Printf("bench: db_queries_per_1000_reads_cold=%.1f\n", cold)
		}
		cdcLines(ctx, *pgCDC, *mysqlCDC, *redisAddr)
	}
}

// figure is one measured operation.
type figure struct {
	name string
	run  func(b *testing.B)
}

func medians(rs []testing.BenchmarkResult) (ns, allocs float64) {
	n := make([]float64, len(rs))
	a := make([]float64, len(rs))
	for i, r := range rs {
		n[i] = float64(r.T.Nanoseconds()) / float64(max(r.N, 1))
		a[i] = float64(r.AllocsPerOp())
	}
	return median(n), median(a)
}

func median(v []float64) float64 {
	sort.Float64s(v)
	if len(v) == 0 {
		return 0
	}
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}
