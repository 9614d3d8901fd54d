// Package consistency is cmd/cachecheck's machinery: a workload of
// concurrent clients on several repository instances sharing one store,
// the faults it injects, and the checks of the recorded history.
//
// # What is recorded
//
// Every operation, with its invocation and response times on one
// monotonic clock, its runtime (repository instance), what it read or
// wrote, and for each write a Trace of the store calls its invalidation
// made (the keys the store locked and released, the calls that failed).
// Every write carries a version no other write uses. A trigger appends
// every row a write leaves (and every row a delete removes) to account_log
// inside the writing transaction; a delete reads back the seq of its own
// entry before it commits. Row locks serialize the writes of a row, and a
// write that takes a unique value waits for the one that released it, so
// the log's order is the commit order of every row and of every unique
// value. Each key (a primary key, an email, an (org, handle)) thus has a
// register: the states it went through, in commit order, each with the
// write that produced it.
//
// # The checks
//
// Stale after ack. A read R of a key's register that returned state s saw
// position I, the latest position holding s whose write, and every write
// before it in the register, began before R ended. J is the latest position
// whose write was acknowledged before R began. R is stale if I < J: a write
// acknowledged before R began had replaced what R returned. (With real
// time alone this is: the write of s happened before a write W, which
// happened before R; the log also orders overlapping writes.) All is
// checked against every primary key's register, a unique lookup against
// its unique value's register, a not-found like any other state. Each
// position of a batch read (GetByIDs, GetByEmails, the batch loader
// LoadAccounts) is checked as the single read of its key, over the span
// of the whole batch; a loader's read (LoadAccount) as a read by primary
// key. A read whose state no write that began before it ended produced,
// or whose row is not the key's, or differs from what its version wrote
// (with two builds, the nickname too, for a read of the build that maps
// it), is a wrong answer, never excused.
//
// By design (rule E). A stale read is excused, and counted apart with its
// staleness, when every write it missed (positions after I, acknowledged
// before R began) lost its invalidation: some key of the write was not
// locked through its commit (a Lock failed or was skipped by the breaker,
// the store was flushed or restarted meanwhile, or the write outlived the
// lock TTL) and some key was not released after it (an Unlock failed or
// was skipped, or the writer died) -- and ran in another runtime than R
// (the writer's own runtime bypasses the store for keys it could not
// invalidate). Its staleness, R's start less the first missed ack, must
// stay within the value TTL (StaleBound), or it is a violation.
//
// Linearizability. porcupine, one register per primary key: every
// committed write (an unacknowledged one that committed may take effect
// any time after it began), and every read of a primary key (by id, by a
// unique value that returned a row, All, a Delete that found nothing).
// Reads a store fault may have let see a leftover state are left out
// (rule P): those that may have read a state that a write which lost a
// lock followed, and that no write holding its locks replaced before they
// began. Their number is reported. A read whose span holds the span of
// another read of the same key with the same answer is implied by it and
// left to it (the check's verdict is the same; its time is not).
//
// Near caches (Config.Near). Every runtime then has a runtime.NearCache
// of MaxStaleness D in front of the store, its bus on the runtime's own
// Redis client, through the runtime's proxy: the bus suffers the same
// faults as the store. Each write's Trace also records its Publish calls,
// before its release began and after. By rule N, a stale read whose missed
// writes all ran in other runtimes and were acknowledged less than D before
// it began is allowed, and counted apart with its staleness; a miss of a
// write of its own runtime, or of one acknowledged D or more before it
// began, is stale after ack. A failed announcement before commit counts as
// a lost lock, a failed one after commit as a lost release, for rule E. In
// porcupine such reads are modeled, not left out: every read whose state a
// write of another runtime had replaced, or begun to, before the read
// began has its invocation moved D earlier (the guarantee is
// linearizability up to D); every other read keeps its span.
//
// Lost writes. Every acknowledged write is in the log; the table at the end
// is the log's last state and one that no later acknowledged write
// replaced; and a final read of every key through every runtime, after
// the faults stop, the retries drain and the TTL runs out, agrees with the
// table.
package consistency
