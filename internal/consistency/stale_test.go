package consistency

import (
	"testing"
)

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
