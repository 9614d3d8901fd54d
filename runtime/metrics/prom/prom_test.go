package prom_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/faultstore"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/enginetest"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	"github.com/cachegen/cachegen/runtime/memory"
	"github.com/cachegen/cachegen/runtime/metrics/prom"
	"github.com/cachegen/cachegen/runtime/observe"
	cachestore "github.com/cachegen/cachegen/runtime/store"
)

// series gathers g into name{label="value",...} → value, labels sorted;
// a histogram gives its _count and _sum.
func series(t *testing.T, g prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			key := seriesKey(mf.GetName(), m.GetLabel())
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[seriesKey(mf.GetName()+"_count", m.GetLabel())] = float64(m.GetHistogram().GetSampleCount())
				out[seriesKey(mf.GetName()+"_sum", m.GetLabel())] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

func seriesKey(name string, labels []*dto.LabelPair) string {
	var parts []string
	for _, l := range labels {
		parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	sort.Strings(parts)
	return name + "{" + strings.Join(parts, ",") + "}"
}

// expect compares the listed series and reports every difference.
func expect(t *testing.T, got map[string]float64, want map[string]float64) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if g, ok := got[k]; !ok {
			t.Errorf("%s missing (want %v)", k, want[k])
		} else if g != want[k] {
			t.Errorf("%s = %v, want %v", k, g, want[k])
		}
	}
}

// tally counts what a test did, in the metrics' own terms.
type tally map[string]float64

func (t tally) add(key string, n float64) { t[key] += n }

func (t tally) read(model, index, outcome string, notFound bool) {
	t.add(fmt.Sprintf("cachegen_reads_total{index=%q,model=%q,not_found=\"%v\",outcome=%q}", index, model, notFound, outcome), 1)
	t.add(fmt.Sprintf("cachegen_read_duration_seconds_count{index=%q,model=%q}", index, model), 1)
	if outcome != "hit" { // the database answered
		t.add(fmt.Sprintf("cachegen_read_db_duration_seconds_count{index=%q,model=%q}", index, model), 1)
		t.add(fmt.Sprintf("cachegen_db_reads_total{model=%q}", model), 1)
	}
	if outcome != "bypass" {
		t.add(fmt.Sprintf("cachegen_read_store_duration_seconds_count{index=%q,model=%q,outcome=%q}", index, model, outcome), 1)
	}
	if outcome == "miss" { // every miss of these lookups fills on SQLite
		t.add(fmt.Sprintf("cachegen_fills_total{model=%q}", model), 1)
	}
}

// write counts a write whose rows' keys (old and new, deduplicated) and
// the All key are invalidated.
func (t tally) write(model, op string, keys ...string) {
	t.add(fmt.Sprintf("cachegen_writes_total{model=%q,op=%q}", model, op), 1)
	t.add(fmt.Sprintf("cachegen_write_duration_seconds_count{model=%q,op=%q}", model, op), 1)
	t.add(fmt.Sprintf("cachegen_write_db_duration_seconds_count{model=%q,op=%q}", model, op), 1)
	t.add(fmt.Sprintf("cachegen_db_writes_total{model=%q}", model), 1)
	t.add(fmt.Sprintf("cachegen_invalidations_total{model=%q}", model), float64(len(slices.Compact(slices.Sorted(slices.Values(keys))))))
}

// userKeys names the unique keys of a user row (and All).
func userKeys(u model.User) []string {
	return []string{fmt.Sprint("id=", u.ID), "email=" + u.Email, fmt.Sprint("org_handle=", u.OrgID, ",", u.Handle), "all"}
}

func newRepo(t *testing.T, store runtime.Store, opts ...runtime.Option) (*model.UserRepo, *prom.Metrics, *prometheus.Registry) {
	t.Helper()
	db, _ := dbtest.OpenSQLite(t)
	enginetest.CreateTables(t, db, "sqlite")
	m := prom.New(prom.Options{})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	users, err := model.NewUserRepo(db, store, append(opts, runtime.WithPrefix(dbtest.UniqueName()), runtime.WithObserver(m))...)
	if err != nil {
		t.Fatal(err)
	}
	m.Register("users", users.Stats)
	return users, m, reg
}

