package consistency

import (
	"fmt"
	"math"
	"sync"
)

// Row is an accounts row as a read returned it or a write wrote it.
type Row struct {
	ID      int64
	Email   string
	Org     int64
	Handle  string
	Version int64
	// Nick is the nickname column, which only the second build of the
	// model (checkmodel/v2) maps; "" is NULL (that build never writes "").
	// What an operation of the first build read or wrote says nothing of it
	// (Op.Wide false).
	Nick string
}

func (r Row) String() string {
	s := fmt.Sprintf("{id=%d email=%s org=%d handle=%s v=%d", r.ID, r.Email, r.Org, r.Handle, r.Version)
	if r.Nick != "" {
		s += " nick=" + r.Nick
	}
	return s + "}"
}

// sameRow reports whether a and b hold the same values: with nick, the
// nickname too.
func sameRow(a, b Row, nick bool) bool {
	if !nick {
		a.Nick, b.Nick = "", ""
	}
	return a == b
}

// Kind is what an operation did.
type Kind uint8

// The operations a client issues.
const (
	GetByID        Kind = iota + 1 // a read by primary key
	GetByEmail                     // a read by the unique email
	GetByOrgHandle                 // a read by the unique (org, handle)
	All                            // every row
	GetByIDs                       // a batch read by primary key: one position per Lookups entry
	GetByEmails                    // a batch read by the unique email: one position per Lookups entry
	LoadAccount                    // the loader of a Session's account: a read by primary key through the registry
	LoadAccounts                   // the batch loader of sessions' accounts: one position per Lookups entry
	Save                           // an insert or an update, Writes[0]
	Delete                         // a delete, Writes[0]; NotFound: there was no row (a read of absence)
	Tx                             // Writes in one runtime.Tx that commits, or rolls back (Rollback)
	OOB                            // a hand-written UPDATE in a runtime.Tx, invalidated with InvalidateRows
	GetByVersion                   // a read by the unique version, an index only the second build declares
	Raw                            // -cdc: a raw SQL UPDATE no one invalidates but the change stream's consumer
)

var kindNames = [...]string{"?", "GetByID", "GetByEmail", "GetByOrgHandle", "All", "GetByIDs", "GetByEmails", "LoadAccount", "LoadAccounts", "Save", "Delete", "Tx", "OOB", "GetByVersion", "Raw"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind(%d)", k)
}

// IsRead reports whether k reads through the cache.
func (k Kind) IsRead() bool { return k >= GetByID && k <= LoadAccounts || k == GetByVersion }

// IsBatch reports whether k reads many keys at once, one position each.
func (k Kind) IsBatch() bool { return k == GetByIDs || k == GetByEmails || k == LoadAccounts }

// single returns the single read each position of k is: GetByID for a
// read by primary key, GetByEmail for one by email.
func (k Kind) single() Kind {
	switch k {
	case GetByIDs, LoadAccount, LoadAccounts:
		return GetByID
	case GetByEmails:
		return GetByEmail
	}
	return k
}

// Outcome is how an operation returned.
type Outcome uint8

// The outcomes.
const (
	OK       Outcome = iota + 1 // acknowledged: a read's rows, or a write that committed
	NotFound                    // a read (or a Delete) found no row
	Failed                      // an error: a read says nothing; a write may or may not have committed (the log says)
)

// Never is the response time of a write that was not acknowledged.
const Never int64 = math.MaxInt64

// Op is one operation of the history, with its invocation and response
// times in nanoseconds since the run began.
type Op struct {
	ID      int
	Client  int
	Runtime int // the repository instance it ran on; a crashed writer has one of its own
	Kind    Kind
	Call    int64
	Return  int64
	Outcome Outcome
	Err     string // Failed: the error

	Lookup Row   // GetByID, LoadAccount and Delete: ID; GetByEmail: Email; GetByOrgHandle: Org and Handle
	Rows   []Row // what a read returned (All: the list; a batch: one per position, a zero Row where no row answered)
	// Lookups are a batch read's positions, in order (GetByIDs,
	// LoadAccounts: ID; GetByEmails: Email); a key may be repeated, and
	// may name no row.
	Lookups []Row
	// Wide: the operation ran on the second build, whose rows carry the
	// nickname (Row.Nick).
	Wide bool

	Writes   []Write
	Rollback bool // Tx: rolled back on purpose; none of its writes may ever be visible
	Crash    bool // the writer died between commit and release (its releases were dropped)
	Sweep    bool // a read of a sweep of every key after the workload (not counted in Ops)
	Final    bool // a read of the final sweep, which must agree with the database
}

