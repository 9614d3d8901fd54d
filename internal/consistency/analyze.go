package consistency

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/anishathalye/porcupine"
)

// Input is a recorded run: the operations, the database's change log and
// final contents, and what the checker knows about the faults it injected.
type Input struct {
	Ops   []*Op
	Log   []LogEntry // account_log, in seq order: the commit order of each row and each unique value
	Final []Row      // the table read straight from the database at the end
	// HaveFinal says Final was read (a test may leave it out).
	HaveFinal bool
	IDs       []int64 // the key set: an All result is a claim about each of them

	// LockLoss lists the spans in which the store lost what it held, locks
	// included (a flush, a restart).
	LockLoss []Interval
	// LockTTL is the writers' lock TTL: a write that lasted longer may have
	// outlived its locks. 0: no limit.
	LockTTL int64
	// StaleBound is the longest staleness a by-design stale read may show
	// (the value TTL plus slack); a longer one is a violation.
	StaleBound int64
	// NearBound is the near caches' MaxStaleness (0: no near cache): a read
	// may miss a write of another runtime acknowledged less than this
	// before it began (rule N).
	NearBound int64
	// Timeout bounds the porcupine check; 0: none.
	Timeout time.Duration
}

// Result is what the checks found.
type Result struct {
	Ops, Reads, Writes, Failed int

	// StaleAfterAck counts reads that returned data older than a write
	// acknowledged before they started, that no by-design rule excuses;
	// StaleByKind splits them by the kind of read.
	StaleAfterAck int
	StaleByKind   map[Kind]int
	// Excused counts stale reads the by-design rule excuses (the write they
	// missed lost its invalidation to a store fault, in another runtime),
	// and MaxStaleness is the longest of them: how long after the ack of the
	// first write they missed they started.
	Excused      int
	MaxStaleness int64
	// Wrong counts reads that returned a row no committed write produced,
	// a row that is not the key's, or a rolled back write.
	Wrong int
	// Linearizability is porcupine's verdict on the per-key histories.
	Linearizability porcupine.CheckResult
	// Excluded counts reads left out of the porcupine check because a
	// store fault may have let them see an older value legitimately.
	Excluded int
	// PorcupineOps counts the operations porcupine checked; Implied the
	// reads left to it because they are implied by a narrower one (see
	// pruneImpliedReads).
	PorcupineOps int
	Implied      int
	// NearWithinBound counts the stale reads rule N allows: every write
	// they missed ran in another runtime and was acknowledged less than
	// NearBound before they began. NearMaxStaleness is the longest of
	// them: how long after the ack of the first write they missed they
	// began (always under NearBound).
	NearWithinBound  int
	NearMaxStaleness int64
	// NearModeled counts the porcupine reads whose invocation was moved
	// NearBound earlier (see judge).
	NearModeled int
	// Impaired counts the committed writes whose invalidation the store did
	// not fully take (a lock or a release failed, was skipped, or was lost
	// in a flush; or the writer died): the only writes rule E can excuse a
	// stale read by. Without faults it must be 0.
	Impaired int
	// LostWrites counts acknowledged writes the database does not hold, and
	// final reads (through the cache or of the table) that disagree with it.
	LostWrites int
	// Problems describes the first few violations, ExcusedExamples the
	// first few excused stale reads.
	Problems        []string
	ExcusedExamples []string
}

// Linearizable reports whether porcupine accepted the history and no read
// returned a wrong row.
func (r *Result) Linearizable() bool {
	return r.Linearizability == porcupine.Ok && r.Wrong == 0
}

// LinearizabilityWord is "ok", "violated" or "unknown" (porcupine timed out).
func (r *Result) LinearizabilityWord() string {
	switch {
	case r.Wrong > 0 || r.Linearizability == porcupine.Illegal:
		return "violated"
	case r.Linearizability == porcupine.Ok:
		return "ok"
	}
	return "unknown"
}

// Violations reports whether anything the checker promises failed.
func (r *Result) Violations() bool {
	return r.StaleAfterAck > 0 || !r.Linearizable() || r.LostWrites > 0
}

const maxProblems = 12

