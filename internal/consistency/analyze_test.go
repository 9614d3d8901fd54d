package consistency

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"
)

// hist builds a history by hand: writes are logged in the order they are
// added, which is their commit order.
type hist struct {
	ops []*Op
	log []LogEntry
	in  Input
}

func newHist() *hist { return &hist{in: Input{IDs: []int64{1, 2}, StaleBound: 1000}} }

func (h *hist) add(op *Op) *Op {
	op.ID = len(h.ops) + 1
	op.Client = op.ID % 4
	h.ops = append(h.ops, op)
	return op
}

func (h *hist) logRow(r Row, deleted bool) {
	h.log = append(h.log, LogEntry{Seq: int64(len(h.log) + 1), Row: r, Deleted: deleted})
}

// save adds a Save acknowledged at ret (Failed when ret is Never) and logs
// it when committed says so.
func (h *hist) save(rt int, call, ret int64, r Row, committed bool, tr *Trace) *Op {
	out := OK
	if ret == Never {
		out, ret = Failed, call+1
	}
	if committed {
		h.logRow(r, false)
	}
	return h.add(&Op{Runtime: rt, Kind: Save, Call: call, Return: ret, Outcome: out, Writes: []Write{{Row: r, Trace: tr}}})
}

// del adds a Delete acknowledged at ret that removed last, traced to its
// log entry as the workload traces its deletes.
func (h *hist) del(rt int, call, ret int64, last Row) *Op {
	h.logRow(last, true)
	tr := &Trace{}
	for _, k := range []string{"pk", "email", "oh", "all"} {
		tr.Record(false, k, nil)
		tr.Record(true, k, nil)
	}
	tr.SetDeleteSeq(h.log[len(h.log)-1].Seq)
	return h.add(&Op{Runtime: rt, Kind: Delete, Call: call, Return: ret, Outcome: OK, Lookup: Row{ID: last.ID}, Writes: []Write{{Delete: true, Row: Row{ID: last.ID}, Trace: tr}}})
}

func (h *hist) read(rt int, kind Kind, call, ret int64, lookup Row, got ...Row) *Op {
	out := OK
	if len(got) == 0 && kind != All {
		out = NotFound
	}
	return h.add(&Op{Runtime: rt, Kind: kind, Call: call, Return: ret, Outcome: out, Lookup: lookup, Rows: got})
}

func (h *hist) check(t *testing.T) *Result {
	t.Helper()
	h.in.Ops, h.in.Log = h.ops, h.log
	res := Check(&h.in)
	for _, p := range res.Problems {
		t.Log(p)
	}
	return res
}

func want(t *testing.T, res *Result, stale, wrong, lost, excused int, lin string) {
	t.Helper()
	if res.StaleAfterAck != stale || res.Wrong != wrong || res.LostWrites != lost || res.Excused != excused || res.LinearizabilityWord() != lin {
		t.Fatalf("stale=%d wrong=%d lost=%d excused=%d linearizability=%s; want %d %d %d %d %s",
			res.StaleAfterAck, res.Wrong, res.LostWrites, res.Excused, res.LinearizabilityWord(), stale, wrong, lost, excused, lin)
	}
}

var (
	a1 = Row{ID: 1, Email: "a", Org: 1, Handle: "x", Version: 1}
	a2 = Row{ID: 1, Email: "a", Org: 1, Handle: "x", Version: 2}
	b3 = Row{ID: 1, Email: "b", Org: 1, Handle: "y", Version: 3} // row 1 moves to email b
	c4 = Row{ID: 2, Email: "a", Org: 1, Handle: "x", Version: 4} // row 2 takes email a
)