func newMemory(t *testing.T) *memory.Store {
	s, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func TestCountsMatchOperations(t *testing.T) {
	ctx := context.Background()
	users, _, reg := newRepo(t, newMemory(t))
	want := tally{}

	u := model.User{Email: "a@x.org", OrgID: 1, Handle: "a", Name: "A"}
	if err := users.Save(ctx, &u); err != nil {
		t.Fatal(err)
	}
	want.write("users", "save", userKeys(u)[1:]...) // an insert of a generated id locks no id key
	for i := range 3 {
		if _, err := users.GetByID(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		want.read("users", "id", map[bool]string{true: "miss", false: "hit"}[i == 0], false)
	}
	for i := range 2 {
		if _, err := users.GetByEmail(ctx, "nobody@x.org"); !errors.Is(err, runtime.ErrNotFound) {
			t.Fatalf("GetByEmail: %v", err)
		}
		want.read("users", "email", map[bool]string{true: "miss", false: "hit"}[i == 0], true)
	}
	if _, err := users.GetByOrgIDHandle(ctx, 1, "a"); err != nil {
		t.Fatal(err)
	}
	want.read("users", "org_handle", "miss", false)
	for i := range 2 {
		if _, err := users.All(ctx); err != nil {
			t.Fatal(err)
		}
		want.read("users", "all", map[bool]string{true: "miss", false: "hit"}[i == 0], false)
	}
	old := u
	u.Email = "b@x.org"
	if err := users.Save(ctx, &u); err != nil {
		t.Fatal(err)
	}
	want.write("users", "save", append(userKeys(old), userKeys(u)...)...)
	if _, err := users.GetByID(ctx, u.ID); err != nil { // invalidated by the save
		t.Fatal(err)
	}
	want.read("users", "id", "miss", false)
	if err := users.Delete(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	want.write("users", "delete", userKeys(u)...)
	if err := users.Delete(ctx, u.ID); !errors.Is(err, runtime.ErrNotFound) { // no row: no keys, not an error
		t.Fatalf("second Delete: %v", err)
	}
	want.write("users", "delete") // a delete of no row invalidates nothing

	// Everything that did not happen is zero where its series exists.
	for _, k := range []string{
		`cachegen_read_errors_total{index="id",model="users"}`,
		`cachegen_read_errors_total{index="all",model="users"}`,
		`cachegen_write_errors_total{model="users",op="save"}`,
		`cachegen_write_errors_total{model="users",op="delete"}`,
		`cachegen_reads_total{index="id",model="users",not_found="false",outcome="bypass"}`,
		`cachegen_lease_waits_total{model="users"}`,
		`cachegen_lock_bypasses_total{model="users"}`,
		`cachegen_all_over_cap_total{model="users"}`,
	} {
		want.add(k, 0)
	}
	got := series(t, reg)
	expect(t, got, want)
	for k, v := range got {
		if strings.Contains(k, "store_errors") || strings.Contains(k, "breaker") || strings.Contains(k, "corrupt") || strings.Contains(k, "invalidations_failed") {
			t.Errorf("%s = %v with the store up", k, v)
		}
	}

	// The event counters agree with the runtime's own.
	s := users.Stats()
	var hits, misses float64
	for k, v := range got {
		if strings.HasPrefix(k, "cachegen_reads_total{") && strings.Contains(k, `outcome="hit"`) {
			hits += v
		}
		if strings.HasPrefix(k, "cachegen_reads_total{") && strings.Contains(k, `outcome="miss"`) {
			misses += v
		}
	}
	if hits != float64(s.Hits) || misses != float64(s.Misses) {
		t.Errorf("reads_total: %v hits, %v misses; Stats: %+v", hits, misses, s)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %+v", err, problems)
	}
}

// TestStoreDownAndBack runs in a synctest bubble, so the breaker's pause
// and the retry queue's back-off are on the bubble's clock: the breaker
// stays open through the reads however slow the machine is, and the
// recovery is checked at a set time instead of polled for.
func TestStoreDownAndBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		faulty := faultstore.New(newMemory(t))
		users, _, reg := newRepo(t, faulty)
		u := model.User{Email: "d@x.org", OrgID: 1, Handle: "d", Name: "D"}
		if err := users.Save(ctx, &u); err != nil {
			t.Fatal(err)
		}

		faulty.SetDown(true)
		// A write with the store down: every key's lock and release fail and
		// the invalidations are queued for a retry.
		u.Name = "D2"
		if err := users.Save(ctx, &u); err != nil {
			t.Fatal(err)
		}
		keys := len(userKeys(u))
		// Reads with the store down go to the database: the open breaker
		// skips the store (a probe after its pause fails again).
		const reads = 3
		for range reads {
			if _, err := users.GetByEmail(ctx, "nobody@x.org"); !errors.Is(err, runtime.ErrNotFound) {
				t.Fatal(err)
			}
		}
		got := series(t, reg)
		// Lock failures: keys; the breaker opens at the fifth error in a row,
		// so the unlocks after it are skipped and not reported as store errors.
		lockErrs := got[`cachegen_store_errors_total{model="users",op="lock"}`]
		unlockErrs := got[`cachegen_store_errors_total{model="users",op="unlock"}`]
		getErrs := got[`cachegen_store_errors_total{model="users",op="get"}`]
		s := users.Stats()
		if lockErrs != float64(keys) {
			t.Errorf("lock errors %v, want %d", lockErrs, keys)
		}
		if !s.BreakerOpen || s.BreakerOpens != 1 {
			t.Fatalf("breaker not open: %+v", s)
		}
		expect(t, got, map[string]float64{
			`cachegen_breaker_opens_total{model="users"}`:                                         1,
			`cachegen_breaker_open{model="users"}`:                                                1,
			`cachegen_invalidations_failed_total{model="users"}`:                                  float64(keys),
			`cachegen_reads_total{index="email",model="users",not_found="true",outcome="bypass"}`: reads,
		})
		// The events report every store error but those the open breaker
		// skipped, which Stats counts too.
		if total := lockErrs + unlockErrs + getErrs; total > float64(s.StoreErrors) || total < breakerThreshold {
			t.Errorf("store errors by op %v+%v+%v; Stats.StoreErrors %d", lockErrs, unlockErrs, getErrs, s.StoreErrors)
		}

		faulty.SetDown(false)
		// The breaker's pause and the retry queue's back-off pass on the
		// bubble's clock: after a few seconds of it, with every goroutine
		// idle, the queued invalidations were delivered and a probe closed the
		// breaker.
		time.Sleep(5 * time.Second)
		synctest.Wait()
		_, _ = users.GetByEmail(ctx, "nobody@x.org")
		got = series(t, reg)
		expect(t, got, map[string]float64{
			`cachegen_invalidation_retries_total{model="users",result="ok"}`: float64(keys),
			`cachegen_breaker_closes_total{model="users"}`:                   1,
		})
		s = users.Stats()
		expect(t, got, map[string]float64{
			`cachegen_breaker_open{model="users"}`:                              float64(0),
			`cachegen_invalidations_dropped_total{model="users"}`:               0,
			`cachegen_invalidation_retries_total{model="users",result="error"}`: float64(s.InvalidationRetries) - float64(keys),
		})
	})
}

