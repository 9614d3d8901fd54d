package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/cachegen/cachegen/internal/testenv"
)

// row is a row as the example's script writes it: its value per unique
// index (the primary key under "id").
type row map[string]string

// op is one repository call of run, in order.
type op struct {
	model    string
	index    string // a read: the index looked up ("all" for All)
	value    string // a read: the value looked up
	notFound bool   // a read: no row answers
	write    string // a write: save, insert (a save of a new row) or delete
	rows     []row  // a write: the row before and after (nil: none)
}

// script lists the repository calls run makes, with the rows it writes.
// Keep it in step with run: the test fails when the metrics count other
// calls than these.
func script() []op {
	ada := row{"id": "ada", "email": "ada@example.com", "org_handle": "1,ada"}
	ada2 := row{"id": "ada", "email": "ada@analytical.org", "org_handle": "1,ada"}
	post := row{"id": "engine-post", "slug": "engine"}
	ops := []op{
		{model: "users", write: "insert", rows: []row{ada}},
		{model: "posts", write: "insert", rows: []row{post}},
	}
	for range 2 {
		ops = append(ops,
			op{model: "users", index: "id", value: "ada"},
			op{model: "posts", index: "slug", value: "engine"})
	}
	return append(ops,
		op{model: "users", write: "save", rows: []row{ada, ada2}},
		op{model: "users", index: "email", value: "ada@example.com", notFound: true},
		op{model: "users", index: "org_handle", value: "1,ada"},
		op{model: "posts", write: "delete", rows: []row{post}},
		op{model: "posts", index: "id", value: "engine-post", notFound: true},
		op{model: "users", index: "all"},
	)
}

// expected derives the metrics of ops from the protocol (README, "How the
// cache stays correct"): a read of a key the store holds is a hit; any
// other read is a miss that queries the database and fills the key (a
// value or a not-found: the script's lookups are integers and text, whose
// not-found is cached on SQLite and PostgreSQL, except under a generated
// primary key); a write invalidates every key of the row's old and new
// values once each, and the All key, but an insert locks no key of its
// generated id (a write's own statements are not database reads).
func expected(ops []op) map[string]float64 {
	want := map[string]float64{}
	add := func(n float64, format string, args ...any) { want[fmt.Sprintf(format, args...)] += n }
	cached := map[string]bool{}
	for _, o := range ops {
		if o.write != "" {
			keys := map[string]bool{o.model + ":all": true}
			for _, r := range o.rows {
				for index, v := range r {
					if o.write != "insert" || index != "id" {
						keys[o.model+":"+index+"="+v] = true
					}
				}
			}
			op := o.write
			if op == "insert" {
				op = "save"
			}
			for k := range keys {
				delete(cached, k)
			}
			add(1, `cachegen_writes_total{model=%q,op=%q}`, o.model, op)
			add(0, `cachegen_write_errors_total{model=%q,op=%q}`, o.model, op)
			add(1, `cachegen_write_duration_seconds_count{model=%q,op=%q}`, o.model, op)
			add(1, `cachegen_write_db_duration_seconds_count{model=%q,op=%q}`, o.model, op)
			add(1, `cachegen_db_writes_total{model=%q}`, o.model)
			add(float64(len(keys)), `cachegen_invalidations_total{model=%q}`, o.model)
			continue
		}
		key := o.model + ":" + o.index + "=" + o.value
		outcome := "miss"
		if cached[key] {
			outcome = "hit"
		}
		// A not-found under the generated primary key is never stored.
		cached[key] = !o.notFound || o.index != "id"
		add(1, `cachegen_reads_total{index=%q,model=%q,not_found="%v",outcome=%q}`, o.index, o.model, o.notFound, outcome)
		add(0, `cachegen_read_errors_total{index=%q,model=%q}`, o.index, o.model)
		add(1, `cachegen_read_duration_seconds_count{index=%q,model=%q}`, o.index, o.model)
		add(0, `cachegen_read_store_duration_seconds_count{index=%q,model=%q,outcome="hit"}`, o.index, o.model)
		add(0, `cachegen_read_store_duration_seconds_count{index=%q,model=%q,outcome="miss"}`, o.index, o.model)
		add(1, `cachegen_read_store_duration_seconds_count{index=%q,model=%q,outcome=%q}`, o.index, o.model, outcome)
		add(0, `cachegen_fills_total{model=%q}`, o.model)
		add(0, `cachegen_db_reads_total{model=%q}`, o.model)
		add(0, `cachegen_read_db_duration_seconds_count{index=%q,model=%q}`, o.index, o.model)
		if outcome == "miss" {
			if cached[key] {
				add(1, `cachegen_fills_total{model=%q}`, o.model)
			}
			add(1, `cachegen_db_reads_total{model=%q}`, o.model)
			add(1, `cachegen_read_db_duration_seconds_count{index=%q,model=%q}`, o.index, o.model)
		}
	}
	for _, m := range []string{"users", "posts"} {
		add(0, `cachegen_lease_waits_total{model=%q}`, m)
		add(0, `cachegen_lock_bypasses_total{model=%q}`, m)
		add(0, `cachegen_all_over_cap_total{model=%q}`, m)
	}
	return want
}

