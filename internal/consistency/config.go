package consistency

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os/exec"
	"strings"
	"time"

	"github.com/cachegen/cachegen/internal/dbtest"
)

// Config says what to run.
type Config struct {
	DB       string // "sqlite", a postgres:// URL or a mysql:// URL
	Store    string // "memory" or "redis" (a redis-server of the checker's own)
	RedisBin string // the redis-server to start; default: from PATH
	// RedisRetries is how the runtimes' go-redis clients retry a failed
	// command: "default" (go-redis's 3 retries, which hide short faults
	// and may run a command twice), "none", or "mixed" (the default: even
	// runtimes retry, odd ones do not, as separately configured servers
	// would).
	RedisRetries string

	Ops      int // operations the clients issue, all together
	Clients  int // concurrent clients
	Runtimes int // repository instances sharing the store, as separate app servers
	Keys     int // primary keys in the hot set

	Faults       bool // inject faults
	Undetectable bool // corrupt values in ways no header catches too (bit flips, another key's value)
	// RestartFromSnapshot makes the Redis server's restarts come back from
	// a snapshot (SAVE) taken a while before, with the values of every
	// write acknowledged since (see snapshot.go).
	RestartFromSnapshot bool
	// Failover gives the Redis server a replica, and fails over to it now
	// and then after promoting it early, so that it missed the releases of
	// writes acknowledged meanwhile (see failover.go).
	Failover bool
	// RedisWait is the Redis store's safe mode: each write's lock and
	// release phases wait for this many replicas (redis.Options.WaitReplicas,
	// with RedisWaitTimeout), so that acknowledged invalidations survive a
	// failover. 0: off, the default mode.
	RedisWait int
	Weak      bool // the negative control: plain get/set/delete, no lease, no lock
	Herd      bool // measure the thundering herd first

	// WeakBatch is the batch reads' negative control: WeakBatchFill or
	// WeakBatchSnapshot weakens the batch calls alone ("": none).
	WeakBatch string
	// TwoBuilds runs half the runtimes (the odd ones) on the second build
	// of the model, checkmodel/v2, which maps the same table with a column
	// more: a rolling deploy that adds a column, in one history.
	TwoBuilds bool
	// NoBoard is the negative control of TwoBuilds: the runtimes announce
	// nothing on the build board, so the first build's writes leave the
	// second build's version index (which the first does not declare) as
	// it was.
	NoBoard bool

	// Near puts a near cache (runtime.NearCache) in front of the store in
	// every runtime, with this MaxStaleness, on a Redis pub/sub bus over the
	// runtime's own client and proxy (0: none; -store redis only).
	Near time.Duration
	// NearLossy is the near cache's negative control: the buses swallow
	// every Publish, reporting it delivered.
	NearLossy bool

	// CDC adds out-of-band writers, which change rows with raw SQL and
	// never invalidate, and runs a cdc.Consumer on the database's change
	// stream that does (see cdc.go). It needs a postgres:// server with
	// wal_level=logical or a mysql:// one with a ROW binlog of full images.
	CDC bool
	// CDCOff is CDC's negative control: the out-of-band writers, no
	// consumer.
	CDCOff bool
	// CDCAckFirst is the consumer faults' negative control: a consumer that
	// acknowledges each transaction before it drops its keys, and dies
	// between the two for three in four (see ackFirst).
	CDCAckFirst bool
	// cdcFaultOrder, when set (tests), makes the consumer faults these
	// kinds in turn rather than at random.
	cdcFaultOrder []string
	cdcFaultGap   time.Duration // and this far apart (0: 1s to 3s)
	// CDCBound is how long after an out-of-band commit a read may still
	// return what it replaced (default 1s); later is stale after ack.
	CDCBound time.Duration

	Seed    uint64
	TTL     time.Duration // value and not-found TTL: the bound on by-design staleness
	LockTTL time.Duration
	Jitter  time.Duration // latency added after some database reads

	Progress io.Writer // progress notes; nil: none
	Dump     io.Writer // the history and the log, one line each; nil: none
}

