package consistency

import (
	"errors"
	"testing"
)

// lost returns a trace of a write whose locks and releases all failed.
func lost() *Trace {
	tr := &Trace{}
	tr.Record(false, "k", errors.New("down"))
	tr.Record(true, "k", errors.New("down"))
	return tr
}

func TestStalenessAfterALostInvalidation(t *testing.T) {
	base := func(tr *Trace) *hist {
		h := newHist()
		h.save(0, 0, 10, a1, true, nil)
		h.save(1, 20, 30, a2, true, tr)
		return h
	}
	// Another runtime may serve what the store kept: excused, measured.
	h := base(lost())
	h.read(0, GetByID, 400, 410, Row{ID: 1}, a1)
	res := h.check(t)
	want(t, res, 0, 0, 0, 1, "ok")
	if res.MaxStaleness != 370 || res.Excluded != 1 {
		t.Fatalf("max staleness %d, excluded %d: want 370 and 1", res.MaxStaleness, res.Excluded)
	}
	// The writer's own runtime bypasses the store for that key: a violation.
	h = base(lost())
	h.read(1, GetByID, 40, 50, Row{ID: 1}, a1)
	want(t, h.check(t), 1, 0, 0, 0, "violated")
	// Beyond the bound (the TTL): a violation.
	h = base(lost())
	h.read(0, GetByID, 2000, 2010, Row{ID: 1}, a1)
	want(t, h.check(t), 1, 0, 0, 0, "violated")
	// Locks held, only the release lost (a writer that died after commit):
	// the lock keeps readers off the store, so no staleness is allowed.
	tr := &Trace{}
	for _, k := range []string{"pk", "email", "oh", "all"} {
		tr.Record(false, k, nil)
	}
	h = base(tr)
	h.read(0, GetByID, 40, 50, Row{ID: 1}, a1)
	want(t, h.check(t), 1, 0, 0, 0, "violated")
	// A later write whose invalidation worked ends the excuse.
	h = base(lost())
	a5 := Row{ID: 1, Email: "a", Org: 1, Handle: "x", Version: 5}
	h.save(2, 40, 50, a5, true, nil)
	h.read(0, GetByID, 60, 70, Row{ID: 1}, a2)
	want(t, h.check(t), 1, 0, 0, 0, "violated")
}

func TestLostLocksExcludeReadsFromPorcupine(t *testing.T) {
	h := newHist()
	h.save(0, 0, 10, a1, true, nil)
	h.save(1, 20, 100, a2, true, nil)
	h.read(2, GetByID, 30, 40, Row{ID: 1}, a2)
	h.read(3, GetByID, 50, 60, Row{ID: 1}, a1)
	h.in.LockLoss = []Interval{{25, 26}} // the store was flushed during the write
	res := h.check(t)
	want(t, res, 0, 0, 0, 0, "ok")
	if res.Excluded != 1 {
		t.Fatalf("excluded %d, want 1", res.Excluded)
	}
	// A write longer than the lock TTL may have outlived its locks too.
	h = newHist()
	h.save(0, 0, 10, a1, true, nil)
	h.save(1, 20, 100, a2, true, nil)
	h.read(2, GetByID, 30, 40, Row{ID: 1}, a2)
	h.read(3, GetByID, 50, 60, Row{ID: 1}, a1)
	h.in.LockTTL = 50
	want(t, h.check(t), 0, 0, 0, 0, "ok")
}

func TestAbsenceTheStoreMayHaveKept(t *testing.T) {
	// The insert lost its invalidation: the store may still hold the
	// not-found from before it. A read of absence during a later delete is
	// explained either way, so porcupine must not judge it.
	h := newHist()
	h.save(1, 0, 10, a1, true, lost())
	h.del(2, 20, 100, a1)
	h.read(0, GetByID, 30, 31, Row{ID: 1})
	h.read(3, GetByID, 40, 41, Row{ID: 1}, a1)
	res := h.check(t)
	want(t, res, 0, 0, 0, 0, "ok")
	if res.Excluded != 1 {
		t.Fatalf("excluded %d, want 1", res.Excluded)
	}
	// With the insert's invalidation intact the same history is rejected.
	h = newHist()
	h.save(1, 0, 10, a1, true, nil)
	h.del(2, 20, 100, a1)
	h.read(0, GetByID, 30, 31, Row{ID: 1})
	h.read(3, GetByID, 40, 41, Row{ID: 1}, a1)
	want(t, h.check(t), 0, 0, 0, 0, "violated")
}
