package consistency

// excuse.go: the by-design staleness rules. Rule E: a read may miss a write
// that lost its invalidation to a store fault in another runtime, within
// the value TTL. Rule N (near caches): a read may miss a write of another
// runtime acknowledged less than the near caches' MaxStaleness before it
// began.

import "math"

// excuse marks a stale verdict v of a read that began at call in runtime
// rt excused when every write it missed is excused by rule E or rule N
// (nearOK: by rule N alone), and records how long after the first missed
// ack the read began. bound is rule E's staleness bound, near rule N's
// MaxStaleness (0: no near cache).
func (r *register) excuse(v *verdict, call int64, rt int, bound, near int64) {
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
}

// overtaken reports whether, with near caches, a write of another runtime
// replaced the state a read in runtime rt saw at position seen and began
// before the read did (call): a near cache may then have served the state
// after the write took effect.
func (r *register) overtaken(call int64, rt, seen int) bool {
	for i := seen + 1; i < len(r.pos) && r.firstCall[i] < call; i++ {
		if p := r.pos[i].p; p.runtime != rt || rt < 0 {
			return true
		}
	}
	return false
}
