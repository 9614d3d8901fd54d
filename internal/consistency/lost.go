package consistency

// lost.go: the lost-writes rule. Every acknowledged write is in the
// database, and the final sweeps through every runtime agree with it.

import (
	"fmt"
	"slices"
	"sort"
)

func (a *analysis) checkLost() {
	ackedDeletes := map[int64]int{}
	for _, op := range a.in.Ops {
		if !acked(op) {
			continue
		}
		for _, w := range op.Writes {
			switch {
			case w.Delete && !w.NotFound && !(op.Kind == Delete && op.Outcome == NotFound):
				ackedDeletes[w.Row.ID]++
			case !w.Delete:
				if _, ok := a.logged[w.Row.Version]; !ok {
					a.res.LostWrites++
					a.res.problem("lost write: %s was acknowledged but the database never held %v", op, w.Row)
				}
			}
		}
	}
	loggedDeletes := map[int64]int{}
	for _, e := range a.in.Log {
		if e.Deleted {
			loggedDeletes[e.Row.ID]++
		}
	}
	for id, n := range ackedDeletes {
		if loggedDeletes[id] < n {
			a.res.LostWrites += n - loggedDeletes[id]
			a.res.problem("lost write: %d deletes of id %d were acknowledged, the log holds %d", n, id, loggedDeletes[id])
		}
	}
	if !a.in.HaveFinal {
		return
	}
	final := map[int64]Row{}
	for _, r := range a.in.Final {
		final[r.ID] = r
	}
	ids := slices.Clone(a.in.IDs)
	for id := range a.last {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		row, ok := final[id]
		last := a.last[id]
		if ok != (last != nil) || (ok && !sameRow(row, *last, true)) {
			a.res.LostWrites++
			a.res.problem("the table holds %v for id %d, the log's last entry is %v", row, id, last)
			continue
		}
		// The final state must be one a maximal acknowledged write could
		// have left: no acknowledged write began after its writer's ack.
		if msg := a.notMaximal(id, ok, row); msg != "" {
			a.res.LostWrites++
			a.res.problem("lost write: id %d: %s", id, msg)
		}
	}
	for _, op := range a.in.Ops {
		if op.Final && op.Outcome != Failed {
			if msg := finalMismatch(op, a.in.Final); msg != "" {
				a.res.LostWrites++
				a.res.problem("final read disagrees with the database: %s: %s", op, msg)
			}
		}
	}
}

// notMaximal checks the final state of id against the acknowledged writes
// in real time alone: some write that can have left it must not have been
// followed by another acknowledged write of id.
func (a *analysis) notMaximal(id int64, present bool, row Row) string {
	type write struct {
		call, ret int64 // ret: Never when not acknowledged
		st        state
	}
	var writes []write
	for _, op := range a.in.Ops {
		if op.Rollback || (op.Kind == Delete && op.Outcome == NotFound) {
			continue
		}
		for _, x := range op.Writes {
			if x.Row.ID != id || x.NotFound {
				continue
			}
			if _, ok := a.logged[x.Row.Version]; !acked(op) && !x.Delete && !ok {
				continue // failed, and never committed
			}
			w := write{call: op.Call, ret: Never}
			if acked(op) {
				w.ret = op.Return
			}
			if !x.Delete {
				w.st = state{id, x.Row.Version}
			}
			writes = append(writes, w)
		}
	}
	want := state{}
	if present {
		want = state{id, row.Version}
	}
	var cands []write // what can have left the final state
	if !present {
		cands = append(cands, write{call: -1, ret: -1}) // the table started empty
	}
	for _, w := range writes {
		if w.st == want {
			cands = append(cands, w)
		}
	}
	for _, c := range cands {
		followed := false
		for _, w := range writes {
			if w.ret != Never && w.call > c.ret && w != c {
				followed = true
				break
			}
		}
		if !followed {
			return ""
		}
	}
	return fmt.Sprintf("the table holds %s, which an acknowledged later write replaced", want)
}

func finalMismatch(op *Op, final []Row) string {
	if !op.Wide {
		// The first build does not map the nickname.
		final = slices.Clone(final)
		for i := range final {
			final[i].Nick = ""
		}
	}
	if op.Kind.IsBatch() {
		for i, l := range op.Lookups {
			want := finalRows(op.Kind.single(), l, final)
			got := Row{}
			if i < len(op.Rows) {
				got = op.Rows[i]
			}
			switch {
			case len(want) == 0 && got != (Row{}):
				return fmt.Sprintf("position %d: the database holds no row", i)
			case len(want) > 0 && got != want[0]:
				return fmt.Sprintf("position %d: the database holds %v", i, want[0])
			}
		}
		return ""
	}
	want := finalRows(op.Kind.single(), op.Lookup, final)
	sort.Slice(want, func(i, j int) bool { return want[i].ID < want[j].ID })
	got := op.Rows
	if op.Outcome == NotFound {
		got = nil
	}
	if !slices.Equal(got, want) {
		return fmt.Sprintf("the database holds %v", want)
	}
	return ""
}

// finalRows returns the rows of final that answer a lookup of kind
// (GetByID, GetByEmail, GetByOrgHandle; All: every row).
func finalRows(kind Kind, lookup Row, final []Row) []Row {
	var want []Row
	for _, r := range final {
		switch kind {
		case GetByID:
			if r.ID == lookup.ID {
				want = append(want, r)
			}
		case GetByEmail:
			if r.Email == lookup.Email {
				want = append(want, r)
			}
		case GetByOrgHandle:
			if r.Org == lookup.Org && r.Handle == lookup.Handle {
				want = append(want, r)
			}
		case GetByVersion:
			if r.Version == lookup.Version {
				want = append(want, r)
			}
		case All:
			want = append(want, r)
		}
	}
	return want
}
