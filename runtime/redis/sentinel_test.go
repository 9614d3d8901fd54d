package redis_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	goredis "github.com/redis/go-redis/v9"

	"github.com/cachegen/cachegen/internal/checkmodel"
	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/runtime"
)

// TestSentinelFailover runs a generated repository on the store through
// go-redis's failover client against the project's Sentinel deployment
// (scripts/redis-sentinel.sh), and fails the master over with SENTINEL
// FAILOVER. After the switch every read, by primary key and by unique key,
// single and batch, answers what the database holds: a row saved after it
// was cached, a row inserted after its absence was cached, and a row
// changed out of band (plain SQL, no invalidation) while its old value sat
// in the cache. The old value was replicated to the new master as it was,
// tagged with the old master's run_id: only the fence keeps it from being
// served. A write made after the failover is seen at once.
//
// It fails over from whichever node is master and leaves the roles swapped,
// the deployment whole: the next run fails over back.
func TestSentinelFailover(t *testing.T) {
	addrs, name := testenv.RedisSentinel(t)
	ctx := context.Background()
	sentinel := goredis.NewSentinelClient(&goredis.Options{Addr: addrs[0]})
	t.Cleanup(func() { sentinel.Close() })
	old := replicatedMaster(ctx, t, addrs, name)

	c := goredis.NewFailoverClient(&goredis.FailoverOptions{MasterName: name, SentinelAddrs: addrs})
	t.Cleanup(func() { c.Close() })
	db, _ := dbtest.OpenSQLite(t)
	db.MustExec(checkmodel.SQLiteSchema)
	for id := 1; id <= 4; id++ {
		db.MustExec(`INSERT INTO accounts (id, email, org, handle, version) VALUES (?, ?, 1, ?, 1)`,
			id, fmt.Sprintf("a%d@x", id), fmt.Sprintf("h%d", id))
	}
	repo, err := checkmodel.NewAccountRepo(db, newStore(t, c),
		runtime.WithTTL(time.Hour), runtime.WithPrefix(dbtest.UniqueName()))
	if err != nil {
		t.Fatal(err)
	}
	p := probes{ids: []int64{1, 2, 3, 4, 5}}
	for id := 1; id <= 5; id++ {
		p.emails = append(p.emails, fmt.Sprintf("a%d@x", id))
		p.handles = append(p.handles, fmt.Sprintf("h%d", id))
	}

	// Everything cached, row 5's absence included: the second pass is
	// answered by the store alone.
	p.check(ctx, t, repo, db, "filling the cache")
	before := repo.Stats()
	p.check(ctx, t, repo, db, "reading the cache")
	if st := repo.Stats(); st.Misses != before.Misses {
		t.Fatalf("the second pass missed the cache %d times: %+v", st.Misses-before.Misses, st)
	}

	// Written through the repository after being cached: row 1 updated,
	// row 5 inserted.
	for _, a := range []checkmodel.Account{
		{ID: 1, Email: "a1@x", Org: 1, Handle: "h1", Version: 2},
		{ID: 5, Email: "a5@x", Org: 1, Handle: "h5", Version: 2},
	} {
		if err := repo.Save(ctx, &a); err != nil {
			t.Fatal(err)
		}
	}
	// Changed out of band: the cache still holds version 1.
	db.MustExec(`UPDATE accounts SET version = 2 WHERE id = 2`)
	if a, err := repo.GetByID(ctx, 2); err != nil || a.Version != 1 {
		t.Fatalf("before the failover, row 2 changed out of band read %+v, %v; want the cached version 1", a, err)
	}

	// The replica holds everything the master does: what is tested is the
	// fence, not a replication gap.
	m := goredis.NewClient(&goredis.Options{Addr: old})
	t.Cleanup(func() { m.Close() })
	if n, err := m.Wait(ctx, 1, 10*time.Second).Result(); err != nil || n < 1 {
		t.Fatalf("WAIT for the replica of %s: %d, %v", old, n, err)
	}

	now := failover(ctx, t, sentinel, m, c, name, old)
	t.Logf("failed over from %s to %s", old, now)
	p.check(ctx, t, repo, db, "after the failover")

	// A write after the failover, moving row 3's unique keys: seen at once.
	if err := repo.Save(ctx, &checkmodel.Account{ID: 3, Email: "b3@x", Org: 1, Handle: "k3", Version: 3}); err != nil {
		t.Fatal(err)
	}
	p.emails = append(p.emails, "b3@x")
	p.handles = append(p.handles, "k3")
	p.check(ctx, t, repo, db, "after a write after the failover")
}

// probes are the keys a check reads, by every path.
type probes struct {
	ids     []int64
	emails  []string
	handles []string // with org 1
}

