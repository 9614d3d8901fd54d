package consistency

// invalidations.go: the lost-invalidation rule of -cdc runs. Every Raw
// write the database committed (its version is in the log) must have been
// invalidated by the change stream's consumer: a batch carrying its
// version acknowledged, which the consumer does only after the batch's
// keys are dropped in the store, or every table invalidated after a lost
// position. The time from the write's response to that ack is its lag;
// the lags no consumer fault overlapped are also kept apart.

import (
	"cmp"
	"math"
	"slices"
	"time"
)

func (a *analysis) checkInvalidations() {
	if !a.in.CDC {
		return
	}
	faults := a.flowing(a.in.CDCFaults)
	for _, op := range a.in.Ops {
		if op.Kind != Raw || op.Rollback {
			continue
		}
		for _, w := range op.Writes {
			if _, ok := a.logged[w.Row.Version]; !ok {
				continue // never committed
			}
			at, ok := a.in.Invalidated[w.Row.Version]
			if !ok {
				// A whole-table invalidation after a lost position covers
				// what the new stream does not carry: what committed
				// before it started. A write that began before it counts
				// (a slice-1 approximation: one that committed after the
				// stream began and was never delivered is credited too).
				k, _ := slices.BinarySearch(a.in.WholeInvalidations, op.Call)
				if k < len(a.in.WholeInvalidations) {
					at, ok = a.in.WholeInvalidations[k], true
				}
			}
			if !ok {
				a.res.LostInvalidations++
				a.res.problem("lost invalidation: %s: the change stream's consumer never invalidated version %d", op, w.Row.Version)
				continue
			}
			from := op.Return
			if !acked(op) {
				from = op.Call
			}
			a.res.CDCLag = append(a.res.CDCLag, max(at-from, 0))
			if !overlapsAny(faults, Interval{from, at}) {
				a.res.CDCLagUnfaulted = append(a.res.CDCLagUnfaulted, max(at-from, 0))
			}
		}
	}
	slices.Sort(a.res.CDCLag)
	slices.Sort(a.res.CDCLagUnfaulted)
}

// flowing extends each fault span until the stream flowed again: until
// the first acknowledgement of a raw write that began after the fault was
// healed. Acknowledgements follow commit order, so every change before that
// one was through by then; a change that waited behind the fault's backlog
// (a lease taken over, a stream reopened, a group retried) is the fault's.
// A span no such write follows lasts to the end of the run.
//
// A store that lost everything (a flush, a restart) lost the consumer's
// position and lease too: the consumer finds out at its next renewal,
// invalidates every table, and reads a new stream. The fault that began
// last before such a whole invalidation lasts until it, then flows as
// above.
func (a *analysis) flowing(spans []Interval) []Interval {
	spans = slices.Clone(spans)
	for _, w := range a.in.WholeInvalidations {
		last := -1
		for i, s := range spans {
			if s.From <= w && (last < 0 || s.From > spans[last].From) {
				last = i
			}
		}
		if last >= 0 {
			spans[last].To = max(spans[last].To, w)
		}
	}
	type call struct{ at, acked int64 }
	var calls []call
	for _, op := range a.in.Ops {
		if op.Kind != Raw || op.Rollback {
			continue
		}
		for _, w := range op.Writes {
			if at, ok := a.in.Invalidated[w.Row.Version]; ok {
				calls = append(calls, call{op.Call, at})
			}
		}
	}
	slices.SortFunc(calls, func(x, y call) int { return cmp.Compare(x.at, y.at) })
	// firstAck[i]: the earliest acknowledgement of calls[i:].
	firstAck := make([]int64, len(calls)+1)
	firstAck[len(calls)] = math.MaxInt64
	for i := len(calls) - 1; i >= 0; i-- {
		firstAck[i] = min(calls[i].acked, firstAck[i+1])
	}
	out := make([]Interval, len(spans))
	for i, s := range spans {
		k, _ := slices.BinarySearchFunc(calls, s.To, func(c call, t int64) int { return cmp.Compare(c.at, t) })
		out[i] = Interval{s.From, max(s.To, firstAck[k])}
	}
	return out
}

// overlapsAny reports whether span shares an instant with one of spans.
func overlapsAny(spans []Interval, span Interval) bool {
	for _, s := range spans {
		if s.From <= span.To && span.From <= s.To {
			return true
		}
	}
	return false
}

// CDCLagQuantile returns the q quantile (0..1) of the measured lags, 0
// when none was measured.
func (r *Result) CDCLagQuantile(q float64) time.Duration { return quantile(r.CDCLag, q) }

// CDCLagUnfaultedQuantile is CDCLagQuantile of the lags no consumer fault
// overlapped.
func (r *Result) CDCLagUnfaultedQuantile(q float64) time.Duration {
	return quantile(r.CDCLagUnfaulted, q)
}

// quantile is the q quantile (0..1) of sorted, 0 when it is empty.
func quantile(sorted []int64, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return time.Duration(sorted[int(q*float64(len(sorted)-1))])
}