func (r *Result) problem(format string, args ...any) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// state is what a register holds: {id, version} of a row, or absent (zero).
type state struct{ id, version int64 }

func (s state) String() string {
	if s == (state{}) {
		return "absent"
	}
	return fmt.Sprintf("id=%d v=%d", s.id, s.version)
}

// regKey names a register: the row of a primary key, or the row holding a
// unique value. Each is exactly one cache key.
type regKey struct {
	index uint8 // 0 pk (id), 1 email (str), 2 org_handle (id = org, str = handle), 3 version (id)
	id    int64
	str   string
}

func (k regKey) String() string {
	switch k.index {
	case 0:
		return fmt.Sprintf("id=%d", k.id)
	case 1:
		return "email=" + k.str
	case 3:
		return fmt.Sprintf("version=%d", k.id)
	}
	return fmt.Sprintf("org_handle=%d,%s", k.id, k.str)
}

// producer is the write that put a register in a state, as far as the
// checker knows it.
type producer struct {
	call, ret int64 // ret: Never when the write was not acknowledged
	end       int64 // when it returned, acknowledged or not
	runtime   int   // -1: unknown
	// lostLock: some key of the write was not locked through its commit (a
	// failed or skipped Lock, a store that lost its locks meanwhile, a write
	// that outlived the lock TTL), so readers could fill it meanwhile.
	lostLock bool
	// lostRelease: some key was not released after commit (a failed or
	// skipped Unlock, or the writer died first).
	lostRelease bool
	desc        string
}

// lostInvalidation: the store (or, with near caches, another process's near
// cache) may still hold what the write replaced after it was acknowledged,
// until a retry lands or the value's TTL runs out.
func (p *producer) lostInvalidation() bool { return p.lostLock && p.lostRelease }

var initial = &producer{call: -1, ret: -1, end: -1, runtime: -1, desc: "initial state"}

type position struct {
	st state
	p  *producer
}

// register is the committed history of one key, in commit order.
type register struct {
	key      regKey
	pos      []position // pos[0]: the initial, absent state
	byState  map[state][]int
	ackOrder []int // positions by acknowledgement time
	ackMax   []int // ackMax[k]: the latest position among ackOrder[:k+1]
	// firstCall[i]: the latest invocation among the writes of positions 0..i
	// (non-decreasing).
	firstCall []int64
	lostLocks []int // positions whose write lost a lock
	// cleanOrder and cleanMax: like ackOrder and ackMax, for the writes that
	// held their locks through their commit.
	cleanOrder []int
	cleanMax   []int
}

func (r *register) add(st state, p *producer) { r.pos = append(r.pos, position{st, p}) }

func (r *register) finish() {
	r.byState = map[state][]int{}
	r.firstCall = make([]int64, len(r.pos))
	for i, p := range r.pos {
		r.firstCall[i] = p.p.call
		if i > 0 {
			r.firstCall[i] = max(r.firstCall[i], r.firstCall[i-1])
		}
		r.byState[p.st] = append(r.byState[p.st], i)
		r.ackOrder = append(r.ackOrder, i)
	}
	sort.SliceStable(r.ackOrder, func(a, b int) bool { return r.pos[r.ackOrder[a]].p.ret < r.pos[r.ackOrder[b]].p.ret })
	r.ackMax = prefixMax(r.ackOrder)
	for _, i := range r.ackOrder {
		if r.pos[i].p.lostLock {
			r.lostLocks = append(r.lostLocks, i)
		} else {
			r.cleanOrder = append(r.cleanOrder, i)
		}
	}
	slices.Sort(r.lostLocks)
	r.cleanMax = prefixMax(r.cleanOrder)
}

func prefixMax(order []int) []int {
	out := make([]int, len(order))
	for k, i := range order {
		out[k] = i
		if k > 0 {
			out[k] = max(out[k-1], i)
		}
	}
	return out
}

// lastCleanBefore returns the latest position whose write held its locks
// through its commit and was acknowledged before t: the store cannot serve
// a state older than it after t.
func (r *register) lastCleanBefore(t int64) int {
	k := sort.Search(len(r.cleanOrder), func(k int) bool { return r.pos[r.cleanOrder[k]].p.ret >= t })
	if k == 0 {
		return 0
	}
	return r.cleanMax[k-1]
}