// breakerThreshold is the runtime's: five store errors in a row open it.
const breakerThreshold = 5

func TestCorruptValue(t *testing.T) {
	ctx := context.Background()
	store := newMemory(t)
	users, _, reg := newRepo(t, store)
	u := model.User{Email: "c@x.org", OrgID: 1, Handle: "c", Name: "C"}
	if err := users.Save(ctx, &u); err != nil {
		t.Fatal(err)
	}
	if _, err := users.GetByID(ctx, u.ID); err != nil { // fill
		t.Fatal(err)
	}
	// Overwrite the cached row with foreign bytes, through the store's own
	// protocol: a lock, its release, a lease and a fill.
	var key string
	if err := store.ScanKeys(ctx, "", func(k string) error {
		if strings.HasSuffix(k, fmt.Sprintf(":id=%d", u.ID)) {
			key = k
		}
		return nil
	}); err != nil || key == "" {
		t.Fatalf("the cached row's key: %q %v", key, err)
	}
	_ = store.Lock(ctx, key, time.Minute)
	_ = store.Unlock(ctx, key)
	if ok, _, err := store.Lease(ctx, key, "t", time.Minute); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if ok, err := store.Fill(ctx, key, "t", cachestore.Entry{Kind: cachestore.CachedRow, Value: []byte("not a row")}, time.Minute); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if _, err := users.GetByID(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	got := series(t, reg)
	var n float64
	for k, v := range got {
		if strings.HasPrefix(k, "cachegen_corrupt_values_total{") {
			n += v
		}
	}
	if n != 1 || float64(users.Stats().CorruptValues) != 1 {
		t.Errorf("corrupt values: %v in metrics, %d in Stats", n, users.Stats().CorruptValues)
	}
}

// Keys and values never become labels: events about a thousand keys add
// no series.
func TestLabelsAreBounded(t *testing.T) {
	m := prom.New(prom.Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	ctx := context.Background()
	emit := func(i int) {
		key := fmt.Sprintf("cg:users:abc:email=user%d@x.org", i)
		m.Observe(ctx, observe.Event{Kind: observe.EventRead, Table: "users", Index: "email", Outcome: observe.OutcomeMiss, Key: key, Duration: time.Millisecond, DBTime: time.Microsecond})
		m.Observe(ctx, observe.Event{Kind: observe.EventStoreError, Table: "users", Op: "get", Key: key, Err: errors.New(key)})
		m.Observe(ctx, observe.Event{Kind: observe.EventInvalidationFailed, Table: "users", Key: key, Err: errors.New(key)})
		m.Observe(ctx, observe.Event{Kind: observe.EventCorruptValue, Table: "users", Op: "decode", Key: key, Err: errors.New(key)})
		m.Observe(ctx, observe.Event{Kind: observe.EventWrite, Table: "users", Op: "save", Key: key})
	}
	emit(0)
	before := len(series(t, reg))
	for i := 1; i < 1000; i++ {
		emit(i)
	}
	got := series(t, reg)
	if len(got) != before {
		t.Fatalf("%d series after one key, %d after a thousand", before, len(got))
	}
	for k := range got {
		if strings.Contains(k, "x.org") {
			t.Fatalf("a key in a label: %s", k)
		}
	}
	if v := got[`cachegen_reads_total{index="email",model="users",not_found="false",outcome="miss"}`]; v != 1000 {
		t.Fatalf("reads: %v", v)
	}
}

// Observe allocates nothing once a table's series exist.
func TestObserveAllocs(t *testing.T) {
	m := prom.New(prom.Options{})
	ctx := context.Background()
	events := []observe.Event{
		{Kind: observe.EventRead, Table: "users", Index: "id", Outcome: observe.OutcomeHit, Duration: time.Microsecond},
		{Kind: observe.EventRead, Table: "users", Index: "email", Outcome: observe.OutcomeMiss, NotFound: true, Duration: time.Millisecond, DBTime: time.Microsecond},
		{Kind: observe.EventWrite, Table: "users", Op: "save", Duration: time.Millisecond, DBTime: time.Microsecond},
		{Kind: observe.EventStoreError, Table: "users", Op: "get"},
		{Kind: observe.EventInvalidationRetried, Table: "users"},
	}
	for _, e := range events {
		m.Observe(ctx, e)
	}
	if n := testing.AllocsPerRun(100, func() {
		for _, e := range events {
			m.Observe(ctx, e)
		}
	}); n != 0 {
		t.Fatalf("Observe allocates %v times per round", n)
	}
}

// Repositories registered under one model are added up; unregistering
// takes one away.
func TestRegisterSums(t *testing.T) {
	m := prom.New(prom.Options{Namespace: "app", ConstLabels: prometheus.Labels{"service": "blog"}})
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(m)
	a := m.Register("users", func() runtime.Stats { return runtime.Stats{Fills: 2, DBReads: 3} })
	m.Register("users", func() runtime.Stats { return runtime.Stats{Fills: 5, LeaseWaits: 1} })
	m.Register("posts", func() runtime.Stats {
		return runtime.Stats{LockBypasses: 7, DBWrites: 4, Invalidations: 9, AllOverCap: 1}
	})
	expect(t, series(t, reg), map[string]float64{
		`app_fills_total{model="users",service="blog"}`:         7,
		`app_db_reads_total{model="users",service="blog"}`:      3,
		`app_lease_waits_total{model="users",service="blog"}`:   1,
		`app_lock_bypasses_total{model="posts",service="blog"}`: 7,
		`app_db_writes_total{model="posts",service="blog"}`:     4,
		`app_invalidations_total{model="posts",service="blog"}`: 9,
		`app_all_over_cap_total{model="posts",service="blog"}`:  1,
	})
	a()
	expect(t, series(t, reg), map[string]float64{`app_fills_total{model="users",service="blog"}`: 5})
}

// The runtime imports neither Prometheus nor OpenTelemetry: a repository
// without these observers pays nothing for them.
func TestRuntimeImportsNeither(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the runtime's dependencies: %v", err)
	}
	out, err := exec.Command(gobin, "list", "-deps", "github.com/cachegen/cachegen/runtime",
		"github.com/cachegen/cachegen/runtime/memory", "github.com/cachegen/cachegen/runtime/redis").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.HasPrefix(dep, "github.com/prometheus/") || strings.HasPrefix(dep, "go.opentelemetry.io/") {
			t.Errorf("the runtime depends on %s", dep)
		}
	}
}

