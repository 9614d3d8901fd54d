// Command cachecheck checks cachegen's consistency promise on a real
// database and store: concurrent clients on several repository instances
// sharing one store issue random reads (single, batch and through the
// loaders) and writes on a small hot key set while faults are injected, and
// the recorded history is checked, each position of a batch read as the
// single read of its key:
//
//   - stale_after_ack: no read that began after a write was acknowledged
//     returns data older than that write (the database's change log gives
//     the commit order of every row and every unique value);
//   - linearizability: porcupine, one register per primary key;
//   - lost_writes: every acknowledged write is in the database, and a final
//     read of every key through every runtime agrees with it.
//
// With -near D every runtime also has a near cache (runtime.NearCache,
// MaxStaleness D) in front of the store, on a Redis pub/sub bus through the
// runtime's own proxy (-store redis only). A read may then miss a write of
// another runtime acknowledged less than D before it began: such reads are
// counted apart (near_stale_within_bound, near_max_staleness_ms: the
// longest time from the ack of the first write such a read missed to its
// start), and porcupine checks every read a near cache may have served
// behind the store with its start moved D earlier. A read that misses a
// write acknowledged D or more before it began, or one of its own
// runtime's, is stale_after_ack. -near-lossy is the near cache's negative
// control: the buses swallow every message, and must be caught.
//
// With -two-builds the odd runtimes run a second generated version of the
// model (internal/checkmodel/v2, the same table with a nullable column
// more), as during a rolling deploy that adds a column. -weak-batch fill
// and -weak-batch snapshot are the batch reads' negative controls: the
// batch calls alone are weakened, and must be caught.
//
// It prints its findings, then one line:
//
//	consistency: backend=<db>+<store>[+near] ops=N stale_after_ack=K linearizability=ok|violated lost_writes=L faults=F max_staleness_ms=M [near_hits=H near_stale_within_bound=W near_max_staleness_ms=X]
//
// and exits 1 on any violation (with -expect-violations, the negative
// control, 1 when it finds none), 2 when it cannot run.
//
// Usage:
//
//	cachecheck -db sqlite -store memory -ops 200000
//	cachecheck -db postgres://postgres@127.0.0.1:5432/test -store redis
//	cachecheck -db mysql://root@127.0.0.1:3306/test -store redis
//	cachecheck -weak -faults=false -expect-violations   # the negative control
//	cachecheck -db postgres://postgres@127.0.0.1:5432/test -store redis -near 100ms
//	cachecheck -store redis -near 100ms -near-lossy -faults=false -expect-violations
//	cachecheck -db postgres://postgres@127.0.0.1:5432/test -store redis -two-builds
//	cachecheck -weak-batch fill -faults=false -expect-violations
//
// The Redis store runs on a redis-server the checker starts on a free
// port (flushing and restarting it are among the faults), each runtime
// reaching it through a TCP proxy of its own that drops, delays, refuses
// and partitions connections.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/cachegen/cachegen/internal/consistency"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("cachecheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg consistency.Config
	fs.StringVar(&cfg.DB, "db", "sqlite", "database: sqlite (a temporary file), postgres://… or mysql://user@host:port/db")
	fs.StringVar(&cfg.Store, "store", "memory", "store: memory, or redis (a redis-server of the checker's own)")
	fs.StringVar(&cfg.RedisBin, "redis-server", "redis-server", "the redis-server binary for -store redis")
	fs.StringVar(&cfg.RedisRetries, "redis-retries", "mixed", "how the runtimes' go-redis clients retry: default (3 retries), none, or mixed (even runtimes retry, odd ones do not)")
	fs.IntVar(&cfg.Ops, "ops", 20000, "operations, all clients together")
	fs.IntVar(&cfg.Clients, "clients", 16, "concurrent clients")
	fs.IntVar(&cfg.Runtimes, "runtimes", 4, "repository instances sharing the store (separate app servers)")
	fs.IntVar(&cfg.Keys, "keys", 12, "primary keys in the hot set")
	fs.BoolVar(&cfg.Faults, "faults", true, "inject faults")
	fs.BoolVar(&cfg.Failover, "failover", false, "with -store redis: give the server a replica and fail over to it now and then, after promoting it early so that it misses the releases of writes acknowledged meanwhile")
	fs.IntVar(&cfg.RedisWait, "redis-wait", 0, "with -failover: the Redis store's safe mode, each write's locks and releases wait for this many replicas (0: the default mode)")
	fs.BoolVar(&cfg.RestartFromSnapshot, "restart-from-snapshot", false, "with -store redis: the server's restarts come back from a snapshot (SAVE) taken a while before, holding values later writes invalidated")
	fs.BoolVar(&cfg.Undetectable, "undetectable", false, "also corrupt values in ways no header can catch (bit flips in the row, another key's value)")
	fs.BoolVar(&cfg.Weak, "weak", false, "negative control: weaken the protocol to plain get/set/delete (no lease, no lock)")
	fs.StringVar(&cfg.WeakBatch, "weak-batch", "", "negative control for the batch reads: fill (batch leases always succeed, batch fills are plain sets) or snapshot (batch reads answer from the last value they saw under each key)")
	fs.BoolVar(&cfg.TwoBuilds, "two-builds", false, "run the odd runtimes on the second build of the model (checkmodel/v2: the same table with a column more), as during a rolling deploy")
	expect := fs.Bool("expect-violations", false, "exit 0 only if violations are found (for the negative control)")
	fs.BoolVar(&cfg.Herd, "herd", true, "measure the thundering herd first")
	fs.DurationVar(&cfg.Near, "near", 0, "put a near cache with this MaxStaleness in front of the store in every runtime, its bus on the runtime's Redis connection (0: none; -store redis only)")
	fs.BoolVar(&cfg.NoBoard, "no-board", false, "negative control for -two-builds: no build board, so the first build's writes leave the second build's version index (which the first does not declare) stale")
	fs.BoolVar(&cfg.NearLossy, "near-lossy", false, "negative control for -near: the near caches' buses swallow every message")
	fs.BoolVar(&cfg.CDC, "cdc", false, "add out-of-band writers (raw SQL, no Invalidate) and a cdc.Consumer on the database's change stream that invalidates; needs -db postgres://… (wal_level=logical) or mysql://… (ROW binlog)")
	fs.BoolVar(&cfg.CDCOff, "cdc-off", false, "negative control for -cdc: the out-of-band writers, no consumer")
	fs.BoolVar(&cfg.CDCAckFirst, "cdc-ack-first", false, "negative control for the consumer faults: a consumer that acknowledges each transaction before it drops its keys, and dies between the two for three in four")
	fs.DurationVar(&cfg.CDCBound, "cdc-bound", time.Second, "with -cdc: a read that began this long after an out-of-band commit must see it")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "random seed (0: a random one, printed)")
	fs.DurationVar(&cfg.TTL, "ttl", 5*time.Second, "value and not-found TTL: the bound on by-design staleness")
	fs.DurationVar(&cfg.LockTTL, "lock-ttl", 2*time.Second, "writers' lock TTL")
	fs.DurationVar(&cfg.Jitter, "jitter", 2*time.Millisecond, "latency added after a quarter of the database reads, up to this")
	quiet := fs.Bool("q", false, "no progress notes on stderr")
	verbose := fs.Bool("v", false, "also describe a few of the stale reads excused by design")
	dump := fs.String("dump", "", "write the history and the database's change log to this file")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "cachecheck: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if !*quiet {
		cfg.Progress = stderr
	}
	if err := consistency.Validate(cfg); err != nil {
		fmt.Fprintln(stderr, "cachecheck:", err)
		return 2
	}
	if *dump != "" {
		f, err := os.Create(*dump)
		if err != nil {
			fmt.Fprintln(stderr, "cachecheck:", err)
			return 2
		}
		defer f.Close()
		cfg.Dump = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := consistency.Run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "cachecheck:", err)
		return 2
	}
	print(stdout, rep, *verbose)
	bad := rep.Result.Violations() || (rep.Herd != nil && !rep.Herd.OK())
	switch {
	case *expect && rep.Result.Violations():
		fmt.Fprintln(stdout, "negative control: the weakened protocol was caught, as it must be")
		return 0
	case *expect:
		fmt.Fprintln(stdout, "negative control FAILED: no violation found, so the checker proves nothing at this size")
		return 1
	case bad:
		return 1
	}
	return 0
}