// visibleBy returns the last position whose write, and every write before
// it, began by t.
func (r *register) visibleBy(t int64) int {
	k := sort.Search(len(r.firstCall), func(k int) bool { return r.firstCall[k] > t })
	return k - 1
}

// lastAckedBefore returns the latest position whose write was acknowledged
// before t.
func (r *register) lastAckedBefore(t int64) int {
	k := sort.Search(len(r.ackOrder), func(k int) bool { return r.pos[r.ackOrder[k]].p.ret >= t })
	if k == 0 {
		return -1
	}
	return r.ackMax[k-1]
}

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
	// Affected: the read may have been served a state a write that lost a
	// lock left in the store. It may come from any position with that
	// state that no write with its lock in place replaced before the read
	// began; if a write that lost a lock follows the earliest of them (and
	// can precede the read), what the read saw may be such a leftover.
	earliest := v.seen
	if clean := r.lastCleanBefore(call); clean < v.seen {
		k := sort.SearchInts(ps, clean)
		if k < len(ps) && ps[k] <= v.seen {
			earliest = ps[k]
		}
	}
	if k := sort.SearchInts(r.lostLocks, earliest+1); k < len(r.lostLocks) && r.lostLocks[k] <= limit {
		v.affected = true
	}
	if near > 0 {
		for i := v.seen + 1; i < len(r.pos) && r.firstCall[i] < call; i++ {
			if p := r.pos[i].p; p.runtime != rt || rt < 0 {
				v.overtaken = true
				break
			}
		}
	}
	if !v.isStale() {
		return v
	}
	// Rule E: staleness is by design when every write the read missed lost
	// its invalidation to a store fault, and ran in another runtime (its own
	// runtime bypasses the store for the keys it could not invalidate).
	//
	// Rule N (near caches): a read may miss a write of another runtime
	// acknowledged less than the near caches' MaxStaleness before it began.
	// Never one of its own runtime: a writer drops its own near cache's
	// entries before it returns.
	v.excused, v.nearOK = true, near > 0
	first := int64(math.MaxInt64)
	for _, i := range v.missed {
		p := r.pos[i].p
		other := p.runtime != rt || rt < 0
		inWindow := near > 0 && other && call-p.ret < near
		if !inWindow {
			v.nearOK = false
		}
		if !inWindow && (!p.lostInvalidation() || !other) {
			v.excused = false
		}
		first = min(first, p.ret)
	}
	v.stale = call - first
	if bound > 0 && v.stale > bound {
		v.excused = false
	}
	return v
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

type analysis struct {
	in        *Input
	res       *Result
	regs      map[regKey]*register
	byVersion map[int64]*Op    // the op that wrote each version
	writeOf   map[int64]*Write // and the write
	logged    map[int64]Row    // every version the log holds
	last      map[int64]*Row   // each id's row after the whole log (nil: none)
	porc      []porcupine.Operation
	seen      []seenRead // the porcupine reads, with the position each saw
}

// seenRead is a read porcupine checks, with the latest commit position of
// its register (a primary key) that can have produced what it returned.
type seenRead struct {
	op    *Op
	pk    int64
	pos   int
	exact bool // a version: the position is the only one
	st    state
}

// Check runs every check on a recorded run.
func Check(in *Input) *Result {
	a := &analysis{
		in:        in,
		res:       &Result{},
		regs:      map[regKey]*register{},
		byVersion: map[int64]*Op{},
		writeOf:   map[int64]*Write{},
		logged:    map[int64]Row{},
		last:      map[int64]*Row{},
	}
	a.count()
	a.indexWrites()
	a.buildRegisters()
	a.checkReads()
	a.checkLost()
	a.linearizability()
	return a.res
}

func (a *analysis) count() {
	for _, op := range a.in.Ops {
		if op.Sweep || op.Final {
			continue
		}
		a.res.Ops++
		if op.Outcome == Failed {
			a.res.Failed++
		}
		if op.Kind.IsRead() {
			a.res.Reads++
		} else {
			a.res.Writes++
		}
	}
}