// check reads each probe by GetByID, GetByEmail, GetByOrgHandle, GetByIDs
// and GetByEmails, and compares each answer with the database's.
func (p probes) check(ctx context.Context, t *testing.T, repo *checkmodel.AccountRepo, db *sqlx.DB, when string) {
	t.Helper()
	oracle := func(where string, arg ...any) *checkmodel.Account {
		var a checkmodel.Account
		err := db.Get(&a, `SELECT id, email, org, handle, version FROM accounts WHERE `+where, arg...)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return &a
	}
	compare := func(read string, got *checkmodel.Account, err error, want *checkmodel.Account) {
		t.Helper()
		if want == nil && errors.Is(err, runtime.ErrNotFound) {
			return
		}
		if err != nil {
			t.Errorf("%s: %s: %v", when, read, err)
			return
		}
		if (got == nil) != (want == nil) || got != nil && *got != *want {
			t.Errorf("%s: %s = %s, the database holds %s", when, read, show(got), show(want))
		}
	}
	for _, id := range p.ids {
		a, err := repo.GetByID(ctx, id)
		compare(fmt.Sprintf("GetByID(%d)", id), a, err, oracle(`id = ?`, id))
	}
	for _, e := range p.emails {
		a, err := repo.GetByEmail(ctx, e)
		compare(fmt.Sprintf("GetByEmail(%q)", e), a, err, oracle(`email = ?`, e))
	}
	for _, h := range p.handles {
		a, err := repo.GetByOrgHandle(ctx, 1, h)
		compare(fmt.Sprintf("GetByOrgHandle(1, %q)", h), a, err, oracle(`org = 1 AND handle = ?`, h))
	}
	as, err := repo.GetByIDs(ctx, p.ids)
	if err != nil {
		t.Fatalf("%s: GetByIDs: %v", when, err)
	}
	for i, id := range p.ids {
		compare(fmt.Sprintf("GetByIDs(...)[%d] (id %d)", i, id), as[i], nil, oracle(`id = ?`, id))
	}
	as, err = repo.GetByEmails(ctx, p.emails)
	if err != nil {
		t.Fatalf("%s: GetByEmails: %v", when, err)
	}
	for i, e := range p.emails {
		compare(fmt.Sprintf("GetByEmails(...)[%d] (%q)", i, e), as[i], nil, oracle(`email = ?`, e))
	}
}

func show(a *checkmodel.Account) string {
	if a == nil {
		return "no row"
	}
	return fmt.Sprintf("%+v", *a)
}

// switchWait bounds each wait on the deployment: a Sentinel failover takes
// a few seconds (down-after 1 s, the old master reconfigured about 8 s
// after the switch).
const switchWait = 60 * time.Second

// poll calls f until it returns nil, at most switchWait, and fails the
// test with f's last error.
func poll(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(switchWait)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v: %v", what, switchWait, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// replicatedMaster returns the master's address once it has a replica in
// sync and every Sentinel has seen the replica as one, replicating from
// that master. A previous run's failover may still be settling: a Sentinel
// that last saw the replica as a master (before the old master was
// reconfigured) turns it back into a replica when it is promoted, and the
// failover aborts.
func replicatedMaster(ctx context.Context, t *testing.T, addrs []string, name string) string {
	t.Helper()
	var addr string
	poll(t, "every Sentinel agrees on the master and its replica, in sync", func() error {
		for _, sa := range addrs {
			s := goredis.NewSentinelClient(&goredis.Options{Addr: sa})
			defer s.Close()
			a, err := s.GetMasterAddrByName(ctx, name).Result()
			if err != nil {
				return fmt.Errorf("Sentinel %s: %w", sa, err)
			}
			m := net.JoinHostPort(a[0], a[1])
			if addr != "" && m != addr {
				return fmt.Errorf("Sentinel %s names %s, another %s", sa, m, addr)
			}
			addr = m
			rs, err := s.Replicas(ctx, name).Result()
			if err != nil {
				return fmt.Errorf("Sentinel %s: %w", sa, err)
			}
			if len(rs) == 0 {
				return fmt.Errorf("Sentinel %s knows no replica", sa)
			}
			for _, r := range rs {
				if r["role-reported"] != "slave" || r["master-link-status"] != "ok" ||
					net.JoinHostPort(r["master-host"], r["master-port"]) != addr || strings.Contains(r["flags"], "down") {
					return fmt.Errorf("Sentinel %s sees replica %s as %v", sa, r["name"], r)
				}
			}
		}
		m := goredis.NewClient(&goredis.Options{Addr: addr})
		defer m.Close()
		info, err := m.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "role:master") || !strings.Contains(info, "state=online") {
			return fmt.Errorf("%s: %s", addr, info)
		}
		return nil
	})
	return addr
}

// failover runs SENTINEL FAILOVER and waits until the Sentinels name a new
// master, the old one (m) replicates from it (Sentinel kills the old
// master's clients as it reconfigures it), and c's connections reach the
// new one. It returns the new master's address.
func failover(ctx context.Context, t *testing.T, sentinel *goredis.SentinelClient, m, c *goredis.Client, name, old string) string {
	t.Helper()
	poll(t, "SENTINEL FAILOVER", func() error {
		err := sentinel.Failover(ctx, name).Err()
		if err != nil && !strings.Contains(err.Error(), "NOGOODSLAVE") && !strings.Contains(err.Error(), "INPROG") {
			t.Fatalf("SENTINEL FAILOVER %s: %v", name, err)
		}
		return err
	})
	var now string
	poll(t, "the Sentinels name a new master", func() error {
		a, err := sentinel.GetMasterAddrByName(ctx, name).Result()
		if err != nil {
			return err
		}
		if now = net.JoinHostPort(a[0], a[1]); now == old {
			return fmt.Errorf("still %s", old)
		}
		return nil
	})
	_, port, _ := net.SplitHostPort(now)
	poll(t, "the old master replicates from the new one", func() error {
		info, err := m.Info(ctx, "replication").Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "role:slave") || !strings.Contains(info, "master_port:"+port) ||
			!strings.Contains(info, "master_link_status:up") {
			return fmt.Errorf("%s: %s", old, info)
		}
		return nil
	})
	poll(t, "the failover client reaches the new master", func() error {
		info, err := c.Info(ctx, "server").Result()
		if err != nil {
			return err
		}
		if !strings.Contains(info, "tcp_port:"+port+"\r\n") {
			return fmt.Errorf("the failover client still reaches another node than %s", now)
		}
		return nil
	})
	return now
}