// scrape reads url as Prometheus does: name{label="value",...} → value,
// labels sorted; histograms as their _count.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			key := "{" + strings.Join(labels, ",") + "}"
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[name+key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[name+key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[name+"_count"+key] = float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return out
}

// TestMetricsCountTheScript runs the example with its metrics, scrapes
// /metrics over HTTP and checks every cachegen counter against the calls
// the script made: the exact value of each series derived from them, and no
// other cachegen series above zero.
func TestMetricsCountTheScript(t *testing.T) {
	cases := []struct {
		name       string
		dsn, redis func(t *testing.T) string
	}{
		{"sqlite+memory", func(*testing.T) string { return "" }, func(*testing.T) string { return "" }},
		{"postgres+redis", func(t *testing.T) string { return testenv.PostgresDSN(t) }, func(t *testing.T) string { return testenv.RedisAddr(t) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dsn, redis := c.dsn(t), c.redis(t)
			tel := newTelemetry()
			srv := httptest.NewServer(tel.handler())
			defer srv.Close()
			if err := run(context.Background(), dsn, redis, false, tel); err != nil {
				t.Fatal(err)
			}
			got := scrape(t, srv.URL+"/metrics")
			want := expected(script())

			keys := make([]string, 0, len(want))
			for k := range want {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if v, ok := got[k]; !ok {
					t.Errorf("%s missing, want %v", k, want[k])
				} else if v != want[k] {
					t.Errorf("%s = %v, want %v", k, v, want[k])
				}
			}
			for k, v := range got {
				if _, listed := want[k]; !listed && v != 0 && strings.HasPrefix(k, "cachegen_") {
					t.Errorf("%s = %v: the script did nothing it would count", k, v)
				}
			}
			if got["go_goroutines{}"] == 0 {
				t.Errorf("the Go collector is not served")
			}

			// The runtime's own counters agree with the event counters.
			var hits, misses float64
			for k, v := range got {
				if strings.HasPrefix(k, "cachegen_reads_total{") && strings.Contains(k, `outcome="hit"`) {
					hits += v
				} else if strings.HasPrefix(k, "cachegen_reads_total{") && strings.Contains(k, `outcome="miss"`) {
					misses += v
				}
			}
			var statHits, statMisses uint64
			for _, stats := range tel.stats {
				s := stats()
				statHits += s.Hits
				statMisses += s.Misses
			}
			if len(tel.stats) != 2 || hits != float64(statHits) || misses != float64(statMisses) {
				t.Errorf("%d repositories registered; metrics: %v hits, %v misses; Stats: %d hits, %d misses", len(tel.stats), hits, misses, statHits, statMisses)
			}
		})
	}
}

// Without -metrics the example observes nothing.
func TestRunWithoutMetrics(t *testing.T) {
	if err := run(context.Background(), "", "", false, nil); err != nil {
		t.Fatal(err)
	}
}
