package consistency

// stale.go: the stale-after-ack rule and wrong answers. Every read, each
// position of a batch read as the single read of its key, is judged
// against its key's register.

import (
	"fmt"
	"slices"
	"sort"
)

// verdict is what one read of one register says.
type verdict struct {
	wrong    bool  // no write that started before the read ended produced that state
	seen     int   // the latest position with the state read
	latest   int   // the latest position acknowledged before the read began
	missed   []int // acknowledged positions after seen, before the read began
	excused  bool  // stale, and every missed write is excused by rule E or rule N
	nearOK   bool  // stale, and every missed write is excused by rule N alone
	stale    int64 // excused: how long after the first missed ack the read began
	affected bool  // a write after seen that lost a lock overlapped the read
	// overtaken: with near caches, a write of another runtime replaced the
	// state read and began before the read did, so a near cache may have
	// served the state after the write took effect (see judge).
	overtaken bool
	// cdcLag: a Raw write replaced the state read (at any position it
	// held) and began before the read did, but its CDC bound had not run
	// out: the cache may still serve the state it replaced, so porcupine
	// leaves the read out.
	cdcLag bool
}

func (v *verdict) isStale() bool { return !v.wrong && v.seen < v.latest }

// check judges a read [call, ret] in runtime rt that returned st. bound is
// the by-design staleness bound (rule E), near the near caches'
// MaxStaleness (rule N; 0: no near cache).
func (r *register) check(call, ret int64, rt int, st state, bound, near int64) verdict {
	v := verdict{seen: -1}
	// The read can have seen position i only if every write up to i began
	// before it ended: commits of one key happen in log order.
	limit := r.visibleBy(ret)
	ps := r.byState[st]
	for k := len(ps) - 1; k >= 0; k-- {
		if ps[k] <= limit {
			v.seen = ps[k]
			break
		}
	}
	if v.seen < 0 {
		v.wrong = true
		return v
	}
	v.latest = r.lastAckedBefore(call)
	for i := v.seen + 1; i <= v.latest; i++ {
		if r.pos[i].p.ret < call {
			v.missed = append(v.missed, i)
		}
	}
	v.affected = r.affected(call, v.seen, limit, ps)
	// From the earliest position with the state read: an absence may be
	// the one before the raw write as well as a later one.
	for i := ps[0] + 1; i < len(r.pos); i++ {
		if p := r.pos[i].p; p.cdc && p.call < call && p.ret >= call {
			v.cdcLag = true
			break
		}
	}
	if near > 0 {
		v.overtaken = r.overtaken(call, rt, v.seen)
	}
	if v.isStale() {
		r.excuse(&v, call, rt, bound, near)
	}
	return v
}

// affected reports whether a read that began at call, saw position seen
// (among ps, the positions of its state) and could see no position after
// limit may have been served a state a write that lost a lock left in the
// store. It may come from any position with that state that no write with
// its lock in place replaced before the read began; if a write that lost a
// lock follows the earliest of them (and can precede the read), what the
// read saw may be such a leftover.
func (r *register) affected(call int64, seen, limit int, ps []int) bool {
	earliest := seen
	if clean := r.lastCleanBefore(call); clean < seen {
		k := sort.SearchInts(ps, clean)
		if k < len(ps) && ps[k] <= seen {
			earliest = ps[k]
		}
	}
	k := sort.SearchInts(r.lostLocks, earliest+1)
	return k < len(r.lostLocks) && r.lostLocks[k] <= limit
}

func (r *register) describe(v verdict) string {
	s := fmt.Sprintf("%s: read %s (position %d, by %s); ", r.key, r.pos[v.seen].st, v.seen, r.pos[v.seen].p.desc)
	for k, i := range v.missed {
		if k == 3 {
			s += fmt.Sprintf("and %d more", len(v.missed)-k)
			break
		}
		p := r.pos[i].p
		s += fmt.Sprintf("missed position %d %s by %s (acked %s, lost lock %v, lost release %v); ", i, r.pos[i].st, p.desc, fmtTime(p.ret), p.lostLock, p.lostRelease)
	}
	return s
}

// subRead is one register a read says something about.
type subRead struct {
	reg *register
	st  state
	pk  int64 // the pk register porcupine checks it against (0: none)
}

