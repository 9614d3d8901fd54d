package memcached_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/engine"
	"github.com/cachegen/cachegen/runtime/enginetest"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	"github.com/cachegen/cachegen/runtime/memcached"
	cachestore "github.com/cachegen/cachegen/runtime/store"
	"github.com/cachegen/cachegen/runtime/storetest"
)

// server is a connection to the memcached of CACHEGEN_MEMCACHED_ADDR.
type server struct {
	addr    string
	servers *memcache.ServerList
	client  *memcache.Client
	store   *memcached.Store
}

// connect connects to the memcached server, or skips.
func connect(t *testing.T) *server {
	t.Helper()
	addr := testenv.MemcachedAddr(t)
	servers := new(memcache.ServerList)
	if err := servers.SetServers(addr); err != nil {
		t.Fatalf("%s=%s: %v", testenv.MemcachedVar, addr, err)
	}
	client := memcache.NewFromSelector(servers)
	client.MaxIdleConns = 128 // the suite races 50 goroutines on a key
	client.Timeout = 2 * time.Second
	t.Cleanup(func() { client.Close() })
	if err := client.Ping(); err != nil {
		t.Fatalf("memcached at %s (%s): %v", addr, testenv.MemcachedVar, err)
	}
	s, err := memcached.New(client, memcached.Options{Servers: servers})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return &server{addr: addr, servers: servers, client: client, store: s}
}

// prefix returns a key prefix unique to this test run, so that tests on a
// shared server never meet another run's keys.
func prefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "cachegen-memcached-test:" + hex.EncodeToString(b[:]) + ":"
}

// raw returns the bytes of the item under the memcached key mk, and
// whether there is one.
func (s *server) raw(t *testing.T, mk string) ([]byte, bool) {
	t.Helper()
	it, err := s.client.Get(mk)
	if err == memcache.ErrCacheMiss {
		return nil, false
	}
	if err != nil {
		t.Fatalf("get %q: %v", mk, err)
	}
	return it.Value, true
}

// put stores raw bytes under the memcached key mk for a minute, and
// deletes them when the test ends.
func (s *server) put(t *testing.T, mk string, raw []byte) {
	t.Helper()
	t.Cleanup(func() { s.client.Delete(mk) })
	if err := s.client.Set(&memcache.Item{Key: mk, Value: raw, Expiration: 60}); err != nil {
		t.Fatalf("set %q: %v", mk, err)
	}
}

// ttl returns the seconds memcached will keep the item under mk, read
// with the meta command "mg <key> t", or -1 when there is none.
func (s *server) ttl(t *testing.T, mk string) int {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintf(nc, "mg %s t\r\n", mk)
	line, err := bufio.NewReader(nc).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(line, "EN") {
		return -1
	}
	for _, f := range strings.Fields(line)[1:] {
		if strings.HasPrefix(f, "t") {
			n, err := strconv.Atoi(f[1:])
			if err != nil {
				t.Fatalf("mg: %q", line)
			}
			return n
		}
	}
	t.Fatalf("mg: %q", line)
	return 0
}

func TestStoreMemcached(t *testing.T) {
	s := connect(t)
	storetest.Run(t, func(*testing.T) runtime.Store { return s.store })
}

func TestNew(t *testing.T) {
	if _, err := memcached.New(nil, memcached.Options{}); err == nil {
		t.Error("New(nil) succeeded")
	}
	if _, err := memcached.New(memcache.New("127.0.0.1:1"), memcached.Options{}); err != nil {
		t.Errorf("New: %v", err)
	}
}