func acked(op *Op) bool { return op.Outcome == OK && !op.Rollback }

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
	// The deletes: each traced delete knows the log entry it wrote; the
	// others may have made any delete of their id the traced ones did not.
	bySeq := map[int64]delCand{}
	dels := map[int64][]delCand{}
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
				dels[w.Row.ID] = append(dels[w.Row.ID], delCand{op, w})
			}
		}
	}
	log := slices.Clone(a.in.Log)
	sort.SliceStable(log, func(i, j int) bool { return log[i].Seq < log[j].Seq })
	items := make([]logItem, len(log))
	perID := map[int64][]int{}
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
	// Deletes: the candidates are the deletes of that id whose span can hold
	// the commit, between the writes before and after it.
	for id, idx := range perID {
		for k, i := range idx {
			if !items[i].e.Deleted {
				continue
			}
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
				items[i].p = a.producerOf(c.op, c.w, old, nil)
				continue
			}
			var cands []delCand
			for _, c := range dels[id] {
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
				items[i].p = &producer{call: 0, ret: Never, runtime: -1, desc: "unknown delete of " + items[i].e.Row.String()}
				continue
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
			items[i].p = p
		}
	}
	for _, it := range items {
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
		// The version: an index only the second build declares, which
		// the first locks through the build board.
		if old != nil && (nw == nil || old.Version != nw.Version) {
			a.reg(regKey{3, old.Version, ""}).add(state{}, p)
		}
		if nw != nil {
			a.reg(regKey{3, nw.Version, ""}).add(st, p)
		}
	}
	for _, id := range a.in.IDs {
		a.reg(regKey{0, id, ""})
	}
	for _, r := range a.regs {
		r.finish()
	}
}

func (a *analysis) reg(k regKey) *register {
	r := a.regs[k]
	if r == nil {
		r = &register{key: k, pos: []position{{state{}, initial}}}
		a.regs[k] = r
	}
	return r
}