func (a *analysis) checkReads() {
	for _, op := range a.in.Ops {
		if op.Outcome == Failed {
			continue
		}
		var subs []subRead
		switch op.Kind {
		case GetByID, GetByEmail, GetByOrgHandle, LoadAccount, GetByVersion:
			var row *Row
			if op.Outcome == OK {
				if len(op.Rows) != 1 {
					a.wrong(op, "a lookup returned %d rows", len(op.Rows))
					continue
				}
				row = &op.Rows[0]
			}
			sub, msg := a.position(op, op.Kind.single(), op.Lookup, row)
			if msg != "" {
				a.wrong(op, "%s", msg)
				continue
			}
			subs = append(subs, sub)
		case GetByIDs, GetByEmails, LoadAccounts:
			// Each position is a read of its own key, judged as the single
			// read would be, over the span of the whole batch.
			if len(op.Rows) != len(op.Lookups) {
				a.wrong(op, "a batch read of %d keys returned %d positions", len(op.Lookups), len(op.Rows))
				continue
			}
			bad := ""
			for i := range op.Lookups {
				var row *Row
				if op.Rows[i] != (Row{}) {
					row = &op.Rows[i]
				}
				sub, msg := a.position(op, op.Kind.single(), op.Lookups[i], row)
				if msg != "" {
					bad = fmt.Sprintf("position %d: %s", i, msg)
					break
				}
				subs = append(subs, sub)
			}
			if bad != "" {
				a.wrong(op, "%s", bad)
				continue
			}
		case All:
			have := map[int64]Row{}
			bad := ""
			for i, row := range op.Rows {
				if i > 0 && row.ID <= op.Rows[i-1].ID {
					bad = "All is not ordered by id"
				}
				if msg := a.rowProblem(op, All, Row{}, row); msg != "" {
					bad = msg
				}
				have[row.ID] = row
			}
			for id := range have {
				if !slices.Contains(a.in.IDs, id) {
					bad = fmt.Sprintf("All returned id %d, outside the key set", id)
				}
			}
			if bad != "" {
				a.wrong(op, "%s", bad)
				continue
			}
			for _, id := range a.in.IDs {
				st := state{}
				if row, ok := have[id]; ok {
					st = state{id, row.Version}
				}
				subs = append(subs, subRead{reg: a.lookup(regKey{0, id, ""}), st: st, pk: id})
			}
		case Delete:
			if op.Outcome != NotFound {
				continue
			}
			subs = append(subs, subRead{reg: a.lookup(regKey{0, op.Lookup.ID, ""}), st: state{}, pk: op.Lookup.ID})
		default:
			continue
		}
		a.judge(op, subs)
	}
}

// position returns the register a single lookup (kind GetByID, GetByEmail
// or GetByOrgHandle; of a single read or of one position of a batch) says
// something about, and the state it read (row nil: no row), or what is
// wrong with the row.
func (a *analysis) position(op *Op, kind Kind, lookup Row, row *Row) (subRead, string) {
	st := state{}
	if row != nil {
		if msg := a.rowProblem(op, kind, lookup, *row); msg != "" {
			return subRead{}, msg
		}
		st = state{row.ID, row.Version}
	}
	var k regKey
	switch kind {
	case GetByID:
		k = regKey{0, lookup.ID, ""}
	case GetByEmail:
		k = regKey{1, 0, lookup.Email}
	case GetByVersion:
		k = regKey{3, lookup.Version, ""}
	default:
		k = regKey{2, lookup.Org, lookup.Handle}
	}
	sub := subRead{reg: a.lookup(k), st: st}
	if row != nil {
		sub.pk = row.ID
	} else if kind == GetByID {
		sub.pk = lookup.ID
	}
	return sub, ""
}

// rowProblem says what is wrong with a row a read returned for lookup
// (kind: the single lookup it is, or All): a version no committed write
// produced, values that version never had (the nickname too, for a read of
// the build that maps it), or a row that does not answer the lookup.
func (a *analysis) rowProblem(op *Op, kind Kind, lookup, row Row) string {
	logged, ok := a.logged[row.Version]
	switch {
	case !ok:
		return fmt.Sprintf("returned %v, a version that never committed", row)
	case !sameRow(logged, row, op.Wide):
		return fmt.Sprintf("returned %v, but that version is %v", row, logged)
	}
	switch kind {
	case GetByID:
		if row.ID != lookup.ID {
			return fmt.Sprintf("returned %v for id %d", row, lookup.ID)
		}
	case GetByEmail:
		if row.Email != lookup.Email {
			return fmt.Sprintf("returned %v for email %s", row, lookup.Email)
		}
	case GetByOrgHandle:
		if row.Org != lookup.Org || row.Handle != lookup.Handle {
			return fmt.Sprintf("returned %v for org %d handle %s", row, lookup.Org, lookup.Handle)
		}
	case GetByVersion:
		if row.Version != lookup.Version {
			return fmt.Sprintf("returned %v for version %d", row, lookup.Version)
		}
	}
	return ""
}