func TestCleanHistoryPasses(t *testing.T) {
	h := newHist()
	h.read(0, GetByID, 0, 5, Row{ID: 1})
	h.save(0, 10, 20, a1, true, nil)
	h.read(1, GetByID, 30, 40, Row{ID: 1}, a1)
	h.read(2, GetByEmail, 30, 40, Row{Email: "a"}, a1)
	h.read(3, GetByOrgHandle, 30, 40, Row{Org: 1, Handle: "x"}, a1)
	h.save(1, 50, 60, a2, true, nil)
	h.read(0, GetByID, 55, 58, Row{ID: 1}, a1) // concurrent with the write: either
	h.read(2, GetByID, 56, 59, Row{ID: 1}, a2)
	h.read(3, All, 70, 80, Row{}, a2)
	h.save(2, 90, 100, b3, true, nil)
	h.read(0, GetByEmail, 110, 120, Row{Email: "a"})
	h.read(0, GetByEmail, 110, 120, Row{Email: "b"}, b3)
	h.save(3, 130, 140, c4, true, nil)
	h.read(1, GetByEmail, 150, 160, Row{Email: "a"}, c4)
	h.read(1, All, 150, 160, Row{}, b3, c4)
	h.del(2, 170, 180, b3)
	h.read(0, GetByID, 190, 200, Row{ID: 1})
	h.read(0, GetByEmail, 190, 200, Row{Email: "b"})
	h.add(&Op{Kind: Delete, Call: 190, Return: 200, Outcome: NotFound, Lookup: Row{ID: 1}, Writes: []Write{{Delete: true, Row: Row{ID: 1}}}})
	h.in.HaveFinal, h.in.Final = true, []Row{c4}
	res := h.check(t)
	want(t, res, 0, 0, 0, 0, "ok")
	if res.Linearizability != porcupine.Ok || res.PorcupineOps == 0 {
		t.Fatalf("porcupine: %v on %d operations", res.Linearizability, res.PorcupineOps)
	}
}

func TestStaleReadAfterAckFails(t *testing.T) {
	h := newHist()
	h.save(0, 0, 10, a1, true, nil)
	h.save(1, 20, 30, a2, true, nil)
	h.read(2, GetByID, 40, 50, Row{ID: 1}, a1)
	want(t, h.check(t), 1, 0, 0, 0, "violated")
}

func TestStaleReadAgainstCommitOrderFails(t *testing.T) {
	// The writes overlap, so real time alone allows either order; the log
	// says v2 committed last and was acknowledged before the read.
	h := newHist()
	h.save(0, 0, 30, a1, true, nil)
	h.save(1, 5, 20, a2, true, nil)
	h.read(2, GetByID, 40, 50, Row{ID: 1}, a1)
	want(t, h.check(t), 1, 0, 0, 0, "ok") // porcupine, on real time alone, can order v2 first
}

func TestNotFoundAfterInsertFails(t *testing.T) {
	h := newHist()
	h.save(0, 0, 10, a1, true, nil)
	h.read(2, GetByID, 20, 30, Row{ID: 1})
	want(t, h.check(t), 1, 0, 0, 0, "violated")
}

func TestFoundAfterDeleteFails(t *testing.T) {
	h := newHist()
	h.save(0, 0, 10, a1, true, nil)
	h.del(1, 20, 30, a1)
	h.read(2, GetByID, 40, 50, Row{ID: 1}, a1)
	want(t, h.check(t), 1, 0, 0, 0, "violated")
}

func TestAbsenceFromALaterDeleteFails(t *testing.T) {
	// The delete began before the read, but committed after a save that
	// began after the read ended: the read cannot have seen it.
	h := newHist()
	h.save(0, 0, 10, a1, true, nil)
	h.save(1, 60, 70, a2, true, nil)
	h.del(2, 20, 100, a2)
	h.read(3, GetByID, 40, 50, Row{ID: 1})
	want(t, h.check(t), 1, 0, 0, 0, "ok") // real time alone can order the delete first
}

func TestReadNewThenOldInsideWriteFails(t *testing.T) {
	// Not stale after an ack (v2 is never acknowledged before the reads),
	// but no order explains a read of v2 followed by a read of v1.
	h := newHist()
	h.save(0, 0, 10, a1, true, nil)
	h.save(1, 20, 100, a2, true, nil)
	h.read(2, GetByID, 30, 40, Row{ID: 1}, a2)
	h.read(3, GetByID, 50, 60, Row{ID: 1}, a1)
	want(t, h.check(t), 0, 0, 0, 0, "violated")
}

func TestUniqueValueMovesBetweenRows(t *testing.T) {
	base := func() *hist {
		h := newHist()
		h.save(0, 0, 10, a1, true, nil)
		h.save(0, 20, 30, b3, true, nil) // email a released
		h.save(1, 40, 50, c4, true, nil) // and taken by row 2
		return h
	}
	h := base()
	h.read(2, GetByEmail, 60, 70, Row{Email: "a"}, a1) // the row that left
	want(t, h.check(t), 1, 0, 0, 0, "violated")

	h = base()
	h.read(2, GetByEmail, 60, 70, Row{Email: "a"}) // not found, after row 2 took it
	want(t, h.check(t), 1, 0, 0, 0, "ok")          // porcupine checks primary keys only

	h = base()
	h.read(2, GetByOrgHandle, 60, 70, Row{Org: 1, Handle: "x"}, c4)
	h.read(2, GetByEmail, 60, 70, Row{Email: "a"}, c4)
	h.read(2, GetByEmail, 35, 45, Row{Email: "a"}) // between the release and the take: absent
	want(t, h.check(t), 0, 0, 0, 0, "ok")
}

