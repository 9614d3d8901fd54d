package consistency

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/testenv"
)

// nearHist is a history checked as a run with near caches of MaxStaleness
// 50 would be.
func nearHist() *hist {
	h := newHist()
	h.in.NearBound = 50
	return h
}

func TestNearStalenessWithinTheBound(t *testing.T) {
	base := func() *hist {
		h := nearHist()
		h.save(0, 0, 10, a1, true, nil)
		h.save(1, 20, 30, a2, true, nil)
		return h
	}
	// Another runtime's near cache may miss the write for MaxStaleness
	// after its ack: allowed, counted apart, measured, and modeled in
	// porcupine rather than left out.
	h := base()
	h.read(2, GetByID, 70, 75, Row{ID: 1}, a1)
	res := h.check(t)
	want(t, res, 0, 0, 0, 0, "ok")
	if res.NearWithinBound != 1 || res.NearMaxStaleness != 40 || res.NearModeled != 1 || res.Excluded != 0 {
		t.Fatalf("within bound %d, max staleness %d, modeled %d, excluded %d: want 1, 40, 1, 0",
			res.NearWithinBound, res.NearMaxStaleness, res.NearModeled, res.Excluded)
	}
	// MaxStaleness or more after the ack: a violation.
	h = base()
	h.read(2, GetByID, 80, 85, Row{ID: 1}, a1)
	want(t, h.check(t), 1, 0, 0, 0, "violated")
	// The writer's own runtime dropped its entries before the ack.
	h = base()
	h.read(1, GetByID, 40, 45, Row{ID: 1}, a1)
	want(t, h.check(t), 1, 0, 0, 0, "violated")
	// Without near caches, the same read is a violation.
	h = base()
	h.in.NearBound = 0
	h.read(2, GetByID, 70, 75, Row{ID: 1}, a1)
	want(t, h.check(t), 1, 0, 0, 0, "violated")
	// The bound holds per missed write: the first missed ack counts.
	h = base()
	a5 := Row{ID: 1, Email: "a", Org: 1, Handle: "x", Version: 5}
	h.save(1, 60, 70, a5, true, nil)
	h.read(2, GetByID, 90, 95, Row{ID: 1}, a1) // 60 after a2's ack, 20 after a5's
	want(t, h.check(t), 1, 0, 0, 0, "violated")
	h = base()
	h.save(1, 60, 70, a5, true, nil)
	h.read(2, GetByID, 75, 80, Row{ID: 1}, a2) // 5 after a5's ack
	if res := h.check(t); res.Violations() || res.NearWithinBound != 1 || res.NearMaxStaleness != 5 {
		t.Fatalf("%+v", res)
	}
}

func TestNearReadsBeforeTheAckAreModeled(t *testing.T) {
	// TestReadNewThenOldInsideWriteFails with near caches: the second read
	// may come from a near cache the write's announcement has not reached
	// yet. Strict porcupine rejects it; with its start moved back by
	// MaxStaleness it linearizes.
	h := nearHist()
	h.save(0, 0, 10, a1, true, nil)
	h.save(1, 20, 100, a2, true, nil)
	h.read(2, GetByID, 30, 40, Row{ID: 1}, a2)
	h.read(3, GetByID, 50, 60, Row{ID: 1}, a1)
	res := h.check(t)
	want(t, res, 0, 0, 0, 0, "ok")
	if res.NearModeled != 1 || res.NearWithinBound != 0 {
		t.Fatalf("modeled %d, within bound %d: want 1, 0", res.NearModeled, res.NearWithinBound)
	}
	// Moved back by MaxStaleness and no more.
	h = nearHist()
	h.in.NearBound = 5
	h.save(0, 0, 10, a1, true, nil)
	h.save(1, 20, 100, a2, true, nil)
	h.read(2, GetByID, 30, 40, Row{ID: 1}, a2)
	h.read(3, GetByID, 50, 60, Row{ID: 1}, a1)
	want(t, h.check(t), 0, 0, 0, 0, "violated")
	// Nor is a read of the writer's own runtime moved.
	h = nearHist()
	h.save(0, 0, 10, a1, true, nil)
	h.save(1, 20, 100, a2, true, nil)
	h.read(2, GetByID, 30, 40, Row{ID: 1}, a2)
	h.read(1, GetByID, 50, 60, Row{ID: 1}, a1)
	want(t, h.check(t), 0, 0, 0, 0, "violated")
}

