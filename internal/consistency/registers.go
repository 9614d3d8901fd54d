package consistency

// registers.go: a register per key (a primary key, an email, an (org,
// handle)), the states it went through in commit order, each with the write
// that produced it.

import (
	"fmt"
	"slices"
	"sort"
)

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
	// cdc: a Raw write, invalidated by the change stream alone; ret is its
	// response plus the CDC bound.
	cdc  bool
	desc string
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