func TestWrongRowsFail(t *testing.T) {
	for name, got := range map[string]Row{
		"another key's row":        {ID: 1, Email: "a", Org: 1, Handle: "x", Version: 1},
		"a version never written":  {ID: 2, Email: "a", Org: 1, Handle: "x", Version: 99},
		"values the version lacks": {ID: 2, Email: "z", Org: 1, Handle: "x", Version: 4},
	} {
		t.Run(name, func(t *testing.T) {
			h := newHist()
			h.save(0, 0, 10, a1, true, nil)
			h.save(0, 20, 30, b3, true, nil)
			h.save(0, 40, 50, c4, true, nil)
			h.read(1, GetByID, 60, 70, Row{ID: 2}, got)
			want(t, h.check(t), 0, 1, 0, 0, "violated")
		})
	}
	h := newHist()
	h.save(0, 0, 10, a1, true, nil)
	h.read(1, GetByEmail, 20, 30, Row{Email: "b"}, a1)
	want(t, h.check(t), 0, 1, 0, 0, "violated")

	h = newHist()
	h.read(1, GetByID, 0, 5, Row{ID: 1}, a1) // before its write began
	h.save(0, 10, 20, a1, true, nil)
	want(t, h.check(t), 0, 1, 0, 0, "violated")
}

func TestAllIsCheckedPerKey(t *testing.T) {
	h := newHist()
	h.save(0, 0, 10, a1, true, nil)
	h.save(0, 20, 30, b3, true, nil)
	h.save(0, 40, 50, c4, true, nil)
	h.read(1, All, 60, 70, Row{}, b3) // row 2 missing
	want(t, h.check(t), 1, 0, 0, 0, "violated")
}

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

func TestLostWritesFail(t *testing.T) {
	h := newHist()
	h.save(0, 0, 10, a1, false, nil) // acknowledged, never logged
	want(t, h.check(t), 0, 0, 1, 0, "ok")

	h = newHist()
	h.save(0, 0, 10, a1, true, nil)
	h.add(&Op{Kind: Delete, Call: 20, Return: 30, Outcome: OK, Lookup: Row{ID: 1}, Writes: []Write{{Delete: true, Row: Row{ID: 1}}}})
	want(t, h.check(t), 0, 0, 1, 0, "ok")

	h = newHist()
	h.save(0, 0, 10, a1, true, nil)
	h.in.HaveFinal = true // the table lost the row the log holds
	want(t, h.check(t), 0, 0, 1, 0, "ok")

	h = newHist()
	h.save(0, 0, 10, a1, true, nil)
	h.save(1, 20, 30, a2, true, nil)
	h.in.HaveFinal, h.in.Final = true, []Row{a2}
	h.add(&Op{Kind: GetByID, Call: 40, Return: 50, Outcome: OK, Lookup: Row{ID: 1}, Rows: []Row{a1}, Final: true})
	res := h.check(t)
	if res.LostWrites != 1 || res.StaleAfterAck != 1 {
		t.Fatalf("a stale final read: lost %d stale %d, want 1 and 1", res.LostWrites, res.StaleAfterAck)
	}
}

func TestFailedWrites(t *testing.T) {
	h := newHist()
	h.save(0, 0, 10, a1, true, nil)
	h.save(1, 20, Never, a2, false, nil) // failed, never committed
	h.read(2, GetByID, 40, 50, Row{ID: 1}, a1)
	want(t, h.check(t), 0, 0, 0, 0, "ok")

	h = newHist()
	h.save(0, 0, 10, a1, true, nil)
	h.save(1, 20, Never, a2, true, nil) // failed, yet committed
	h.read(2, GetByID, 40, 50, Row{ID: 1}, a2)
	h.read(2, GetByID, 60, 70, Row{ID: 1}, a2)
	want(t, h.check(t), 0, 0, 0, 0, "ok")

	h = newHist()
	h.save(0, 0, 10, a1, true, nil)
	h.save(1, 20, Never, a2, false, nil)
	h.read(2, GetByID, 40, 50, Row{ID: 1}, a2) // a version that never committed
	want(t, h.check(t), 0, 1, 0, 0, "violated")
}