func (c *Config) defaults() {
	if c.Store == "" {
		c.Store = "memory"
	}
	if c.RedisRetries == "" {
		c.RedisRetries = "mixed"
	}
	if c.Ops <= 0 {
		c.Ops = 20000
	}
	if c.Clients <= 0 {
		c.Clients = 16
	}
	if c.Runtimes <= 0 {
		c.Runtimes = 4
	}
	if c.Keys <= 0 {
		c.Keys = 12
	}
	if c.TTL <= 0 {
		c.TTL = 5 * time.Second
	}
	if c.LockTTL <= 0 {
		c.LockTTL = 2 * time.Second
	}
	if c.Seed == 0 {
		c.Seed = rand.Uint64()
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
	if c.CDCBound == 0 {
		c.CDCBound = time.Second
	}
}

// redisWaitTimeout bounds the safe mode's WAIT: well inside the runtime's
// phase timeout (50ms), so a phase fails on a replica's silence, not on the
// phase's deadline.
const redisWaitTimeout = 20 * time.Millisecond

// Validate reports what is wrong with cfg, as Run would, without running
// anything: a command checks its flags with it before it creates a file.
func Validate(cfg Config) error {
	cfg.defaults()
	return cfg.validate()
}

// validate checks every flag and every combination of them, before the run
// opens a database or starts a server: a bad command line costs nothing.
func (c *Config) validate() error {
	if _, err := checkDBSpec(c.DB); err != nil {
		return err
	}
	switch c.Store {
	case "memory", "redis":
	default:
		return fmt.Errorf("-store %q: want memory or redis", c.Store)
	}
	switch c.RedisRetries {
	case "mixed", "default", "none":
	default:
		return fmt.Errorf("-redis-retries %q: want mixed, default or none", c.RedisRetries)
	}
	if err := checkWeakBatch(c.WeakBatch); err != nil {
		return err
	}
	switch {
	case c.Near < 0:
		return fmt.Errorf("-near %s: want a positive MaxStaleness, or 0 for no near cache", c.Near)
	case c.Near > 0 && c.Store != "redis":
		return fmt.Errorf("-near needs -store redis: the near caches' bus is Redis pub/sub (got -store %s)", c.Store)
	case c.NearLossy && c.Near == 0:
		return errors.New("-near-lossy needs -near")
	case (c.RestartFromSnapshot || c.Failover) && (c.Store != "redis" || !c.Faults):
		return errors.New("-restart-from-snapshot and -failover need -store redis and -faults")
	case c.RedisWait < 0 || c.RedisWait > 0 && !c.Failover:
		return fmt.Errorf("-redis-wait %d: want 0, or a number of replicas with -failover (the only run whose server has one)", c.RedisWait)
	case c.Jitter < 0:
		return fmt.Errorf("-jitter %s: want 0 (none) or more", c.Jitter)
	}
	if err := c.validateCDC(); err != nil {
		return err
	}
	if c.Store == "redis" {
		if _, err := exec.LookPath(redisBin(c.RedisBin)); err != nil {
			return fmt.Errorf("-store redis needs a redis-server of the checker's own: %w", err)
		}
	}
	return nil
}

// backend names the run in its verdict line: the database and the store,
// then what sets the run apart.
func (c *Config) backend(db string) string {
	b := db + "+" + c.Store
	if c.RestartFromSnapshot {
		b += "+snapshot"
	}
	if c.Failover {
		b += "+failover"
	}
	if c.RedisWait > 0 {
		b += "+wait"
	}
	if c.Weak {
		b += "(weak)"
	}
	if c.WeakBatch != "" {
		b += "(weak-batch=" + c.WeakBatch + ")"
	}
	if c.TwoBuilds {
		b += "+two-builds"
	}
	if c.CDC {
		b += "+cdc"
		if c.CDCOff {
			b += "(off)"
		}
		if c.CDCAckFirst {
			b += "(ack-first)"
		}
	}
	if c.Near > 0 {
		b += "+near"
		if c.NearLossy {
			b += "(lossy)"
		}
	}
	return b
}

// validateCDC checks the -cdc flags without opening anything: the server's
// change stream is checked by checkCDCServer, before the run starts.
func (c *Config) validateCDC() error {
	if !c.CDC {
		if c.CDCOff {
			return errors.New("-cdc-off needs -cdc")
		}
		if c.CDCAckFirst {
			return errors.New("-cdc-ack-first needs -cdc")
		}
		return nil
	}
	if c.CDCOff && c.CDCAckFirst {
		return errors.New("-cdc-ack-first needs a consumer: not with -cdc-off")
	}
	dialect, _ := checkDBSpec(c.DB)
	switch {
	case dialect != "postgres" && dialect != "mysql":
		return fmt.Errorf("-cdc needs -db postgres://… (wal_level=logical) or mysql://… (a ROW binlog), got %q: SQLite has no change stream across processes", c.DB)
	case c.CDCBound < 0:
		return fmt.Errorf("-cdc-bound %s: want a positive bound", c.CDCBound)
	}
	return nil
}

// checkCDCServer checks that the server of spec writes the change stream
// the consumer reads: PostgreSQL with wal_level=logical, MariaDB/MySQL with
// log_bin on, binlog_format=ROW and binlog_row_image=FULL. Run calls it
// before it opens or starts anything.
func checkCDCServer(ctx context.Context, spec string) error {
	dialect, err := checkDBSpec(spec)
	if err != nil {
		return err
	}
	driver, dsn := "pgx", spec
	if dialect == "mysql" {
		if dsn, err = dbtest.MySQLDSN(spec); err != nil {
			return fmt.Errorf("-db %q: %w", spec, err)
		}
		driver = "mysql"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return fmt.Errorf("-cdc: %w", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	want := map[string]string{"wal_level": "logical"}
	if dialect == "mysql" {
		want = map[string]string{"log_bin": "ON", "binlog_format": "ROW", "binlog_row_image": "FULL"}
	}
	for _, name := range []string{"wal_level", "log_bin", "binlog_format", "binlog_row_image"} {
		w, ok := want[name]
		if !ok {
			continue
		}
		var got string
		if dialect == "mysql" {
			err = db.QueryRowContext(ctx, "SELECT @@GLOBAL."+name).Scan(&got)
		} else {
			err = db.QueryRowContext(ctx, "SHOW "+name).Scan(&got)
		}
		if err != nil {
			return fmt.Errorf("-cdc: read %s on the -db server: %w", name, err)
		}
		if got == "1" && w == "ON" {
			got = "ON"
		}
		if !strings.EqualFold(got, w) {
			return fmt.Errorf("-cdc: the -db server has %s=%s, the change stream needs %s=%s (scripts/pg-logical.sh, scripts/mariadb-binlog.sh start servers that have it)", name, got, name, w)
		}
	}
	return nil
}
