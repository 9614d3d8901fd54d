package engine

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cachegen/cachegen/runtime/store"
)

// Builds that declare different unique indexes on one table. Each runtime
// announces on the table's board (a BoardStore key) its build, the indexes
// it declares and the indexes it covers: those whose keys every write of
// it locks, its own and the other builds' indexes it can compute. A
// runtime reads an index of its own from the cache only while every live
// member covers it; otherwise the lookup reads the database and fills
// nothing. Every cached value of the table carries the board's epoch in
// its header, and a new epoch (a build the epoch did not know, or a member
// that cannot cover some index) fences what was filled before. The README
// ("Builds with other unique indexes") gives the argument.

// BuildClock is the time the build board runs on: Now for deadlines and
// heartbeats, Sleep while a write waits for the other builds to see this
// one, Go to run a heartbeat off the caller's path. Tests pass a clock they
// move by hand, whose Go runs the heartbeat at once.
type BuildClock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
	Go(f func())
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }
func (wallClock) Go(f func())    { go f() }
func (wallClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// buildOptions configure the board (WithBuildHeartbeat, WithBuildClock,
// WithoutBuildBoard).
type buildOptions struct {
	period time.Duration
	clock  BuildClock
	off    bool
}

// DefaultBuildHeartbeat is how often a runtime announces itself on a
// table's board while the table is in use; an announcement lives three
// periods.
const DefaultBuildHeartbeat = time.Second

// WithBuildHeartbeat sets how often a runtime announces its build on each
// table's board (default DefaultBuildHeartbeat). An announcement lapses
// after three periods.
func WithBuildHeartbeat(d time.Duration) Option {
	return func(o *options) { o.positive(&o.builds.period, "WithBuildHeartbeat", d) }
}

// WithBuildClock sets the clock the build board runs on (tests).
func WithBuildClock(c BuildClock) Option {
	return func(o *options) {
		if c == nil {
			o.fail("WithBuildClock", c, "want a clock")
			return
		}
		o.builds.clock = c
	}
}

// WithoutBuildBoard turns the build board off: the runtime neither
// announces its build nor learns the others', as with a store that is not
// a BoardStore. Builds that declare different unique indexes then read
// stale rows by an index the other build does not lock; it exists as the
// consistency checker's negative control.
func WithoutBuildBoard() Option { return func(o *options) { o.builds.off = true } }

// builds is a table's side of the board.
type builds struct {
	store   store.BoardStore
	key     string
	member  string
	build   string
	own     []string // per index of the table: its signature ("" for the pk)
	colKind map[string]byte
	colPos  map[string]int
	base    string
	period  time.Duration
	ttl     time.Duration
	keep    time.Duration
	timeout time.Duration
	clock   BuildClock
	onEpoch func(stamp [4]byte)
	skip    func() bool // the store is known dead: no heartbeat

	due     atomic.Int64                  // unix ns of the next heartbeat
	mono    bool                          // clock is the wall clock: trustedAt may answer on a monoNow reading
	dueMono atomic.Int64                  // with mono, due on monoNow's scale
	beating atomic.Pointer[chan struct{}] // the heartbeat under way: closed when it ends
	view    atomic.Pointer[buildView]

	mu       sync.Mutex
	learnGen int64
	learned  map[string]*learnedIndex
	inflight map[int64]int // writes in flight, by the learnGen they began at
	joinSeq  int64
	joinEnd  time.Time
	seen     int64
}

// learnedIndex is another build's index this one has heard of.
type learnedIndex struct {
	gen    int64 // learnGen when it was heard of
	cols   []int // positions in Spec.Columns; nil when it cannot be computed
	prefix string
	head   int
}

// buildView is what the last heartbeat said.
type buildView struct {
	epoch      string
	validUntil time.Time
	validMono  int64  // with builds.mono, validUntil on monoNow's scale
	trusted    []bool // per index: every live member covers it
	acked      bool   // the writes of this runtime need not wait
	lock       []*learnedIndex
}

// newBuilds returns the board side of a table, or nil when the store has
// no board or the board is turned off.
func newBuilds[T any](t *Table[T], st store.Store) *builds {
	bs, ok := st.(store.BoardStore)
	if !ok || t.opts.builds.off {
		return nil
	}
	s := &t.spec
	b := &builds{
		store: bs, key: t.base + "builds", member: rand.Text(), base: t.base,
		period: t.opts.builds.period, clock: t.opts.builds.clock,
		timeout: t.opts.phaseTimeout, colKind: map[string]byte{}, colPos: map[string]int{},
		learned: map[string]*learnedIndex{}, inflight: map[int64]int{},
	}
	if b.period <= 0 {
		b.period = DefaultBuildHeartbeat
	}
	if b.clock == nil {
		b.clock = wallClock{}
	}
	_, b.mono = b.clock.(wallClock)
	b.dueMono.Store(math.MinInt64) // due at once, whatever the clock reads
	b.ttl = 3 * b.period
	b.keep = max(t.opts.ttl, t.opts.notFoundTTL) + b.ttl
	for c, name := range s.Columns {
		k := byte('x')
		if c < len(s.Types) {
			k = keyKind(s.Types[c])
		}
		b.colKind[name], b.colPos[name] = k, c
	}
	h := sha256.New()
	h.Write([]byte(s.SchemaHash))
	for k, ix := range s.Indexes {
		sig := ""
		if k > 0 {
			cols := make([]string, len(ix.Columns))
			kinds := make([]byte, len(ix.Columns))
			for j, c := range ix.Columns {
				cols[j], kinds[j] = s.Columns[c], b.colKind[s.Columns[c]]
			}
			sig = indexSig(cols, kinds)
			h.Write([]byte("|" + sig))
		}
		b.own = append(b.own, sig)
	}
	b.build = s.SchemaHash + "-" + hex.EncodeToString(h.Sum(nil)[:4])
	return b
}

// decl lists the indexes the build declares.
func (b *builds) decl() []string {
	return append([]string{}, b.own[1:]...)
}

// owns reports whether sig is one of the build's own indexes.
func (b *builds) owns(sig string) bool { return slices.Contains(b.own[1:], sig) }

// tick starts a heartbeat when one is due, off the caller's path: a
// runtime in use announces itself about once a period, and an idle one
// lets its announcement lapse.
func (b *builds) tick(context.Context) {
	if b.clock.Now().UnixNano() >= b.due.Load() {
		b.startBeat()
	}
}

// startBeat starts a heartbeat unless one is under way, and returns a
// channel closed when the one under way ends.
func (b *builds) startBeat() <-chan struct{} {
	if b.skip != nil && b.skip() {
		return nil
	}
	done := make(chan struct{})
	if !b.beating.CompareAndSwap(nil, &done) {
		if cur := b.beating.Load(); cur != nil {
			return *cur
		}
		return nil
	}
	due := b.clock.Now().Add(b.period)
	b.due.Store(due.UnixNano())
	if b.mono {
		b.dueMono.Store(monoOf(due))
	}
	b.clock.Go(func() {
		defer close(done)
		defer b.beating.Store(nil)
		b.beat(context.Background())
	})
	return done
}

// current returns the view, nil when it has expired.
func (b *builds) current() *buildView {
	v := b.view.Load()
	if v == nil || !b.clock.Now().Before(v.validUntil) {
		return nil
	}
	return v
}

// trustedAt is trusts' answer without a clock read of its own, for the
// near-cache hit path, which has read the monotonic clock already: true
// when, at now (a monoNow reading), no heartbeat is due and the view is
// valid and trusts index i. False says only that trusts must decide: a
// test clock, a heartbeat due, no view or an expired one. With the wall
// clock, trusts compares the same monotonic readings (time.Now's).
func (b *builds) trustedAt(i int, now int64) bool {
	if !b.mono || now >= b.dueMono.Load() {
		return false
	}
	v := b.view.Load()
	return v != nil && now < v.validMono && (i == 0 || v.trusted[i])
}

// trusts reports whether index i may be read from the cache now. Every
// read heartbeats when one is due, so that the runtime's epoch (its
// values' header) follows the board's.
func (b *builds) trusts(ctx context.Context, i int) bool {
	b.tick(ctx)
	if b.current() == nil {
		b.await(ctx)
	}
	if i == 0 {
		return true
	}
	v := b.current()
	return v != nil && v.trusted[i]
}

// epoch returns the epoch of the last view, expired or not ("" before
// the first).
func (b *builds) epoch() string {
	if v := b.view.Load(); v != nil {
		return v.epoch
	}
	return ""
}

// stillTrusts reports whether a value read for index i since the epoch was
// ep may be filled: the epoch has not moved on (the value carries it), and
// a non-pk index is still trusted.
func (b *builds) stillTrusts(i int, ep string) bool {
	if ep == "" || b.epoch() != ep {
		// No view when the read began (the first heartbeat failed): a
		// value with no epoch would be another schema to the runtimes
		// that have one.
		return false
	}
	if i == 0 {
		return true
	}
	v := b.current()
	if v == nil {
		// A long read outlived the view: ask the board again.
		b.tick(context.Background())
		b.await(context.Background())
		v = b.current()
	}
	return v != nil && v.epoch == ep && v.trusted[i]
}

// beat announces the runtime and takes in the board's answer.
func (b *builds) beat(ctx context.Context) {
	b.beatOnce(ctx, false)
}

func (b *builds) beatOnce(ctx context.Context, bump bool) {
	start := b.clock.Now()
	b.mu.Lock()
	covers := b.decl()
	minGen := int64(-1)
	for g, n := range b.inflight {
		if n > 0 && (minGen < 0 || g < minGen) {
			minGen = g
		}
	}
	for sig, li := range b.learned {
		// Claimed once every write that began before it was learned has
		// ended: none of them locked its keys.
		if li.cols != nil && (minGen < 0 || minGen >= li.gen) {
			covers = append(covers, sig)
		}
	}
	seen := b.seen
	b.mu.Unlock()
	sort.Strings(covers)
	a := announcement{
		member: b.member, build: b.build, decl: b.decl(), now: start, bump: bump, epoch: rand.Text(),
		rec: boardMember{Deadline: start.Add(b.ttl).UnixMilli(), Seen: seen, Covers: covers},
	}
	ctx, cancel := context.WithTimeout(ctx, b.ttl)
	defer cancel()
	bd, joined, err := updateBoard(ctx, b.store, b.key, b.keep, a)
	if err != nil {
		return // the view expires: non-pk indexes read the database until a heartbeat lands
	}
	end := b.clock.Now()
	partial := b.take(bd, joined, start, end)
	if joined && partial && !bump {
		// A member that cannot cover some index starts a new epoch, so
		// that values of that index filled before it wrote are fenced.
		b.beatOnce(ctx, true)
	}
}

// take builds the view from the board and reports whether this runtime
// cannot compute some declared index (it is partial).
func (b *builds) take(bd board, joined bool, start, end time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if joined {
		b.joinSeq, b.joinEnd = bd.Members[b.member].JoinSeq, end
	}
	b.seen = bd.Seq
	// A learned index is never forgotten: the announcements this runtime
	// already sent claim it, and a board that lost it (a flush, a
	// restart) may learn it again from its build at any time.
	for _, decl := range bd.Builds {
		for _, sig := range decl {
			if _, ok := b.learned[sig]; !ok && !b.owns(sig) {
				b.learnGen++
				b.learned[sig] = b.learn(sig)
			}
		}
	}
	v := &buildView{epoch: bd.Epoch, validUntil: start.Add(b.ttl - b.period), trusted: make([]bool, len(b.own))}
	if b.mono {
		v.validMono = monoOf(v.validUntil)
	}
	partial := false
	for _, li := range b.learned {
		if li.cols == nil {
			partial = true
		} else {
			v.lock = append(v.lock, li)
		}
	}
	for i, sig := range b.own {
		v.trusted[i] = true
		for id, m := range bd.Members {
			if i > 0 && id != b.member && !slices.Contains(m.Covers, sig) {
				v.trusted[i] = false
			}
		}
	}
	v.acked = !partial || !end.Before(b.joinEnd.Add(b.ttl))
	if !v.acked {
		v.acked = true
		for id, m := range bd.Members {
			if id != b.member && m.JoinSeq <= b.joinSeq && m.Seen < b.joinSeq {
				v.acked = false
			}
		}
	}
	if old := b.view.Load(); (old == nil || old.epoch != v.epoch) && b.onEpoch != nil {
		b.onEpoch(epochStamp(v.epoch))
	}
	b.view.Store(v)
	return partial
}

// learn works out whether this build can compute the keys of sig: it maps
// every column with the same key kind.
func (b *builds) learn(sig string) *learnedIndex {
	li := &learnedIndex{gen: b.learnGen}
	cols, kinds, ok := parseSig(sig)
	if !ok {
		return li
	}
	pos := make([]int, len(cols))
	for j, name := range cols {
		c, mapped := b.colPos[name]
		if !mapped || kinds[j] == 'x' || b.colKind[name] != kinds[j] {
			return li
		}
		pos[j] = c
	}
	li.cols = pos
	li.prefix = b.base + strings.Join(cols, ",") + "="
	li.head = keyHeadLen(li.prefix, b.base)
	return li
}

// epochStamp is the four bytes of an epoch a value's header carries.
func epochStamp(epoch string) [4]byte {
	sum := sha256.Sum256([]byte(epoch))
	return [4]byte(sum[:4])
}

// beginWrite is called before a write. Without a view (the first write,
// or after the view expired) it heartbeats and waits for the answer, at
// most the phase timeout: the write must know the other builds' indexes to
// lock their keys. It waits while this runtime cannot cover some index and
// the other builds have not all seen it (at most one TTL after it joined),
// and counts the write in flight until done is called.
func (b *builds) beginWrite(ctx context.Context) (done func()) {
	b.tick(ctx)
	if b.current() == nil {
		b.await(ctx)
	}
	for deadline := b.clock.Now().Add(b.ttl); ; {
		v := b.current()
		if v == nil || v.acked || !b.clock.Now().Before(deadline) {
			break
		}
		if b.clock.Sleep(ctx, b.period/4) != nil {
			break
		}
		b.tick(ctx)
	}
	b.mu.Lock()
	g := b.learnGen
	b.inflight[g]++
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		if b.inflight[g]--; b.inflight[g] <= 0 {
			delete(b.inflight, g)
		}
		b.mu.Unlock()
	}
}

