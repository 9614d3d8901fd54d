package consistency

// linearizability.go: porcupine on the reads the other checks keep, one
// register per primary key, and the diagnoses printed when it refuses.

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"sort"

	"github.com/anishathalye/porcupine"
)

// seenRead is a read porcupine checks, with the latest commit position of
// its register (a primary key) that can have produced what it returned.
type seenRead struct {
	op    *Op
	pk    int64
	pos   int
	exact bool // a version: the position is the only one
	st    state
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
			// A Raw write keeps its real span: the reads that may miss it
			// within the CDC bound are left out (verdict.cdcLag), and
			// widening it by the bound explodes porcupine's search.
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

// addPorcupineReads hands porcupine the positions of a read the judging
// kept, each as a read of its primary key's register.
func (a *analysis) addPorcupineReads(op *Op, subs []subRead, j *judgement) {
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
		if pr := (pread{s.pk, s.st, j.widen[i]}); j.include[i] && added[pr] {
			continue
		} else if j.include[i] {
			added[pr] = true
		}
		if !j.include[i] {
			a.res.Excluded++
			continue
		}
		out := s.st.version
		if s.st.id != 0 && s.st.id != s.pk {
			out = -1 // a row of another key: never linearizable
		}
		call := op.Call
		if j.widen[i] {
			call -= a.in.NearBound
			a.res.NearModeled++
		}
		a.porc = append(a.porc, porcupine.Operation{
			ClientId: op.Client, Input: pInput{key: s.pk}, Output: out,
			Call: call, Return: op.Return, Metadata: op.ID,
		})
		if s.reg.key.index == 0 {
			a.seen = append(a.seen, seenRead{op: op, pk: s.pk, pos: j.seen[i], exact: s.st != state{}, st: s.st})
		}
	}
}