// published returns the trace of a write whose locks and releases all
// went through, with its announcement before commit failing or not, and
// its announcement after commit (none, failed, delivered).
func published(preErr bool, post string) *Trace {
	tr := &Trace{}
	for _, k := range []string{"pk", "email", "oh", "all"} {
		tr.Record(false, k, nil)
	}
	var err error
	if preErr {
		err = errors.New("bus down")
	}
	tr.RecordPublish(err)
	for _, k := range []string{"pk", "email", "oh", "all"} {
		tr.Record(true, k, nil)
	}
	switch post {
	case "failed":
		tr.RecordPublish(errors.New("bus down"))
	case "delivered":
		tr.RecordPublish(nil)
	}
	return tr
}

func TestNearLostAnnouncements(t *testing.T) {
	base := func(tr *Trace) *hist {
		h := nearHist()
		h.save(0, 0, 10, a1, true, nil)
		h.save(1, 20, 30, a2, true, tr)
		return h
	}
	// Both announcements failed: another runtime's near cache may keep
	// the old row until a retry lands, like a store that lost both the
	// lock and the release (rule E).
	h := base(published(true, "failed"))
	h.read(2, GetByID, 400, 410, Row{ID: 1}, a1)
	res := h.check(t)
	want(t, res, 0, 0, 0, 1, "ok")
	if res.Impaired != 1 {
		t.Fatalf("impaired %d, want 1", res.Impaired)
	}
	// Announced again after commit: the bound holds.
	h = base(published(true, "delivered"))
	h.read(2, GetByID, 400, 410, Row{ID: 1}, a1)
	want(t, h.check(t), 1, 0, 0, 0, "violated")
	// Announced before commit: the bound holds.
	h = base(published(false, ""))
	h.read(2, GetByID, 400, 410, Row{ID: 1}, a1)
	res = h.check(t)
	want(t, res, 1, 0, 0, 0, "violated")
	if res.Impaired != 0 {
		t.Fatalf("impaired %d, want 0", res.Impaired)
	}
}

// nearRun is a run of the whole checker with near caches: on the checker's
// own redis-server (flushing and restarting it are among the faults, so
// never a shared one), and on PostgreSQL when CACHEGEN_PG_DSN names one,
// SQLite otherwise.
func nearRun(t *testing.T, cfg Config) *Report {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		if testenv.Required() {
			t.Fatalf("%s=required, but the near cache checks need a redis-server of their own: %v", testenv.RequiredVar, err)
		}
		t.Skipf("the near cache checks need a redis-server of their own: %v", err)
	}
	cfg.DB = "sqlite"
	if os.Getenv(testenv.PostgresVar) != "" {
		cfg.DB = testenv.PostgresDSN(t)
	}
	cfg.Store = "redis"
	cfg.TTL, cfg.LockTTL = time.Second, 10*time.Second
	cfg.Jitter = 2 * time.Millisecond
	rep, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep.Line())
	for _, p := range rep.Result.Problems {
		t.Log(p)
	}
	return rep
}

// TestRunWithNearCaches: with a near cache in every runtime, its bus on the
// runtime's faulty link, no read may miss a write acknowledged
// MaxStaleness before it began, and the tier must have answered reads.
func TestRunWithNearCaches(t *testing.T) {
	rep := nearRun(t, Config{Ops: 3000, Faults: true, Near: 100 * time.Millisecond, Seed: 1})
	r := rep.Result
	if r.StaleAfterAck != 0 || r.Violations() || rep.Near == nil || rep.Near.Stats.Hits == 0 || rep.Faults == 0 {
		t.Fatalf("%s", rep.Line())
	}
	if r.NearMaxStaleness >= int64(100*time.Millisecond) {
		t.Fatalf("near staleness %dns reported within a bound of 100ms", r.NearMaxStaleness)
	}
}

// TestRunCatchesALossyBus is the near caches' negative control: a bus that
// swallows every announcement must be caught.
func TestRunCatchesALossyBus(t *testing.T) {
	rep := nearRun(t, Config{Ops: 3000, Near: 100 * time.Millisecond, NearLossy: true, Seed: 1})
	if rep.Result.StaleAfterAck == 0 || rep.Near.Swallowed == 0 {
		t.Fatalf("a bus that loses every message passed: %s", rep.Line())
	}
}

func TestNearNeedsRedis(t *testing.T) {
	_, err := Run(context.Background(), Config{DB: "sqlite", Store: "memory", Near: 100 * time.Millisecond})
	if err == nil {
		t.Fatal("-near with -store memory ran")
	}
	t.Log(err)
}