func (op *Op) String() string {
	s := fmt.Sprintf("op %d %s client=%d runtime=%d [%.3fms, %s]", op.ID, op.Kind, op.Client, op.Runtime, ms(op.Call), fmtTime(op.Return))
	if op.Wide {
		s += " build=2"
	}
	switch op.Kind {
	case GetByID, LoadAccount, Delete:
		s += fmt.Sprintf(" id=%d", op.Lookup.ID)
	case GetByIDs, LoadAccounts:
		s += " ids="
		for i, l := range op.Lookups {
			if i > 0 {
				s += ","
			}
			s += fmt.Sprint(l.ID)
		}
	case GetByEmails:
		s += " emails="
		for i, l := range op.Lookups {
			if i > 0 {
				s += ","
			}
			s += l.Email
		}
	case GetByEmail:
		s += " email=" + op.Lookup.Email
	case GetByOrgHandle:
		s += fmt.Sprintf(" org=%d handle=%s", op.Lookup.Org, op.Lookup.Handle)
	case GetByVersion:
		s += fmt.Sprintf(" version=%d", op.Lookup.Version)
	}
	switch op.Outcome {
	case OK:
		switch {
		case op.Kind.IsBatch():
			s += " -> ["
			for i, r := range op.Rows {
				if i > 0 {
					s += " "
				}
				if r == (Row{}) {
					s += "none"
				} else {
					s += r.String()
				}
			}
			s += "]"
		case op.Kind.IsRead():
			s += fmt.Sprintf(" -> %v", op.Rows)
		default:
			s += " -> ok"
		}
	case NotFound:
		s += " -> not found"
	case Failed:
		s += " -> error: " + op.Err
	}
	for _, w := range op.Writes {
		if w.Delete {
			s += fmt.Sprintf(" delete(%d)", w.Row.ID)
		} else {
			s += " save" + w.Row.String()
		}
		if w.Trace != nil {
			l, u, le, ue := w.Trace.counts()
			s += fmt.Sprintf("[locked=%d unlocked=%d lock_errors=%d unlock_errors=%d seq=%d", l, u, le, ue, w.Trace.seq())
			if pre, preErrs, post, postErrs := w.Trace.publishes(); pre+post > 0 {
				s += fmt.Sprintf(" published=%d/%d publish_errors=%d/%d", pre, post, preErrs, postErrs)
			}
			s += "]"
		}
	}
	if op.Rollback {
		s += " rollback"
	}
	if op.Crash {
		s += " crashed"
	}
	return s
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

func fmtTime(ns int64) string {
	if ns == Never {
		return "never"
	}
	return fmt.Sprintf("%.3fms", ms(ns))
}

// Write is one write of an operation.
type Write struct {
	Delete   bool
	Row      Row    // Save: the row written, with a version no other write uses; Delete: Row.ID
	NotFound bool   // a Delete inside a Tx that found no row: it wrote nothing
	Trace    *Trace // what the store did with this write's locks and releases; nil: all of it
}

// Trace records the outcome of the store calls one write made for its
// invalidation: the keys whose Lock and Unlock the store acknowledged, and
// the calls that failed. Calls the runtime's circuit breaker skipped never
// reach it, so a key missing from Locked counts as a failed lock.
type Trace struct {
	mu         sync.Mutex
	locked     map[string]bool
	unlocked   map[string]bool
	lockErrs   int
	unlockErrs int
	deleteSeq  int64 // a delete: the seq of the log entry its statement wrote (0: none)
	// With a near cache, the write's Publish calls on the bus: before its
	// release began (the announcement before commit) and after (the keys
	// announced again after commit), and how many of each failed.
	released             bool // an Unlock was tried
	pubPre, pubPreErrs   int
	pubPost, pubPostErrs int
}

// RecordPublish notes the outcome of one Publish of the write's keys on the
// near caches' bus.
func (t *Trace) RecordPublish(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case !t.released:
		t.pubPre++
		if err != nil {
			t.pubPreErrs++
		}
	default:
		t.pubPost++
		if err != nil {
			t.pubPostErrs++
		}
	}
}

// publishes returns the Publish calls before and after the release began,
// and the failures of each.
func (t *Trace) publishes() (pre, preErrs, post, postErrs int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pubPre, t.pubPreErrs, t.pubPost, t.pubPostErrs
}

// SetDeleteSeq records the log entry a delete's statement wrote, read back
// inside its transaction.
func (t *Trace) SetDeleteSeq(seq int64) {
	t.mu.Lock()
	t.deleteSeq = seq
	t.mu.Unlock()
}

func (t *Trace) seq() int64 {
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.deleteSeq
}

// Record notes the outcome of one Lock (unlock false) or Unlock call.
func (t *Trace) Record(unlock bool, key string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if unlock {
		t.released = true
	}
	switch {
	case err != nil && unlock:
		t.unlockErrs++
	case err != nil:
		t.lockErrs++
	case unlock:
		if t.unlocked == nil {
			t.unlocked = map[string]bool{}
		}
		t.unlocked[key] = true
	default:
		if t.locked == nil {
			t.locked = map[string]bool{}
		}
		t.locked[key] = true
	}
}

// counts returns the distinct keys locked and unlocked and the failures.
func (t *Trace) counts() (locked, unlocked, lockErrs, unlockErrs int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.locked), len(t.unlocked), t.lockErrs, t.unlockErrs
}

// LogEntry is one row of account_log: a row a write left, or (Deleted) the
// row a delete removed.
type LogEntry struct {
	Seq     int64
	Row     Row
	Deleted bool
}

// Interval is a span of run time, in nanoseconds.
type Interval struct{ From, To int64 }
