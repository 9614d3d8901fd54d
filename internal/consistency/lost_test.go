package consistency

import (
	"testing"
)

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