func (a *analysis) wrong(op *Op, format string, args ...any) {
	a.res.Wrong++
	a.res.problem("wrong answer: %s: %s", op, fmt.Sprintf(format, args...))
}

// judgement is what the judging of a read's positions found.
type judgement struct {
	stale, excused, wrong, nearOK bool
	staleness, nearStaleness      int64
	first                         string // the first violation, described
	// Per position: whether porcupine checks it, with its invocation moved
	// NearBound earlier (widen), and the register position it saw.
	include, widen []bool
	seen           []int
}

// judge judges every position of a read, counts the read, and hands the
// positions it keeps to porcupine.
func (a *analysis) judge(op *Op, subs []subRead) {
	j := a.judgePositions(op, subs)
	if a.tally(op, j) {
		a.addPorcupineReads(op, subs, j)
	}
}

// judgePositions judges each position of a read against its register.
func (a *analysis) judgePositions(op *Op, subs []subRead) *judgement {
	j := &judgement{include: make([]bool, len(subs)), widen: make([]bool, len(subs)), seen: make([]int, len(subs))}
	for i, s := range subs {
		v := s.reg.check(op.Call, op.Return, op.Runtime, s.st, a.in.StaleBound, a.in.NearBound)
		j.seen[i] = v.seen
		switch {
		case v.wrong:
			j.wrong = true
			j.first = fmt.Sprintf("%s: no write that began before the read ended left %s", s.reg.key, s.st)
		case v.isStale() && !v.excused:
			if !j.stale {
				j.first = s.reg.describe(v)
				if v.stale > a.in.StaleBound && a.in.StaleBound > 0 {
					j.first += fmt.Sprintf("staleness %.1fms beyond the bound", ms(v.stale))
				}
				if a.in.NearBound > 0 {
					j.first += fmt.Sprintf(" (near caches: MaxStaleness %.1fms, the read began %.1fms after the first missed ack)", ms(a.in.NearBound), ms(v.stale))
				}
			}
			j.stale = true
		case v.nearOK:
			j.nearOK = true
			j.nearStaleness = max(j.nearStaleness, v.stale)
		case v.isStale():
			if !j.excused && len(a.res.ExcusedExamples) < 3 {
				a.res.ExcusedExamples = append(a.res.ExcusedExamples, fmt.Sprintf("%s: %s", op, s.reg.describe(v)))
			}
			j.excused = true
			j.staleness = max(j.staleness, v.stale)
		}
		// Reads a store fault may have let see an older value are left out
		// of porcupine's check; a stale read no rule excuses stays in.
		//
		// With near caches, the reads rule N allows are not left out but
		// modeled: the guarantee is that a read sees every write of another
		// runtime acknowledged MaxStaleness before it began, which is
		// linearizability with the read's invocation moved MaxStaleness
		// earlier. Excluding only the stale reads would not do: a read may
		// also return a state that a write not yet acknowledged replaced,
		// after another runtime's read that ended before it began returned
		// the new state (the bus had not yet delivered the write's
		// announcement); strict porcupine rejects that, rule N allows it.
		// So every read whose state a write of another runtime overtook
		// before the read began (the only reads a near cache can have
		// served behind the store) has its invocation moved back, by
		// MaxStaleness and no more; every other read stays as it was, and
		// a read rule N does not allow stays in, unmoved.
		j.include[i] = !v.wrong && (v.isStale() && !v.excused || !v.affected && !v.cdcLag && (!v.isStale() || v.nearOK))
		j.widen[i] = j.include[i] && v.overtaken && (!v.isStale() || v.nearOK)
	}
	return j
}

// tally counts a judged read: wrong, stale after ack, or excused by rule E
// or rule N. It reports whether porcupine is to check the read (a wrong
// answer is counted already).
func (a *analysis) tally(op *Op, j *judgement) bool {
	switch {
	case j.wrong:
		a.wrong(op, "%s", j.first)
		return false
	case j.stale:
		a.res.StaleAfterAck++
		if a.res.StaleByKind == nil {
			a.res.StaleByKind = map[Kind]int{}
		}
		a.res.StaleByKind[op.Kind]++
		a.res.problem("stale after ack: %s: %s", op, j.first)
	default:
		if j.excused {
			a.res.Excused++
			a.res.MaxStaleness = max(a.res.MaxStaleness, j.staleness)
		}
		if j.nearOK {
			a.res.NearWithinBound++
			a.res.NearMaxStaleness = max(a.res.NearMaxStaleness, j.nearStaleness)
		}
	}
	return true
}
