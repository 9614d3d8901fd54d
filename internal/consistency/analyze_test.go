package consistency

import (
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

// batch adds a batch read whose positions look up lookups and returned
// got (a zero Row: no row), aligned.
func (h *hist) batch(rt int, kind Kind, call, ret int64, lookups, got []Row) *Op {
	return h.add(&Op{Runtime: rt, Kind: kind, Call: call, Return: ret, Outcome: OK, Lookups: lookups, Rows: got})
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