func TestRolledBackWriteMustStayInvisible(t *testing.T) {
	h := newHist()
	h.save(0, 0, 10, a1, true, nil)
	h.logRow(a2, false)
	h.add(&Op{Kind: Tx, Call: 20, Return: 30, Outcome: OK, Rollback: true, Writes: []Write{{Row: a2}}})
	want(t, h.check(t), 0, 1, 0, 0, "violated")

	h = newHist()
	h.save(0, 0, 10, a1, true, nil)
	h.add(&Op{Kind: Tx, Call: 20, Return: 30, Outcome: OK, Rollback: true, Writes: []Write{{Row: a2}}})
	h.read(1, GetByID, 40, 50, Row{ID: 1}, a1)
	want(t, h.check(t), 0, 0, 0, 0, "ok")
}

func TestTransactionsAndDeletes(t *testing.T) {
	h := newHist()
	h.save(0, 0, 10, a1, true, nil)
	// A Tx deletes row 1 and inserts row 2, committed at 40.
	h.logRow(a1, true)
	h.logRow(c4, false)
	h.add(&Op{Kind: Tx, Call: 20, Return: 40, Outcome: OK, Writes: []Write{{Delete: true, Row: Row{ID: 1}}, {Row: c4}}})
	h.read(1, GetByID, 30, 35, Row{ID: 1}, a1) // concurrent
	h.read(1, GetByID, 50, 60, Row{ID: 1})
	h.read(1, GetByEmail, 50, 60, Row{Email: "a"}, c4)
	// Row 1 comes back and is deleted twice more, by overlapping deletes.
	h.save(2, 70, 80, a2, true, nil)
	h.del(3, 90, 120, a2)
	h.save(2, 100, 110, b3, true, nil) // commits after the first delete
	h.del(0, 105, 130, b3)
	h.read(1, GetByID, 140, 150, Row{ID: 1})
	h.in.HaveFinal, h.in.Final = true, []Row{c4}
	want(t, h.check(t), 0, 0, 0, 0, "ok")

	h.read(1, GetByID, 160, 170, Row{ID: 1}, b3)
	want(t, h.check(t), 1, 0, 0, 0, "violated")
}

func TestProblemsNameTheRead(t *testing.T) {
	h := newHist()
	h.save(0, 0, 10, a1, true, nil)
	h.save(1, 20, 30, a2, true, nil)
	h.read(2, GetByID, 40, 50, Row{ID: 1}, a1)
	res := h.check(t)
	if len(res.Problems) == 0 || !strings.Contains(res.Problems[0], "stale after ack") || !strings.Contains(res.Problems[0], "v=2") {
		t.Fatalf("problems: %q", res.Problems)
	}
}

// batch adds a batch read whose positions look up lookups and returned
// got (a zero Row: no row), aligned.
func (h *hist) batch(rt int, kind Kind, call, ret int64, lookups, got []Row) *Op {
	return h.add(&Op{Runtime: rt, Kind: kind, Call: call, Return: ret, Outcome: OK, Lookups: lookups, Rows: got})
}