// lookup returns the register of k, finished, creating an empty one for a
// key no write ever touched.
func (a *analysis) lookup(k regKey) *register {
	r := a.regs[k]
	if r == nil {
		r = &register{key: k, pos: []position{{state{}, initial}}}
		r.finish()
		a.regs[k] = r
	}
	return r
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

func (a *analysis) judge(op *Op, subs []subRead) {
	var stale, excused, wrong, nearOK bool
	var staleness, nearStaleness int64
	var first string
	include := make([]bool, len(subs))
	widen := make([]bool, len(subs))
	seen := make([]int, len(subs))
	for i, s := range subs {
		v := s.reg.check(op.Call, op.Return, op.Runtime, s.st, a.in.StaleBound, a.in.NearBound)
		seen[i] = v.seen
		switch {
		case v.wrong:
			wrong = true
			first = fmt.Sprintf("%s: no write that began before the read ended left %s", s.reg.key, s.st)
		case v.isStale() && !v.excused:
			if !stale {
				first = s.reg.describe(v)
				if v.stale > a.in.StaleBound && a.in.StaleBound > 0 {
					first += fmt.Sprintf("staleness %.1fms beyond the bound", ms(v.stale))
				}
				if a.in.NearBound > 0 {
					first += fmt.Sprintf(" (near caches: MaxStaleness %.1fms, the read began %.1fms after the first missed ack)", ms(a.in.NearBound), ms(v.stale))
				}
			}
			stale = true
		case v.nearOK:
			nearOK = true
			nearStaleness = max(nearStaleness, v.stale)
		case v.isStale():
			if !excused && len(a.res.ExcusedExamples) < 3 {
				a.res.ExcusedExamples = append(a.res.ExcusedExamples, fmt.Sprintf("%s: %s", op, s.reg.describe(v)))
			}
			excused = true
			staleness = max(staleness, v.stale)
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
		include[i] = !v.wrong && (v.isStale() && !v.excused || !v.affected && (!v.isStale() || v.nearOK))
		widen[i] = include[i] && v.overtaken && (!v.isStale() || v.nearOK)
	}
	switch {
	case wrong:
		a.wrong(op, "%s", first)
		return
	case stale:
		a.res.StaleAfterAck++
		if a.res.StaleByKind == nil {
			a.res.StaleByKind = map[Kind]int{}
		}
		a.res.StaleByKind[op.Kind]++
		a.res.problem("stale after ack: %s: %s", op, first)
	default:
		if excused {
			a.res.Excused++
			a.res.MaxStaleness = max(a.res.MaxStaleness, staleness)
		}
		if nearOK {
			a.res.NearWithinBound++
			a.res.NearMaxStaleness = max(a.res.NearMaxStaleness, nearStaleness)
		}
	}
	type pread struct {
		pk    int64
		st    state
		widen bool
	}
	added := map[pread]bool{} // a batch may read one key twice: porcupine needs one of two equal reads
	for i, s := range subs {
		if s.pk == 0 {
			continue
		}
		if pr := (pread{s.pk, s.st, widen[i]}); include[i] && added[pr] {
			continue
		} else if include[i] {
			added[pr] = true
		}
		if !include[i] {
			a.res.Excluded++
			continue
		}
		out := s.st.version
		if s.st.id != 0 && s.st.id != s.pk {
			out = -1 // a row of another key: never linearizable
		}
		call := op.Call
		if widen[i] {
			call -= a.in.NearBound
			a.res.NearModeled++
		}
		a.porc = append(a.porc, porcupine.Operation{
			ClientId: op.Client, Input: pInput{key: s.pk}, Output: out,
			Call: call, Return: op.Return, Metadata: op.ID,
		})
		if s.reg.key.index == 0 {
			a.seen = append(a.seen, seenRead{op: op, pk: s.pk, pos: seen[i], exact: s.st != state{}, st: s.st})
		}
	}
}

// seenByKey groups the reads the porcupine check includes by primary key,
// and lists the keys in order.
func (a *analysis) seenByKey() (map[int64][]seenRead, []int64) {
	byKey := map[int64][]seenRead{}
	for _, r := range a.seen {
		byKey[r.pk] = append(byKey[r.pk], r)
	}
	keys := slices.Sorted(maps.Keys(byKey))
	return byKey, keys
}

// inversions finds pairs of reads the porcupine check includes where the
// second began after the first ended yet returned a state the database
// replaced before the one the first returned: a new value, then an old one.
func (a *analysis) inversions(limit int) []string {
	byKey, keys := a.seenByKey()
	var out []string
	for _, k := range keys {
		reads := byKey[k]
		byRet := slices.Clone(reads)
		sort.Slice(byRet, func(i, j int) bool { return byRet[i].op.Return < byRet[j].op.Return })
		sort.Slice(reads, func(i, j int) bool { return reads[i].op.Call < reads[j].op.Call })
		best := -1 // index in byRet of the exact read with the latest position among those ended
		j := 0
		for _, r := range reads {
			for ; j < len(byRet) && byRet[j].op.Return < r.op.Call; j++ {
				if byRet[j].exact && (best < 0 || byRet[j].pos > byRet[best].pos) {
					best = j
				}
			}
			if best >= 0 && r.pos < byRet[best].pos {
				out = append(out, fmt.Sprintf("id=%d: %s saw position %d (%s), then %s saw position %d (%s)",
					k, byRet[best].op, byRet[best].pos, byRet[best].st, r.op, r.pos, r.st))
				if len(out) >= limit {
					return out
				}
			}
		}
	}
	return out
}

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

// pInput is a porcupine input: a write of value to the register of key,
// or (write false) a read of it.
type pInput struct {
	key   int64
	write bool
	value int64
}

// registerModel is a register per primary key whose value is the version
// of the row, 0 when there is none.
var registerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[int64][]porcupine.Operation{}
		var keys []int64
		for _, op := range history {
			k := op.Input.(pInput).key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		slices.Sort(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return int64(0) },
	Step: func(st, input, output any) (bool, any) {
		in := input.(pInput)
		if in.write {
			return true, in.value
		}
		return output.(int64) == st.(int64), st
	},
	Hash: func(st any) uint64 { return uint64(st.(int64)) },
	DescribeOperation: func(input, output any) string {
		in := input.(pInput)
		if in.write {
			return fmt.Sprintf("write(%d, v%d)", in.key, in.value)
		}
		return fmt.Sprintf("read(%d) -> v%d", in.key, output.(int64))
	},
}

// linearizability adds the writes to the reads judge collected and runs
// porcupine, one register per primary key.
func (a *analysis) linearizability() {
	loggedDeletes := map[int64]int{}
	for _, e := range a.in.Log {
		if e.Deleted {
			loggedDeletes[e.Row.ID]++
		}
	}
	ackedDeletes := map[int64]int{}
	for _, op := range a.in.Ops {
		if acked(op) {
			for _, w := range op.Writes {
				if w.Delete && !w.NotFound && !(op.Kind == Delete && op.Outcome == NotFound) {
					ackedDeletes[w.Row.ID]++
				}
			}
		}
	}
	for _, op := range a.in.Ops {
		if op.Rollback || (op.Kind == Delete && op.Outcome == NotFound) {
			continue
		}
		for _, w := range op.Writes {
			if w.NotFound {
				continue
			}
			ret := op.Return
			if !acked(op) {
				ret = Never
				if w.Delete {
					// A delete that may have committed matters only when the
					// log holds more deletes than were acknowledged.
					if loggedDeletes[w.Row.ID] <= ackedDeletes[w.Row.ID] {
						continue
					}
				} else if _, ok := a.logged[w.Row.Version]; !ok {
					continue // never committed
				}
			}
			in := pInput{key: w.Row.ID, write: true}
			if !w.Delete {
				in.value = w.Row.Version
			}
			a.porc = append(a.porc, porcupine.Operation{
				ClientId: op.Client, Input: in, Output: int64(0), Call: op.Call, Return: ret, Metadata: op.ID,
			})
		}
	}
	a.porc, a.res.Implied = pruneImpliedReads(a.porc)
	a.res.PorcupineOps = len(a.porc)
	res, info := porcupine.CheckOperationsVerbose(registerModel, a.porc, a.in.Timeout)
	a.res.Linearizability = res
	if res == porcupine.Illegal {
		a.res.problem("not linearizable: %s", describeIllegal(registerModel.Partition(a.porc), info))
		for _, inv := range a.inversions(5) {
			a.res.problem("read order inverted: %s", inv)
		}
		for _, d := range a.commitOrderDiagnosis(5) {
			a.res.problem("against the commit order: %s", d)
		}
	}
}

// pruneImpliedReads drops each read of a key whose span holds the span of
// another read of that key with the same answer. This loses nothing: the
// narrower read must take effect at some point of its span, which is in
// the wider one's too, and a read placed right beside another read of the
// same answer is as legal as it. What it saves is porcupine's time: reads
// of one key that overlap (batch positions, near-cache reads whose start is
// moved back) multiply the sets of operations it must try, and the widest
// ones add the most. It returns the operations kept and the number of reads
// dropped; writes are all kept.
func pruneImpliedReads(ops []porcupine.Operation) ([]porcupine.Operation, int) {
	type group struct {
		key int64
		out int64
	}
	byGroup := map[group][]int{}
	for i, op := range ops {
		if in := op.Input.(pInput); !in.write {
			g := group{in.key, op.Output.(int64)}
			byGroup[g] = append(byGroup[g], i)
		}
	}
	drop := make([]bool, len(ops))
	n := 0
	for _, idx := range byGroup {
		// Latest start first; among equal starts, the earliest end first,
		// so that of two equal spans the second is dropped. A read is
		// implied when a read seen before it (starting no earlier) ends no
		// later.
		sort.Slice(idx, func(a, b int) bool {
			x, y := ops[idx[a]], ops[idx[b]]
			if x.Call != y.Call {
				return x.Call > y.Call
			}
			return x.Return < y.Return
		})
		minRet := int64(math.MaxInt64)
		for _, i := range idx {
			if ops[i].Return >= minRet {
				drop[i] = true
				n++
				continue
			}
			minRet = ops[i].Return
		}
	}
	if n == 0 {
		return ops, 0
	}
	kept := make([]porcupine.Operation, 0, len(ops)-n)
	for i, op := range ops {
		if !drop[i] {
			kept = append(kept, op)
		}
	}
	return kept, n
}

// describeIllegal names the key porcupine rejected and the first operation
// (by invocation) that its longest linearizable prefix could not take.
func describeIllegal(parts [][]porcupine.Operation, info porcupine.LinearizationInfo) string {
	partials := info.PartialLinearizationsOperations()
	for p, ops := range parts {
		if p >= len(partials) {
			break
		}
		longest := 0
		var done map[any]bool
		for _, l := range partials[p] {
			if len(l) > longest || done == nil {
				longest = len(l)
				done = map[any]bool{}
				for _, op := range l {
					done[op.Metadata] = true
				}
			}
		}
		if longest >= len(ops) {
			continue
		}
		var first *porcupine.Operation
		for i := range ops {
			if !done[ops[i].Metadata] && (first == nil || ops[i].Call < first.Call) {
				first = &ops[i]
			}
		}
		desc := fmt.Sprintf("key %d: %d of %d operations linearize", ops[0].Input.(pInput).key, longest, len(ops))
		if first != nil {
			desc += fmt.Sprintf("; the first that does not: op %v, %s", first.Metadata, registerModel.DescribeOperation(first.Input, first.Output))
		}
		return desc
	}
	return "no detail"
}

// commitOrderDiagnosis explains a porcupine rejection by trying the one
// write order the database chose: each write of a key gets a point in its
// span, in log order, as early as the reads allow; a read of a version
// must fit between that write's point and the next one's. It names the
// reads that cannot (for reads of absence, those that fit no absent span
// even at the latest points).
func (a *analysis) commitOrderDiagnosis(limit int) []string {
	byKey, keys := a.seenByKey()
	var out []string
	for _, k := range keys {
		reg := a.regs[regKey{0, k, ""}]
		if reg == nil {
			continue
		}
		n := len(reg.pos)
		minRet := make([]int64, n)  // earliest end among reads of each position
		maxCall := make([]int64, n) // latest start among reads of each position
		who := make([]*Op, n)
		for i := range minRet {
			minRet[i], maxCall[i] = Never, -1
		}
		for _, r := range byKey[k] {
			if !r.exact {
				continue
			}
			minRet[r.pos] = min(minRet[r.pos], r.op.Return)
			if r.op.Call > maxCall[r.pos] {
				maxCall[r.pos], who[r.pos] = r.op.Call, r.op
			}
		}
		early := make([]int64, n)
		early[0] = -1
		for i := 1; i < n; i++ {
			p := reg.pos[i].p
			lo := max(p.call, maxCall[i-1], early[i-1])
			hi := min(p.ret, minRet[i])
			if lo > hi {
				msg := fmt.Sprintf("id=%d position %d (%s by %s) must take effect by %s", k, i, reg.pos[i].st, p.desc, fmtTime(hi))
				if maxCall[i-1] == lo && who[i-1] != nil {
					msg += fmt.Sprintf(", but %s read the state before it", who[i-1])
				} else {
					msg += fmt.Sprintf(", but cannot before %s", fmtTime(lo))
				}
				out = append(out, msg)
				if len(out) >= limit {
					return out
				}
				break
			}
			early[i] = lo
		}
		late := make([]int64, n+1)
		late[n] = Never
		for i := n - 1; i >= 1; i-- {
			late[i] = min(reg.pos[i].p.ret, minRet[i], late[i+1])
		}
		for _, r := range byKey[k] {
			if r.exact {
				continue
			}
			ok := false
			for i := 0; i < n && !ok; i++ {
				if reg.pos[i].st == (state{}) && early[i] <= r.op.Return && late[i+1] >= r.op.Call {
					ok = true
				}
			}
			if !ok {
				out = append(out, fmt.Sprintf("id=%d: %s read absence, which no absent span of the commit order overlaps", k, r.op))
				if len(out) >= limit {
					return out
				}
			}
		}
	}
	return out
}