// TestArguments checks what every method refuses before touching the
// server: the client points at a closed port, so a call that reached it
// would fail otherwise.
func TestArguments(t *testing.T) {
	s, err := memcached.New(memcache.New("127.0.0.1:1"), memcached.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, _, err := s.Lease(ctx, "k", "t", ttl); err == nil || !strings.Contains(err.Error(), "not positive") {
			t.Errorf("Lease with ttl %v: %v", ttl, err)
		}
		if _, err := s.Fill(ctx, "k", "t", cachestore.Entry{Kind: cachestore.CachedNotFound}, ttl); err == nil || !strings.Contains(err.Error(), "not positive") {
			t.Errorf("Fill with ttl %v: %v", ttl, err)
		}
		if err := s.Lock(ctx, "k", ttl); err == nil || !strings.Contains(err.Error(), "not positive") {
			t.Errorf("Lock with ttl %v: %v", ttl, err)
		}
	}
	for _, k := range []cachestore.Kind{cachestore.Absent, cachestore.Leased, cachestore.Locked} {
		if _, err := s.Fill(ctx, "k", "t", cachestore.Entry{Kind: k}, time.Minute); err == nil || !strings.Contains(err.Error(), "want value or not-found") {
			t.Errorf("Fill of kind %v: %v", k, err)
		}
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Get(done, "k"); err != context.Canceled {
		t.Errorf("Get on a done ctx: %v", err)
	}
	if _, _, err := s.Lease(done, "k", "t", time.Minute); err != context.Canceled {
		t.Errorf("Lease on a done ctx: %v", err)
	}
	if _, err := s.Fill(done, "k", "t", cachestore.Entry{Kind: cachestore.CachedNotFound}, time.Minute); err != context.Canceled {
		t.Errorf("Fill on a done ctx: %v", err)
	}
	if err := s.Release(done, "k", "t"); err != context.Canceled {
		t.Errorf("Release on a done ctx: %v", err)
	}
	if err := s.Lock(done, "k", time.Minute); err != context.Canceled {
		t.Errorf("Lock on a done ctx: %v", err)
	}
	if err := s.Unlock(done, "k"); err != context.Canceled {
		t.Errorf("Unlock on a done ctx: %v", err)
	}
	if err := s.Delete(done, "k"); err != context.Canceled {
		t.Errorf("Delete on a done ctx: %v", err)
	}
	if err := s.ScanKeys(done, "k", func(string) error { return nil }); err != context.Canceled {
		t.Errorf("ScanKeys on a done ctx: %v", err)
	}
	if err := s.ScanKeys(ctx, "k", func(string) error { return nil }); err == nil || !strings.Contains(err.Error(), "Options.Servers") {
		t.Errorf("ScanKeys without Options.Servers: %v", err)
	}
	// a server that does not answer is an error, not a miss
	if _, err := s.Get(ctx, "k"); err == nil {
		t.Error("Get on a closed port succeeded")
	}
	if err := s.Lock(ctx, "k", time.Minute); err == nil {
		t.Error("Lock on a closed port succeeded")
	}
}

// deadline parses the deadline out of an item this package wrote.
func deadline(t *testing.T, raw []byte) time.Time {
	t.Helper()
	d, _, ok := bytes.Cut(raw[1:], []byte(":"))
	n, err := strconv.ParseInt(string(d), 10, 64)
	if !ok || err != nil {
		t.Fatalf("no deadline in %q", raw)
	}
	return time.UnixMilli(n)
}

// TestEncoding checks the bytes each state is stored as, their deadlines
// and memcached's own expiration: the contract with other readers of the
// keys (and with later versions of this package).
func TestEncoding(t *testing.T) {
	s := connect(t)
	ctx := t.Context()
	p := prefix()
	for _, k := range []string{"l", "v", "n", "w", "short"} {
		t.Cleanup(func() { s.client.Delete(p + k) })
	}
	check := func(k string, want string, ttl time.Duration, start time.Time) {
		t.Helper()
		raw, ok := s.raw(t, p+k)
		if !ok {
			t.Fatalf("%s: no item", k)
		}
		dl := deadline(t, raw)
		if dl.Before(start.Add(ttl).Truncate(time.Millisecond)) || dl.After(time.Now().Add(ttl+time.Millisecond)) {
			t.Errorf("%s: deadline %v, want %v after the call (at %v)", k, dl, ttl, start)
		}
		if got := string(raw[0:1]) + string(raw[bytes.IndexByte(raw, ':'):]); got != want {
			t.Errorf("%s is stored as %q, want %q with any deadline", k, raw, want)
		}
		// memcached keeps it 3 to 4 seconds past the deadline, in whole
		// seconds, less the whole seconds since the call: a slow machine
		// must not fail the check
		secs := int((ttl + time.Second - 1) / time.Second)
		got := s.ttl(t, p+k)
		low := secs + 2 - int(time.Since(start)/time.Second)
		if got < low || got > secs+3 {
			t.Errorf("%s: memcached keeps it %ds, want %d to %d", k, got, low, secs+3)
		}
	}
	start := time.Now()
	if ok, _, err := s.store.Lease(ctx, p+"l", "tok\x00en", time.Minute); !ok || err != nil {
		t.Fatalf("Lease: %v %v", ok, err)
	}
	check("l", "l:tok\x00en", time.Minute, start)
	for _, k := range []string{"v", "n"} {
		if ok, _, err := s.store.Lease(ctx, p+k, "t", time.Minute); !ok || err != nil {
			t.Fatalf("Lease: %v %v", ok, err)
		}
	}
	start = time.Now()
	if ok, err := s.store.Fill(ctx, p+"v", "t", cachestore.Entry{Kind: cachestore.CachedRow, Value: []byte("\x00row:\xff")}, 10*time.Minute); !ok || err != nil {
		t.Fatalf("Fill: %v %v", ok, err)
	}
	check("v", "v:\x00row:\xff", 10*time.Minute, start)
	start = time.Now()
	if ok, err := s.store.Fill(ctx, p+"n", "t", cachestore.Entry{Kind: cachestore.CachedNotFound}, 30*time.Second); !ok || err != nil {
		t.Fatalf("Fill: %v %v", ok, err)
	}
	check("n", "n:", 30*time.Second, start)
	start = time.Now()
	for range 12 {
		if err := s.store.Lock(ctx, p+"w", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	check("w", "w:12", time.Minute, start)
	// Unlock keeps the deadline, and the expiration follows it
	raw, _ := s.raw(t, p+"w")
	before := deadline(t, raw)
	if err := s.store.Unlock(ctx, p+"w"); err != nil {
		t.Fatal(err)
	}
	raw, _ = s.raw(t, p+"w")
	if after := deadline(t, raw); !after.Equal(before) || string(raw[bytes.IndexByte(raw, ':'):]) != ":11" {
		t.Errorf("after Unlock the lock is %q, deadline %v, want count 11 and deadline %v", raw, after, before)
	}
	// a sub-second TTL: a deadline in milliseconds, memcached's seconds rounded up
	start = time.Now()
	if err := s.store.Lock(ctx, p+"short", 100*time.Millisecond+time.Microsecond); err != nil {
		t.Fatal(err)
	}
	check("short", "w:1", 101*time.Millisecond, start)
}

// TestForeignValues checks how what this package did not write is read,
// and that Lock and Unlock, which the runtime discards such values with,
// clear it.
func TestForeignValues(t *testing.T) {
	s := connect(t)
	ctx := t.Context()
	p := prefix()
	val := func(s string) cachestore.Entry { return cachestore.Entry{Kind: cachestore.CachedRow, Value: []byte(s)} }
	lock := func(n int) cachestore.Entry { return cachestore.Entry{Kind: cachestore.Locked, Locks: n} }
	future := strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)
	cases := []struct {
		raw        string
		read       cachestore.Entry // what Get and a failed Lease report
		afterLock  cachestore.Entry
		afterUnlck cachestore.Entry
	}{
		{"hello", val("hello"), lock(1), cachestore.Entry{}},
		{"", val(""), lock(1), cachestore.Entry{}},
		{"v", val("v"), lock(1), cachestore.Entry{}},
		{"v:x", val("v:x"), lock(1), cachestore.Entry{}},
		{"vabc:x", val("vabc:x"), lock(1), cachestore.Entry{}},
		{"n" + future + ":x", val("n" + future + ":x"), lock(1), cachestore.Entry{}},
		{"w" + future + ":0", val("w" + future + ":0"), lock(1), cachestore.Entry{}},
		{"w" + future + ":abc", val("w" + future + ":abc"), lock(1), cachestore.Entry{}},
		{"w" + future + ":1234567890123456", val("w" + future + ":1234567890123456"), lock(1), cachestore.Entry{}},
		{"w:3", val("w:3"), lock(1), cachestore.Entry{}},
		{"\xff\x00", val("\xff\x00"), lock(1), cachestore.Entry{}},
		// this package's own entries, written by hand
		{"v" + future + ":row", val("row"), lock(1), cachestore.Entry{}},
		{"w" + future + ":007", lock(7), lock(8), lock(6)},
		{"w" + future + ":999999999999999", lock(999999999999999), lock(999999999999999), lock(999999999999998)},
	}
	for i, tc := range cases {
		k := fmt.Sprintf("%s%d", p, i)
		s.put(t, k, []byte(tc.raw))
		if got, err := s.store.Get(ctx, k); err != nil || !storetest.Same(got, tc.read) {
			t.Errorf("%q: Get reports %s, %v, want %s", tc.raw, storetest.Show(got), err, storetest.Show(tc.read))
		}
		ok, cur, err := s.store.Lease(ctx, k, "t", time.Minute)
		if err != nil || ok || !storetest.Same(cur, tc.read) {
			t.Errorf("%q: Lease = %v, %s, %v; want false, %s", tc.raw, ok, storetest.Show(cur), err, storetest.Show(tc.read))
		}
		if ok, err := s.store.Fill(ctx, k, "t", val("x"), time.Minute); ok || err != nil {
			t.Errorf("%q: Fill = %v, %v", tc.raw, ok, err)
		}
		if err := s.store.Release(ctx, k, "t"); err != nil {
			t.Errorf("%q: Release: %v", tc.raw, err)
		}
		if got, _ := s.raw(t, k); string(got) != tc.raw {
			t.Errorf("%q: after a failed Lease, Fill and Release the key holds %q", tc.raw, got)
		}
		if err := s.store.Lock(ctx, k, time.Minute); err != nil {
			t.Fatal(err)
		}
		if got, err := s.store.Get(ctx, k); err != nil || !storetest.Same(got, tc.afterLock) {
			t.Errorf("%q: after Lock the key holds %s, %v, want %s", tc.raw, storetest.Show(got), err, storetest.Show(tc.afterLock))
		}
		// Unlock from the raw value, not from what Lock made of it
		s.put(t, k, []byte(tc.raw))
		if err := s.store.Unlock(ctx, k); err != nil {
			t.Fatal(err)
		}
		if got, err := s.store.Get(ctx, k); err != nil || !storetest.Same(got, tc.afterUnlck) {
			t.Errorf("%q: after Unlock the key holds %s, %v, want %s", tc.raw, storetest.Show(got), err, storetest.Show(tc.afterUnlck))
		}
		if _, held := s.raw(t, k); held != (tc.afterUnlck.Kind != cachestore.Absent) {
			t.Errorf("%q: after Unlock memcached still holds an item: %v", tc.raw, held)
		}
	}
}

// TestPastDeadline: an entry past its deadline is absent to every method,
// though memcached still holds it.
func TestPastDeadline(t *testing.T) {
	s := connect(t)
	ctx := t.Context()
	p := prefix()
	past := strconv.FormatInt(time.Now().Add(-time.Millisecond).UnixMilli(), 10)
	for _, raw := range []string{"v" + past + ":row", "n" + past + ":", "l" + past + ":t", "w" + past + ":3"} {
		t.Run(raw[:1], func(t *testing.T) {
			k := p + raw[:1]
			absent := func(what string) {
				t.Helper()
				if got, err := s.store.Get(ctx, k); err != nil || got.Kind != cachestore.Absent {
					t.Fatalf("%s: Get reports %s, %v", what, storetest.Show(got), err)
				}
			}
			s.put(t, k, []byte(raw))
			absent("past its deadline")
			if ok, err := s.store.Fill(ctx, k, "t", cachestore.Entry{Kind: cachestore.CachedNotFound}, time.Minute); ok || err != nil {
				t.Fatalf("Fill = %v, %v", ok, err)
			}
			if err := s.store.Release(ctx, k, "t"); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.raw(t, k); string(got) != raw {
				t.Fatalf("a failed Fill and Release left %q", got)
			}
			if ok, cur, err := s.store.Lease(ctx, k, "t2", time.Minute); !ok || err != nil {
				t.Fatalf("Lease = %v, %s, %v", ok, storetest.Show(cur), err)
			}
			s.put(t, k, []byte(raw))
			if err := s.store.Lock(ctx, k, time.Minute); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.store.Get(ctx, k); !storetest.Same(got, cachestore.Entry{Kind: cachestore.Locked, Locks: 1}) {
				t.Fatalf("Lock made %s", storetest.Show(got))
			}
			s.put(t, k, []byte(raw))
			if err := s.store.Unlock(ctx, k); err != nil {
				t.Fatal(err)
			}
			if _, held := s.raw(t, k); held {
				t.Fatal("Unlock left the item")
			}
		})
	}
}

// TestUnusualKeys: keys memcached cannot carry as they are work, each on
// an item of its own, and the runtime's keys reach memcached unchanged.
func TestUnusualKeys(t *testing.T) {
	s := connect(t)
	ctx := t.Context()
	p := prefix()
	keys := []string{"", " ", "a b", "a^20b", "^", "^5E", "\x00\r\n", "ünïcødé", p + strings.Repeat("x", 300),
		p + strings.Repeat("x", 301), p + strings.Repeat(" ", 100), strings.Repeat("k", 250), strings.Repeat("k", 251)}
	for i, k := range keys {
		t.Cleanup(func() { s.store.Delete(context.Background(), k) })
		if ok, cur, err := s.store.Lease(ctx, k, "t", time.Minute); !ok || err != nil {
			t.Fatalf("Lease(%q) = %v, %s, %v", k, ok, storetest.Show(cur), err)
		}
		if ok, err := s.store.Fill(ctx, k, "t", cachestore.Entry{Kind: cachestore.CachedRow, Value: []byte{byte(i)}}, time.Minute); !ok || err != nil {
			t.Fatalf("Fill(%q) = %v, %v", k, ok, err)
		}
	}
	for i, k := range keys {
		if got, err := s.store.Get(ctx, k); err != nil || !storetest.Same(got, cachestore.Entry{Kind: cachestore.CachedRow, Value: []byte{byte(i)}}) {
			t.Errorf("Get(%q) = %s, %v", k, storetest.Show(got), err)
		}
	}
	// a plain key is the memcached key itself
	if _, held := s.raw(t, strings.Repeat("k", 250)); !held {
		t.Error("a plain key of 250 bytes is not stored under itself")
	}
}

// recordKeys remembers every key the runtime hands the store.
type recordKeys struct {
	runtime.Store
	keys []string
}

func (r *recordKeys) Get(ctx context.Context, key string) (cachestore.Entry, error) {
	r.keys = append(r.keys, key)
	return r.Store.Get(ctx, key)
}

// TestRuntimeKeysOnServer: the keys a generated repository makes, for
// values with spaces, control bytes, non-ASCII and lengths past
// engine.MaxKeyLen, are each stored under the key itself.
func TestRuntimeKeysOnServer(t *testing.T) {
	s := connect(t)
	ctx := t.Context()
	db, _ := dbtest.OpenSQLite(t)
	enginetest.CreateTables(t, db, "sqlite")
	rec := &recordKeys{Store: s.store}
	p := strings.TrimSuffix(prefix(), ":")
	users, err := model.NewUserRepo(db, rec, runtime.WithPrefix(p))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.store.ScanKeys(context.Background(), p+":", func(k string) error { return s.store.Delete(context.Background(), k) })
	})
	emails := []string{"plain@x.org", "with space@x.org", "tab\tand\nnewline", "ünïcødé-键-🔑", "a,b!c%d^e#f:g=h",
		strings.Repeat("long ", 50), strings.Repeat("\x01", 300)}
	for i, email := range emails {
		u := &model.User{Email: email, OrgID: 1, Handle: fmt.Sprint("h ", i, " ", email), Name: "n"}
		if err := users.Save(ctx, u); err != nil {
			t.Fatal(err)
		}
		for range 2 { // a fill, then a hit
			if got, err := users.GetByEmail(ctx, email); err != nil || got.ID != u.ID {
				t.Fatalf("GetByEmail(%q) = %+v, %v", email, got, err)
			}
			if got, err := users.GetByOrgIDHandle(ctx, 1, u.Handle); err != nil || got.ID != u.ID {
				t.Fatalf("GetByOrgIDHandle(%q) = %+v, %v", u.Handle, got, err)
			}
		}
	}
	if _, err := users.All(ctx); err != nil {
		t.Fatal(err)
	}
	if hits := users.Stats().Hits; hits != uint64(2*len(emails)) {
		t.Errorf("%d hits, want %d", hits, 2*len(emails))
	}
	slices.Sort(rec.keys)
	rec.keys = slices.Compact(rec.keys)
	if len(rec.keys) < 2*len(emails)+1 {
		t.Fatalf("only %d keys recorded", len(rec.keys))
	}
	for _, k := range rec.keys {
		if len(k) > engine.MaxKeyLen {
			t.Errorf("the runtime made a key of %d bytes: %q", len(k), k)
		}
		if _, held := s.raw(t, k); !held {
			t.Errorf("runtime key %q is not stored under itself", k)
		}
	}
}

