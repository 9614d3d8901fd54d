package consistency

// analyze.go: the entry of the checks. Check builds each key's register
// from the database's log (registers.go, commitorder.go), judges every read
// against them (stale.go, excuse.go), checks that no acknowledged write was
// lost (lost.go), and hands the reads it keeps to porcupine
// (linearizability.go).

import (
	"fmt"
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
	// CDCBound is how long after a Raw write returned a read may still
	// miss it: the change stream's consumer has not yet invalidated it.
	CDCBound int64
	// CDC: the run had out-of-band (Raw) writers; Invalidated is when the
	// change stream's consumer acknowledged each version it saw, its keys
	// invalidated (nil: no consumer ran, the negative control).
	CDC         bool
	Invalidated map[int64]int64
	// WholeInvalidations are when the consumer had invalidated every
	// table after it lost its position: they cover every write that began
	// before.
	WholeInvalidations []int64
	// CDCFaults are the spans in which a consumer fault or a store server
	// fault was in force, from its start until it was healed; the analysis
	// extends each until the stream flowed again. A lag that
	// overlaps one is that fault's length as much as the consumer's speed,
	// and is reported apart (CDCLagUnfaulted).
	CDCFaults []Interval
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
	// LostInvalidations counts the committed Raw writes the change
	// stream's consumer never invalidated; CDCLag holds, for the others,
	// the time from the write's response to the consumer's ack, sorted
	// (invalidations.go).
	LostInvalidations int
	CDCLag            []int64
	// CDCLagUnfaulted holds the lags of CDCLag that overlap no consumer
	// fault (Input.CDCFaults), sorted: the consumer's own speed.
	CDCLagUnfaulted []int64
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
	return r.StaleAfterAck > 0 || !r.Linearizable() || r.LostWrites > 0 || r.LostInvalidations > 0
}

const maxProblems = 12

func (r *Result) problem(format string, args ...any) {
	if len(r.Problems) < maxProblems {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
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
	a.checkInvalidations()
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
