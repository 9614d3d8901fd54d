package consistency

// commitorder.go: the registers built from the database's change log,
// which gives the commit order of every row and every unique value, each
// position tied to the write that made it and what its trace saw.

import (
	"slices"
	"sort"
)

func (a *analysis) indexWrites() {
	for _, op := range a.in.Ops {
		for i := range op.Writes {
			w := &op.Writes[i]
			if !w.Delete {
				a.byVersion[w.Row.Version] = op
				a.writeOf[w.Row.Version] = w
			}
		}
	}
	for _, e := range a.in.Log {
		if !e.Deleted {
			a.logged[e.Row.Version] = e.Row
		}
	}
}

func (a *analysis) lockLost(from, to int64) bool {
	for _, iv := range a.in.LockLoss {
		if iv.From <= to && from <= iv.To {
			return true
		}
	}
	return false
}

// expectedKeys is how many cache keys a write from old to new locks and
// releases: the primary key, the old and new unique values, and All.
func expectedKeys(old, new *Row) int {
	n := 2 // pk, All
	switch {
	case old == nil || new == nil:
		n += 2
	default:
		n += 2
		if old.Email != new.Email {
			n++
		}
		if old.Org != new.Org || old.Handle != new.Handle {
			n++
		}
	}
	return n
}

func (a *analysis) producerOf(op *Op, w *Write, old, new *Row) *producer {
	p := &producer{call: op.Call, ret: Never, end: op.Return, runtime: op.Runtime, desc: op.String()}
	if acked(op) {
		p.ret = op.Return
	}
	if op.Kind == Raw {
		// Only the change stream invalidates it: it counts as acknowledged
		// the CDC bound after it returned; a read that began in between may
		// miss it.
		p.cdc = true
		if p.ret != Never {
			p.ret += a.in.CDCBound
		}
	}
	n := expectedKeys(old, new)
	locked, unlocked, lockErrs, unlockErrs := n, n, 0, 0
	if w.Trace != nil {
		locked, unlocked, lockErrs, unlockErrs = w.Trace.counts()
	}
	p.lostLock = lockErrs > 0 || locked < n || a.lockLost(op.Call, op.Return) ||
		(a.in.LockTTL > 0 && op.Return-op.Call > a.in.LockTTL)
	p.lostRelease = unlockErrs > 0 || unlocked < n
	if w.Trace != nil {
		// With near caches: the runtime handles a failed announcement
		// before commit as a failed lock (other processes may keep what
		// the write replaced), and announces the keys again after commit;
		// one that fails then is a failed release (queued for a retry). A
		// lock the store lost (above) is not excused by a release that
		// went through: nothing drops what another process's near cache
		// copied meanwhile, unless the write announces its keys again.
		_, preErrs, _, postErrs := w.Trace.publishes()
		p.lostLock = p.lostLock || preErrs > 0
		p.lostRelease = p.lostRelease || postErrs > 0
	}
	return p
}

type delCand struct {
	op *Op
	w  *Write
}

type logItem struct {
	e   LogEntry
	old *Row
	p   *producer
}

func (a *analysis) buildRegisters() {
	bySeq, dels := a.deletes()
	items, perID := a.logItems()
	// Deletes: the candidates are the deletes of that id whose span can hold
	// the commit, between the writes before and after it.
	for id, idx := range perID {
		for k, i := range idx {
			if items[i].e.Deleted {
				items[i].p = a.deleteProducer(items, idx, k, bySeq, dels[id])
			}
		}
	}
	for _, it := range items {
		a.addToRegisters(it)
	}
	for _, id := range a.in.IDs {
		a.reg(regKey{0, id, ""})
	}
	for _, r := range a.regs {
		r.finish()
	}
}

// deletes returns the deletes of the history: each traced delete knows the
// log entry it wrote (bySeq); the others, by id, may have made any delete
// of their id the traced ones did not.
func (a *analysis) deletes() (bySeq map[int64]delCand, byID map[int64][]delCand) {
	bySeq, byID = map[int64]delCand{}, map[int64][]delCand{}
	for _, op := range a.in.Ops {
		if op.Rollback || (op.Kind == Delete && op.Outcome == NotFound) {
			continue
		}
		for i := range op.Writes {
			w := &op.Writes[i]
			if !w.Delete || w.NotFound {
				continue
			}
			if seq := w.Trace.seq(); seq != 0 {
				bySeq[seq] = delCand{op, w}
			} else {
				byID[w.Row.ID] = append(byID[w.Row.ID], delCand{op, w})
			}
		}
	}
	return bySeq, byID
}