// TestScanKeys: every key under the prefix, escaped ones included, and
// none of another prefix.
func TestScanKeys(t *testing.T) {
	s := connect(t)
	ctx := t.Context()
	p := prefix()
	want := []string{p + "a", p + "b:c=d", p + "with space", p + "ünï", p + "^"}
	others := []string{prefix() + "a", "x" + p + "a", p[:len(p)-1]}
	for _, k := range append(slices.Clone(want), others...) {
		t.Cleanup(func() { s.store.Delete(context.Background(), k) })
		if err := s.store.Lock(ctx, k, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	if err := s.store.ScanKeys(ctx, p, func(k string) error { got = append(got, k); return nil }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("ScanKeys(%q) = %q, want %q", p, got, want)
	}
	// a deleted key is not listed
	if err := s.store.Unlock(ctx, p+"a"); err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	if err := s.store.ScanKeys(ctx, p, func(k string) error { got = append(got, k); return nil }); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(got, p+"a") || len(got) != len(want)-1 {
		t.Errorf("after Unlock, ScanKeys(%q) = %q", p, got)
	}
	// fn's error stops the scan
	stop := fmt.Errorf("stop")
	if err := s.store.ScanKeys(ctx, p, func(string) error { return stop }); err != stop {
		t.Errorf("ScanKeys returned %v, want fn's error", err)
	}
	// concurrent scans wait for each other's crawler
	errs := make(chan error, 4)
	for range cap(errs) {
		go func() { errs <- s.store.ScanKeys(ctx, p, func(string) error { return nil }) }()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Errorf("concurrent ScanKeys: %v", err)
		}
	}
}

// TestLockHeldUntilUnlock: writers lock and unlock one key at once, and
// each sees the key locked from its Lock to its Unlock. An Unlock whose
// delete is not conditional on what it read would drop a lock another
// writer added in between; so would a Lock that overwrote blindly.
func TestLockHeldUntilUnlock(t *testing.T) {
	s := connect(t)
	k := prefix() + "hot"
	t.Cleanup(func() { s.store.Delete(context.Background(), k) })
	const writers, rounds = 50, 40
	var wg sync.WaitGroup
	var lost atomic.Int64
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := context.Background()
			for range rounds {
				if err := s.store.Lock(ctx, k, time.Minute); err != nil {
					t.Errorf("Lock: %v", err)
					return
				}
				if got, err := s.store.Get(ctx, k); err != nil || got.Kind != cachestore.Locked {
					lost.Add(1)
				}
				if err := s.store.Unlock(ctx, k); err != nil {
					t.Errorf("Unlock: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := lost.Load(); n > 0 {
		t.Errorf("%d times of %d a writer found the key unlocked before its own Unlock", n, writers*rounds)
	}
	if got, err := s.store.Get(context.Background(), k); err != nil || got.Kind != cachestore.Absent {
		t.Errorf("after every Unlock the key holds %s, %v", storetest.Show(got), err)
	}
}

// TestReleaseVersusLock: a reader's Release races a writer's Lock on the
// reader's lease. Either order leaves the key locked once: a Release that
// deleted without checking what the key held since it read it would drop
// the lock.
func TestReleaseVersusLock(t *testing.T) {
	s := connect(t)
	p := prefix()
	ctx := context.Background()
	for i := range 200 {
		k := fmt.Sprint(p, i)
		t.Cleanup(func() { s.store.Delete(context.Background(), k) })
		if ok, _, err := s.store.Lease(ctx, k, "t", time.Minute); !ok || err != nil {
			t.Fatalf("Lease: %v %v", ok, err)
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			if err := s.store.Release(ctx, k, "t"); err != nil {
				t.Errorf("Release: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			<-start
			if err := s.store.Lock(ctx, k, time.Minute); err != nil {
				t.Errorf("Lock: %v", err)
			}
		}()
		close(start)
		wg.Wait()
		if got, err := s.store.Get(ctx, k); err != nil || !storetest.Same(got, cachestore.Entry{Kind: cachestore.Locked, Locks: 1}) {
			t.Fatalf("race %d: after Release and Lock the key holds %s, %v", i, storetest.Show(got), err)
		}
	}
}

// TestTooLarge: a value above the server's item size is an error, and the
// lease stays as it was.
func TestTooLarge(t *testing.T) {
	s := connect(t)
	ctx := t.Context()
	k := prefix() + "big"
	t.Cleanup(func() { s.store.Delete(context.Background(), k) })
	if ok, _, err := s.store.Lease(ctx, k, "t", time.Minute); !ok || err != nil {
		t.Fatal(ok, err)
	}
	big := make([]byte, 2<<20) // over memcached's default 1 MiB
	if ok, err := s.store.Fill(ctx, k, "t", cachestore.Entry{Kind: cachestore.CachedRow, Value: big}, time.Minute); ok || err == nil {
		t.Fatalf("Fill of 2 MiB = %v, %v; want an error", ok, err)
	}
	if got, err := s.store.Get(ctx, k); err != nil || !storetest.Same(got, cachestore.Entry{Kind: cachestore.Leased, Token: "t"}) {
		t.Fatalf("after the failed Fill the key holds %s, %v", storetest.Show(got), err)
	}
}