// Events for new tables while others scrape (run with -race).
func TestConcurrentObserveAndScrape(t *testing.T) {
	m := prom.New(prom.Options{})
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	ctx := context.Background()
	var wg sync.WaitGroup
	const workers, tables = 4, 20
	for w := range workers {
		wg.Go(func() {
			for i := range tables {
				table := fmt.Sprintf("t%d", (i+w)%tables)
				m.Observe(ctx, observe.Event{Kind: observe.EventRead, Table: table, Index: "id", Outcome: observe.OutcomeHit})
				m.Observe(ctx, observe.Event{Kind: observe.EventBreakerOpen, Table: table})
				m.Register(table, func() runtime.Stats { return runtime.Stats{Fills: 1} })
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := reg.Gather(); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	got := series(t, reg)
	for i := range tables {
		if v := got[fmt.Sprintf(`cachegen_reads_total{index="id",model="t%d",not_found="false",outcome="hit"}`, i)]; v != workers {
			t.Errorf("t%d: %v hits, want %d", i, v, workers)
		}
		if v := got[fmt.Sprintf(`cachegen_fills_total{model="t%d"}`, i)]; v != workers {
			t.Errorf("t%d: %v fills, want %d", i, v, workers)
		}
	}
}

// BenchmarkObserve is the cost the metrics add to a cache hit.
func BenchmarkObserve(b *testing.B) {
	m := prom.New(prom.Options{})
	ctx := context.Background()
	e := observe.Event{Kind: observe.EventRead, Table: "users", Index: "id", Outcome: observe.OutcomeHit, Duration: 300 * time.Microsecond}
	b.ReportAllocs()
	for b.Loop() {
		m.Observe(ctx, e)
	}
}