// TestBatchPositionsAreCheckedOneByOne: each position of a batch read
// (GetByIDs, GetByEmails, LoadAccounts) is judged as the single read of its
// key would be, repeated keys and keys with no row included; one stale or
// wrong position makes the batch stale or wrong.
func TestBatchPositionsAreCheckedOneByOne(t *testing.T) {
	base := func() *hist {
		h := newHist()
		h.save(0, 0, 10, a1, true, nil)
		h.save(0, 20, 30, b3, true, nil)
		h.save(1, 40, 50, c4, true, nil)
		return h
	}
	none := Row{}
	h := base()
	h.batch(2, GetByIDs, 60, 70, []Row{{ID: 2}, {ID: 1}, {ID: 2}, {ID: 9}}, []Row{c4, b3, c4, none})
	h.batch(3, LoadAccounts, 60, 70, []Row{{ID: 1}, {ID: 1}}, []Row{b3, b3})
	h.batch(2, GetByEmails, 60, 70, []Row{{Email: "a"}, {Email: "b"}, {Email: "zz"}, {Email: "a"}}, []Row{c4, b3, none, c4})
	h.add(&Op{Runtime: 1, Kind: LoadAccount, Call: 60, Return: 70, Outcome: OK, Lookup: Row{ID: 2}, Rows: []Row{c4}})
	h.in.HaveFinal, h.in.Final = true, []Row{b3, c4}
	h.batch(2, GetByIDs, 80, 90, []Row{{ID: 1}, {ID: 2}, {ID: 9}}, []Row{b3, c4, none}).Final = true
	want(t, h.check(t), 0, 0, 0, 0, "ok")

	for name, got := range map[string][]Row{
		"a stale position":            {c4, a1, c4, none},
		"a row read as absent":        {c4, none, c4, none},
		"a repeated key, once absent": {c4, b3, none, none},
	} {
		t.Run(name, func(t *testing.T) {
			h := base()
			h.batch(2, GetByIDs, 60, 70, []Row{{ID: 2}, {ID: 1}, {ID: 2}, {ID: 9}}, got)
			want(t, h.check(t), 1, 0, 0, 0, "violated")
		})
	}
	h = base()
	h.batch(2, GetByEmails, 60, 70, []Row{{Email: "b"}, {Email: "a"}}, []Row{b3, none}) // row 2 took a before
	want(t, h.check(t), 1, 0, 0, 0, "ok")                                               // porcupine checks primary keys only
	h = base()
	h.batch(3, LoadAccounts, 60, 70, []Row{{ID: 1}, {ID: 1}}, []Row{b3, a1})
	want(t, h.check(t), 1, 0, 0, 0, "violated")
	h = base()
	h.batch(2, GetByEmails, 60, 70, []Row{{Email: "b"}, {Email: "a"}}, []Row{b3, b3}) // a row that is not the email's
	want(t, h.check(t), 0, 1, 0, 0, "violated")
	h = base()
	h.batch(2, GetByIDs, 60, 70, []Row{{ID: 1}, {ID: 2}}, []Row{b3}) // a position missing
	want(t, h.check(t), 0, 1, 0, 0, "violated")
	h = base()
	h.in.HaveFinal, h.in.Final = true, []Row{b3, c4}
	h.batch(2, GetByIDs, 80, 90, []Row{{ID: 1}, {ID: 2}}, []Row{b3, a1}).Final = true
	res := h.check(t)
	if res.LostWrites != 1 {
		t.Fatalf("a final batch read that disagrees with the table: lost_writes=%d", res.LostWrites)
	}
}

// TestNicknameIsCheckedForTheSecondBuild: a read of the build that maps
// the nickname must return the nickname its version has in the log; a
// read of the first build says nothing of it, and a write of the first
// build leaves the nickname the row had.
func TestNicknameIsCheckedForTheSecondBuild(t *testing.T) {
	wide := Row{ID: 1, Email: "a", Org: 1, Handle: "x", Version: 1, Nick: "n1"}
	narrow := Row{ID: 1, Email: "b", Org: 1, Handle: "x", Version: 2} // written by the first build
	logged := narrow
	logged.Nick = "n1" // the nickname the first build's update left
	base := func() *hist {
		h := newHist()
		h.save(0, 0, 10, wide, true, nil).Wide = true
		h.save(1, 20, 30, narrow, false, nil)
		h.logRow(logged, false)
		return h
	}
	h := base()
	h.read(1, GetByID, 40, 50, Row{ID: 1}, narrow)
	h.read(0, GetByID, 40, 50, Row{ID: 1}, logged).Wide = true
	want(t, h.check(t), 0, 0, 0, 0, "ok")

	h = base()
	h.read(0, GetByID, 40, 50, Row{ID: 1}, narrow).Wide = true // the nickname lost on the way
	want(t, h.check(t), 0, 1, 0, 0, "violated")
}

// TestPruningImpliedReadsKeepsTheVerdict: porcupine's verdict on random
// small register histories is the same with and without the reads
// pruneImpliedReads drops, and it drops some.
func TestPruningImpliedReadsKeepsTheVerdict(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	dropped := 0
	for round := range 400 {
		var ops []porcupine.Operation
		for i := range 4 + rng.IntN(8) {
			call := rng.Int64N(100)
			op := porcupine.Operation{ClientId: i, Call: call, Return: call + 1 + rng.Int64N(40)}
			key := int64(1 + rng.IntN(2))
			if rng.IntN(3) == 0 {
				op.Input, op.Output = pInput{key: key, write: true, value: int64(1 + rng.IntN(3))}, int64(0)
			} else {
				op.Input, op.Output = pInput{key: key}, int64(rng.IntN(4))
			}
			ops = append(ops, op)
		}
		kept, n := pruneImpliedReads(ops)
		dropped += n
		if len(kept)+n != len(ops) {
			t.Fatalf("round %d: kept %d and dropped %d of %d", round, len(kept), n, len(ops))
		}
		full := porcupine.CheckOperations(registerModel, ops)
		pruned := porcupine.CheckOperations(registerModel, kept)
		if full != pruned {
			t.Fatalf("round %d: linearizable %v, after pruning %v: %+v", round, full, pruned, ops)
		}
	}
	if dropped == 0 {
		t.Fatal("no read was ever implied by another")
	}
}