// await waits for the heartbeat under way, if any: a runtime without a
// view, at its first use or after its view expired, learns the board
// before it reads or writes (tick started the heartbeat when one was due;
// a failed one is not tried again before the next period). An expired view
// is waited on for the phase timeout. The first heartbeat is waited out
// (it gives up by itself after an announcement's lifetime): until it lands
// the runtime knows no epoch, what it fills would read as another schema
// to every runtime that knows one, and a herd of new runtimes at a deploy
// would discard each other's values and all read the database.
func (b *builds) await(ctx context.Context) {
	cur := b.beating.Load()
	if cur == nil {
		return
	}
	limit := b.timeout
	if b.view.Load() == nil {
		limit = b.ttl
	}
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case <-*cur:
	case <-timer.C:
	case <-ctx.Done():
	}
}

// keys appends the keys of rows under the other builds' indexes this one
// can compute.
func (b *builds) keys(keys []string, values [][]any) []string {
	v := b.view.Load()
	if v == nil {
		return keys
	}
	buf := make([]byte, 0, KeyBufferSize)
	for _, li := range v.lock {
		for _, vals := range values {
			buf = append(buf[:0], li.prefix...)
			ok := true
			for j, c := range li.cols {
				if j > 0 {
					buf = AppendKeySep(buf)
				}
				if buf, ok = appendKeyValue(buf, vals[c]); !ok {
					break
				}
			}
			if !ok {
				continue
			}
			if k := ownKey(buf, li.head); !slices.Contains(keys, k) {
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// learnsAny reports whether the runtime locks other builds' indexes on its
// writes: their old values are known only from the old row.
func (b *builds) learnsAny() bool {
	v := b.view.Load()
	return v != nil && len(v.lock) > 0
}