func print(w io.Writer, rep *consistency.Report, verbose bool) {
	r := rep.Result
	s := rep.Stats
	fmt.Fprintf(w, "  seed=%d clients=%d runtimes=%d keys=%d ttl=%s lock_ttl=%s jitter=%s\n",
		rep.Config.Seed, rep.Config.Clients, rep.Config.Runtimes, rep.Config.Keys, rep.Config.TTL, rep.Config.LockTTL, rep.Config.Jitter)
	if rep.Config.Store == "redis" {
		fmt.Fprintf(w, "  redis: a redis-server of the checker's own, each runtime through a proxy of its own; client retries %s\n", rep.Config.RedisRetries)
	}
	fmt.Fprintf(w, "  history: reads=%d writes=%d failed=%d log_entries=%d run=%s check=%s\n",
		r.Reads, r.Writes, r.Failed, rep.LogEntries, rep.RunTime.Round(time.Millisecond), rep.CheckTime.Round(time.Millisecond))
	fmt.Fprintf(w, "  checks: stale_after_ack=%d excused_stale=%d (max %dms) wrong_answers=%d porcupine=%s on %d operations (%d reads left out as fault-affected, %d as implied by a narrower read) lost_writes=%d impaired_writes=%d\n",
		r.StaleAfterAck, r.Excused, r.MaxStaleness/1e6, r.Wrong, r.Linearizability, r.PorcupineOps, r.Excluded, r.Implied, r.LostWrites, r.Impaired)
	if len(r.StaleByKind) > 0 {
		fmt.Fprint(w, "  stale_after_ack by read:")
		for _, k := range slices.Sorted(maps.Keys(r.StaleByKind)) {
			fmt.Fprintf(w, " %s=%d", k, r.StaleByKind[k])
		}
		fmt.Fprintln(w)
	}
	if rep.Faults > 0 {
		fmt.Fprintf(w, "  faults: %s\n", rep.FaultSummary)
	}
	if n := rep.Near; n != nil {
		fmt.Fprintf(w, "  near: max_staleness=%s near_hits=%d near_stale_within_bound=%d near_max_staleness_ms=%d porcupine_reads_modeled=%d drops=%d losses=%d publishes=%d publish_errors=%d",
			n.MaxStaleness, n.Stats.Hits, r.NearWithinBound, r.NearMaxStaleness/1e6, r.NearModeled, n.Stats.Drops, n.Stats.Losses, n.Publishes, n.PublishErrors)
		if n.Swallowed > 0 {
			fmt.Fprintf(w, " swallowed=%d", n.Swallowed)
		}
		fmt.Fprintln(w)
	}
	if c := rep.CDC; c != nil {
		fmt.Fprintf(w, "  cdc: transactions=%d events=%d keys=%d whole_tables=%d retries=%d reopens=%d position_lost=%d max_lag=%s (consumer's, from the database's commit time)\n",
			c.Transactions, c.Events, c.Keys, c.WholeTables, c.Retries, c.Reopens, c.PositionLost, c.MaxLag.Round(time.Millisecond))
	}
	fmt.Fprintf(w, "  runtime: hits=%d misses=%d fills=%d lease_waits=%d lock_bypasses=%d db_reads=%d db_writes=%d store_errors=%d corrupt_values=%d invalidation_retries=%d invalidations_dropped=%d breaker_opens=%d other_schema=%d index_uncovered=%d\n",
		s.Hits, s.Misses, s.Fills, s.LeaseWaits, s.LockBypasses, s.DBReads, s.DBWrites, s.StoreErrors, s.CorruptValues, s.InvalidationRetries, s.InvalidationsDropped, s.BreakerOpens, s.OtherSchema, s.IndexUncovered)
	if rep.Herd != nil {
		fmt.Fprintln(w, " ", rep.Herd)
	}
	for _, p := range r.Problems {
		fmt.Fprintln(w, "  problem:", p)
	}
	if verbose {
		for _, e := range r.ExcusedExamples {
			fmt.Fprintln(w, "  excused:", e)
		}
	}
	fmt.Fprintln(w, rep.Line())
}