// logItems walks the log in seq order: each entry with the row it
// replaced and, for a write, the operation that made it; perID lists each
// id's entries. It leaves each id's last row in a.last.
func (a *analysis) logItems() (items []logItem, perID map[int64][]int) {
	log := slices.Clone(a.in.Log)
	sort.SliceStable(log, func(i, j int) bool { return log[i].Seq < log[j].Seq })
	items, perID = make([]logItem, len(log)), map[int64][]int{}
	cur := map[int64]*Row{}
	for i, e := range log {
		id := e.Row.ID
		items[i] = logItem{e: e, old: cur[id]}
		perID[id] = append(perID[id], i)
		if e.Deleted {
			cur[id] = nil
			continue
		}
		row := e.Row
		cur[id] = &row
		op := a.byVersion[e.Row.Version]
		if op == nil {
			a.res.Wrong++
			a.res.problem("the log holds %v, a version no operation wrote", e.Row)
			items[i].p = &producer{call: 0, ret: Never, runtime: -1, desc: "unknown writer of " + e.Row.String()}
			continue
		}
		w := a.writeOf[e.Row.Version]
		if !sameRow(w.Row, e.Row, op.Wide) {
			a.res.LostWrites++
			a.res.problem("the log holds %v but %s wrote %v", e.Row, op, w.Row)
		}
		if op.Rollback {
			a.res.Wrong++
			a.res.problem("a rolled back write committed: %v by %s", e.Row, op)
		}
		items[i].p = a.producerOf(op, w, items[i].old, &row)
	}
	a.last = cur
	return items, perID
}

// deleteProducer returns the write that made items[idx[k]], a delete of
// one id (idx: that id's entries), among the traced deletes (bySeq) and
// the untraced ones of the id (dels) whose span can hold its commit.
func (a *analysis) deleteProducer(items []logItem, idx []int, k int, bySeq map[int64]delCand, dels []delCand) *producer {
	i := idx[k]
	var prev, next *producer
	if k > 0 {
		prev = items[idx[k-1]].p
	}
	if k+1 < len(idx) && !items[idx[k+1]].e.Deleted {
		next = items[idx[k+1]].p
	}
	old := items[i].old
	if old == nil {
		row := items[i].e.Row
		old = &row
	}
	if c, ok := bySeq[items[i].e.Seq]; ok {
		return a.producerOf(c.op, c.w, old, nil)
	}
	var cands []delCand
	for _, c := range dels {
		if prev != nil && c.op.Return < prev.call {
			continue
		}
		if next != nil && next.ret != Never && c.op.Call > next.ret {
			continue
		}
		cands = append(cands, c)
	}
	if len(cands) == 0 {
		a.res.Wrong++
		a.res.problem("the log holds a delete of %v that no operation made", items[i].e.Row)
		return &producer{call: 0, ret: Never, runtime: -1, desc: "unknown delete of " + items[i].e.Row.String()}
	}
	p := a.producerOf(cands[0].op, cands[0].w, old, nil)
	for _, c := range cands[1:] {
		q := a.producerOf(c.op, c.w, old, nil)
		p.call, p.end = min(p.call, q.call), max(p.end, q.end)
		p.ret = max(p.ret, q.ret)
		p.lostLock = p.lostLock || q.lostLock
		p.lostRelease = p.lostRelease || q.lostRelease
		p.runtime = -1
		p.desc += " or " + q.desc
	}
	return p
}

// addToRegisters adds a log entry to the registers it changes: its primary
// key's, and the unique values' it left and took.
func (a *analysis) addToRegisters(it logItem) {
	e, old, p := it.e, it.old, it.p
	if p.lostLock || p.lostRelease {
		a.res.Impaired++
	}
	id := e.Row.ID
	var nw *Row
	if !e.Deleted {
		r := e.Row
		nw = &r
	}
	st := state{}
	if nw != nil {
		st = state{id, nw.Version}
	}
	a.reg(regKey{0, id, ""}).add(st, p)
	if old != nil && (nw == nil || old.Email != nw.Email) {
		a.reg(regKey{1, 0, old.Email}).add(state{}, p)
	}
	if nw != nil {
		a.reg(regKey{1, 0, nw.Email}).add(st, p)
	}
	if old != nil && (nw == nil || old.Org != nw.Org || old.Handle != nw.Handle) {
		a.reg(regKey{2, old.Org, old.Handle}).add(state{}, p)
	}
	if nw != nil {
		a.reg(regKey{2, nw.Org, nw.Handle}).add(st, p)
	}
	// The version: an index only the second build declares, which the
	// first locks through the build board.
	if old != nil && (nw == nil || old.Version != nw.Version) {
		a.reg(regKey{3, old.Version, ""}).add(state{}, p)
	}
	if nw != nil {
		a.reg(regKey{3, nw.Version, ""}).add(st, p)
	}
}
