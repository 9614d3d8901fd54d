package consistency

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/checkmodel"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/memory"
)

// TestTracesSeeTheRuntime: the checker judges stale reads by what each
// write's trace saw of its locks and releases, and attributes deletes by
// the log entry the trace read back. If the runtime stopped calling the
// Store the trace wraps, every write would look impaired and every stale
// read excused: this must fail first.
func TestTracesSeeTheRuntime(t *testing.T) {
	ctx := context.Background()
	db, err := OpenDatabase(ctx, "sqlite")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h, err := db.Open(0, nil, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	m, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	repo, err := checkmodel.NewAccountRepo(h, &traceStore{inner: m, keys: &keySet{}})
	if err != nil {
		t.Fatal(err)
	}
	wantTrace := func(what string, tr *Trace, keys int, seq bool) {
		t.Helper()
		l, u, le, ue := tr.counts()
		if l != keys || u != keys || le != 0 || ue != 0 || (tr.seq() != 0) != seq {
			t.Fatalf("%s: locked %d unlocked %d errors %d/%d seq %d; want %d keys, seq %v", what, l, u, le, ue, tr.seq(), keys, seq)
		}
	}
	a := checkmodel.Account{ID: 1, Email: "a", Org: 1, Handle: "h", Version: 1}
	tr := &Trace{}
	if err := repo.Save(withTrace(ctx, tr), &a); err != nil {
		t.Fatal(err)
	}
	wantTrace("insert", tr, expectedKeys(nil, &Row{}), false)
	a.Email, a.Version = "b", 2
	tr = &Trace{}
	if err := repo.Save(withTrace(ctx, tr), &a); err != nil {
		t.Fatal(err)
	}
	wantTrace("update of the email", tr, expectedKeys(&Row{Email: "a"}, &Row{Email: "b"}), false)

	tx, err := runtime.Begin(ctx, h, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr = &Trace{}
	if err := repo.WithTx(tx).Delete(withTrace(ctx, tr), 1); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	wantTrace("delete in a Tx", tr, expectedKeys(&Row{}, nil), true)
	log, err := db.ReadLog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 3 || !log[2].Deleted || log[2].Seq != tr.seq() {
		t.Fatalf("log %+v; the delete read back seq %d", log, tr.seq())
	}
}

func quick(cfg Config) Config {
	cfg.DB, cfg.Store = "sqlite", "memory"
	cfg.TTL, cfg.LockTTL = time.Second, 10*time.Second
	cfg.Jitter = 2 * time.Millisecond
	cfg.Seed = 1
	return cfg
}

// TestRunPasses runs the whole checker on SQLite and the in-memory store,
// faults on: the protocol must pass, and without faults no write may look
// impaired (nothing could then be excused).
func TestRunPasses(t *testing.T) {
	for _, faults := range []bool{false, true} {
		rep, err := Run(context.Background(), quick(Config{Ops: 4000, Faults: faults, Herd: !faults}))
		if err != nil {
			t.Fatal(err)
		}
		t.Log(rep.Line())
		r := rep.Result
		for _, p := range r.Problems {
			t.Log(p)
		}
		if r.Violations() || r.Ops != 4000 || r.Reads == 0 || r.Writes == 0 || r.PorcupineOps == 0 {
			t.Fatalf("faults %v: %s", faults, rep.Line())
		}
		if !faults && (r.Impaired != 0 || r.Excused != 0 || r.Excluded != 0 || rep.Faults != 0) {
			t.Fatalf("no faults, yet %d impaired writes, %d excused reads, %d reads left out, %d faults", r.Impaired, r.Excused, r.Excluded, rep.Faults)
		}
		if faults && rep.Faults == 0 {
			t.Fatal("no fault injected")
		}
		if rep.Herd != nil && !rep.Herd.OK() {
			t.Fatal(rep.Herd)
		}
	}
}

// TestRunCatchesTheWeakProtocol is the negative control in small: plain
// get/set/delete must be caught.
func TestRunCatchesTheWeakProtocol(t *testing.T) {
	rep, err := Run(context.Background(), quick(Config{Ops: 6000, Weak: true}))
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep.Line())
	if rep.Result.StaleAfterAck == 0 || rep.Result.Linearizable() {
		t.Fatalf("the weakened protocol passed: %s", rep.Line())
	}
}

// TestRunCatchesWeakBatchReads is the negative control of the batch reads
// and the batch loader: with the single-key protocol intact, weakening the
// batch calls alone must be caught. A snapshot served to batch reads makes
// only batch positions stale, so every stale read it finds must be one: the
// positions are judged, not only the single reads after them.
func TestRunCatchesWeakBatchReads(t *testing.T) {
	for _, mode := range []string{WeakBatchFill, WeakBatchSnapshot} {
		t.Run(mode, func(t *testing.T) {
			// A weakened path shows only when a write lands inside a batch's
			// window, which a short history may miss: the control must be
			// caught, by a batch read, in one of three runs (seen: one
			// 4,000-op run of the fill mode with no stale read, on a loaded
			// machine; and one whose only stale read was a single read of
			// the key a weak batch had filled, which came first).
			var rep *Report
			var batch int
			for attempt := 1; ; attempt++ {
				var err error
				if rep, err = Run(context.Background(), quick(Config{Ops: 4000, WeakBatch: mode})); err != nil {
					t.Fatal(err)
				}
				t.Log(rep.Line())
				batch = 0
				for k, n := range rep.Result.StaleByKind {
					if k.IsBatch() {
						batch += n
					}
				}
				if rep.Result.Violations() && rep.Result.StaleAfterAck > 0 && batch > 0 {
					break
				}
				if attempt == 3 {
					t.Fatalf("the weakened batch path was not caught by a batch read in %d runs: %s, stale reads by kind %v", attempt, rep.Line(), rep.Result.StaleByKind)
				}
			}
			r := rep.Result
			if mode == WeakBatchSnapshot && batch != r.StaleAfterAck {
				t.Fatalf("stale reads by kind %v: want batch reads among them (snapshot: only batch reads)", r.StaleByKind)
			}
		})
	}
}

// TestRunIssuesEveryReadPath: the workload issues every read the
// generated repositories offer, batches and loaders included, and the
// checks see their positions.
func TestRunIssuesEveryReadPath(t *testing.T) {
	var dump strings.Builder
	cfg := quick(Config{Ops: 1500})
	cfg.Dump = &dump
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Result.Violations() {
		t.Fatal(rep.Line())
	}
	for _, k := range []Kind{GetByID, GetByEmail, GetByOrgHandle, All, GetByIDs, GetByEmails, LoadAccount, LoadAccounts} {
		if !strings.Contains(dump.String(), " "+k.String()+" client=") {
			t.Errorf("no %s in the history", k)
		}
	}
}

// TestRunTwoBuilds: half the runtimes run checkmodel/v2, the same table
// with a column more, on one store and in one history, as during a rolling
// deploy: each build must see the other's acknowledged writes at once, on
// every index, and the nickname must come with its row.
func TestRunTwoBuilds(t *testing.T) {
	var dump strings.Builder
	cfg := quick(Config{Ops: 4000, TwoBuilds: true, Faults: true})
	cfg.Dump = &dump
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep.Line())
	for _, p := range rep.Result.Problems {
		t.Log(p)
	}
	if rep.Result.Violations() {
		t.Fatalf("two builds at once: %s", rep.Line())
	}
	if !strings.Contains(dump.String(), " build=2 ") || !strings.Contains(dump.String(), " nick=n") {
		t.Fatal("the second build issued no operation, or wrote no nickname")
	}
}
