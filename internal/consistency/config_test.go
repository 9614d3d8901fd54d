package consistency

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestBadConfigStartsNothing: every bad flag and every bad combination of
// flags is refused before the run opens a database or starts a server.
// The database is a listener that counts connections, the redis-server a
// script that leaves a mark when it is run, and TMPDIR, where SQLite files
// and the servers' directories go, must stay empty.
func TestBadConfigStartsNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown store", Config{Store: "disk"}, `-store "disk"`},
		{"unknown retries", Config{Store: "redis", RedisRetries: "sometimes"}, `-redis-retries "sometimes"`},
		{"unknown database", Config{DB: "oracle://x", Store: "redis"}, `-db "oracle://x": want sqlite`},
		{"bad mysql DSN", Config{DB: "root@tcp(127.0.0.1:3306", Store: "redis"}, `-db "root@tcp(127.0.0.1:3306": invalid DSN`},
		{"bad postgres URL", Config{DB: "postgres://h:port/db", Store: "redis"}, `-db "postgres://h:port/db": parse`},
		{"unknown weak batch", Config{Store: "redis", WeakBatch: "all"}, `-weak-batch "all"`},
		{"negative near", Config{Store: "redis", Near: -time.Second}, "-near -1s: want a positive MaxStaleness"},
		{"near without redis", Config{Store: "memory", Near: time.Second}, "-near needs -store redis"},
		{"lossy without near", Config{Store: "redis", NearLossy: true}, "-near-lossy needs -near"},
		{"failover on memory", Config{Store: "memory", Faults: true, Failover: true}, "-failover need -store redis and -faults"},
		{"snapshot without faults", Config{Store: "redis", RestartFromSnapshot: true}, "-failover need -store redis and -faults"},
		{"wait without failover", Config{Store: "redis", Faults: true, RedisWait: 1}, "-redis-wait 1: want 0, or a number of replicas with -failover"},
		{"negative wait", Config{Store: "redis", Faults: true, Failover: true, RedisWait: -1}, "-redis-wait -1"},
		{"negative jitter", Config{Store: "redis", Jitter: -time.Millisecond}, "-jitter -1ms"},
		{"no redis-server", Config{Store: "redis", RedisBin: "no-such-redis-server"}, "-store redis needs a redis-server"},
		{"cdc on sqlite", Config{DB: "sqlite", Store: "redis", CDC: true}, "-cdc needs -db postgres://… (wal_level=logical) or mysql://…"},
		{"cdc-off without cdc", Config{Store: "redis", CDCOff: true}, "-cdc-off needs -cdc"},
		{"cdc-ack-first without cdc", Config{Store: "redis", CDCAckFirst: true}, "-cdc-ack-first needs -cdc"},
		{"cdc-ack-first with cdc-off", Config{Store: "redis", CDC: true, CDCOff: true, CDCAckFirst: true}, "-cdc-ack-first needs a consumer"},
		{"negative cdc bound", Config{Store: "redis", CDC: true, CDCBound: -time.Second}, "-cdc-bound -1s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin, marker := fakeRedisServer(t)
			tmp := t.TempDir()
			t.Setenv("TMPDIR", tmp)
			db := &fakeDatabase{}
			db.listen(t)
			cfg := tc.cfg
			if cfg.DB == "" {
				cfg.DB = db.url()
			}
			if cfg.RedisBin == "" {
				cfg.RedisBin = bin
			}
			rep, err := Run(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run: %v, %v; want an error saying %q", rep, err, tc.want)
			}
			if _, statErr := os.Stat(marker); !errors.Is(statErr, os.ErrNotExist) {
				t.Fatalf("the redis-server was started before the error %q", err)
			}
			if left, _ := os.ReadDir(tmp); len(left) > 0 {
				t.Fatalf("%s left in TMPDIR before the error: a database or a server was set up", left[0].Name())
			}
			if n := db.conns.Load(); n > 0 {
				t.Fatalf("%d connections to the database before the error %q", n, err)
			}
		})
	}

	// The control: the checks above can see a start. A database made and a
	// server started leave what they look for.
	bin, marker := fakeRedisServer(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var r rig
	if _, err := r.database(context.Background(), "sqlite", false); err != nil {
		t.Fatal(err)
	}
	if left, _ := os.ReadDir(tmp); len(left) == 0 {
		t.Error("opening the SQLite database left nothing in TMPDIR")
	}
	r.close()
	db := &fakeDatabase{}
	db.listen(t)
	if _, err := r.database(context.Background(), db.url(), false); err == nil || db.conns.Load() == 0 {
		t.Errorf("opening the fake database: %v after %d connections; want an error after one or more", err, db.conns.Load())
	}
	r.close()
	if _, err := exec.LookPath("redis-server"); err == nil {
		s, err := StartRedis(bin)
		if err != nil {
			t.Fatal(err)
		}
		s.Stop()
		if _, err := os.Stat(marker); err != nil {
			t.Errorf("starting the fake redis-server left no mark: %v", err)
		}
	}
}

// fakeDatabase is a PostgreSQL server that counts the connections it is
// offered, and answers none.
type fakeDatabase struct {
	ln    net.Listener
	conns atomic.Int64
}

func (d *fakeDatabase) listen(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	d.ln = ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d.conns.Add(1)
			c.Close()
		}
	}()
}

func (d *fakeDatabase) url() string {
	return "postgres://nobody@" + d.ln.Addr().String() + "/none?sslmode=disable"
}

// fakeRedisServer writes a redis-server that marks a file when it runs,
// then runs the real one (when there is one, else fails).
func fakeRedisServer(t *testing.T) (bin, marker string) {
	dir := t.TempDir()
	bin, marker = filepath.Join(dir, "redis-server"), filepath.Join(dir, "started")
	script := "#!/bin/sh\ntouch '" + marker + "'\nexec redis-server \"$@\"\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, marker
}

// TestBackendNamesTheRun: the verdict line's backend names what sets the
// run apart, in a fixed order.
func TestBackendNamesTheRun(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Store: "memory"}, "sqlite+memory"},
		{Config{Store: "redis", Weak: true}, "sqlite+redis(weak)"},
		{Config{Store: "redis", CDC: true}, "sqlite+redis+cdc"},
		{Config{Store: "redis", CDC: true, CDCOff: true}, "sqlite+redis+cdc(off)"},
		{Config{Store: "redis", RestartFromSnapshot: true, Failover: true, RedisWait: 1, WeakBatch: "fill", TwoBuilds: true, Near: time.Second, NearLossy: true},
			"sqlite+redis+snapshot+failover+wait(weak-batch=fill)+two-builds+near(lossy)"},
	} {
		if got := tc.cfg.backend("sqlite"); got != tc.want {
			t.Errorf("%+v: backend %q, want %q", tc.cfg, got, tc.want)
		}
	}
}
