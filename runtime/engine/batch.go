package engine

import (
	"context"
	"crypto/rand"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/cachegen/cachegen/runtime/observe"
	"github.com/cachegen/cachegen/runtime/store"
)

// maxBatchParams bounds the values bound to one batch query: SQLite's
// historical limit, far below PostgreSQL's and MySQL's. A larger batch is
// read with one query per this many values.
const maxBatchParams = 999

// GetMany returns, for each probe, the row whose index i (0: the primary
// key) has the values in that probe, or nil where no row has them: the
// result is aligned with probes, and a nil probe gives nil. Probes with the
// same key are read once, and each position gets a copy of its own.
//
// Each key follows the protocol of Get: a value or a cached not-found
// answers; a miss is leased, read from the database and filled only if the
// lease is still there; another reader's lease is waited for briefly; a
// writer's lock is read through without filling. Across keys it batches:
// one store round trip reads every key, one leases the misses, one query
// reads them from the database (one per 999 bound values), and one fills
// the leased keys. A store that is not a BatchStore gets the same calls one
// key at a time. In a transaction every key is read from the database
// through it, as Get does.
func (t *Table[T]) GetMany(ctx context.Context, i int, probes []*T) ([]*T, error) {
	if i < 0 || i >= len(t.spec.Indexes) {
		return nil, fmt.Errorf("cachegen: table %s has no index %d", t.spec.Table, i)
	}
	if t.obs == nil {
		rows, _, err := t.getMany(ctx, i, probes)
		return rows, err
	}
	start := time.Now()
	rows, info, err := t.getMany(ctx, i, probes)
	t.observeRead(ctx, t.spec.Indexes[i].Name, start, info, err)
	return rows, err
}

func (t *Table[T]) getMany(ctx context.Context, i int, probes []*T) ([]*T, readInfo, error) {
	b := t.newBatch(i, probes)
	err := b.resolve(ctx)
	info := b.info()
	if err != nil {
		return nil, info, err
	}
	rows, err := b.results(probes)
	return rows, info, err
}

// batch is one GetMany: its distinct keys and what became of each.
type batch[T any] struct {
	t     *Table[T]
	index int
	slots []*slot[T]
	at    []int // per probe: its slot, or -1 for a nil probe
	// for observers: the time spent in the database, and whether a key was
	// read from it under a lease (miss) or without one (bypass)
	dbTime           time.Duration
	missed, bypassed bool
	// a row the batch query returned had no slot's key: the database
	// matched it by a looser equality, or the driver returned its value
	// changed (SQLite's empty blob comes back nil)
	unmatched bool
}

// slot is one distinct key of a batch.
type slot[T any] struct {
	key   string
	probe *T
	step  step
	token string  // our fill lease, "" when we hold none
	found bool    // done: a row answers the key (row and data are set)
	row   *T      // done: the row, decoded or read
	data  []byte  // done: the row's encoding
	fill  bool    // loaded: the result may be stored under our lease
	taken bool    // results: the row itself was handed out; copies decode data
	gen   nearGen // the near cache's generation of key before the store was asked
	keep  bool    // the answer is what the store holds: the near cache may keep it
}

// step is where a slot stands in the protocol.
type step uint8

const (
	stepAsk   step = iota // not looked up yet
	stepLease             // absent: take a lease, then load
	stepWait              // another reader's lease: wait for its fill
	stepLoad              // read the database (with our lease when token is set)
	stepDone              // answered
)

func (t *Table[T]) newBatch(i int, probes []*T) *batch[T] {
	b := &batch[T]{t: t, index: i, at: make([]int, len(probes))}
	seen := make(map[string]int, len(probes))
	for p, probe := range probes {
		if probe == nil {
			b.at[p] = -1
			continue
		}
		key := t.Key(i, probe)
		s, ok := seen[key]
		if !ok {
			s = len(b.slots)
			seen[key] = s
			b.slots = append(b.slots, &slot[T]{key: key, probe: probe})
		}
		b.at[p] = s
	}
	return b
}

// pending returns the slots at step st.
func (b *batch[T]) pending(st step) []*slot[T] {
	var out []*slot[T]
	for _, s := range b.slots {
		if s.step == st {
			out = append(out, s)
		}
	}
	return out
}

// resolve runs the protocol on every slot until each is done. A key the
// store may not answer (there is none, the table is in a transaction, the
// read is fresh, or an invalidation of the key is pending) is read from the database without
// filling, as Get does.
func (b *batch[T]) resolve(ctx context.Context) error {
	t := b.t
	var asked []*slot[T]
	trusted := t.indexTrusted(ctx, b.index)
	for _, s := range b.slots {
		if !trusted || !t.cacheable(ctx, s.key) {
			t.stats.misses.Add(1)
			s.step = stepLoad
			continue
		}
		if t.near != nil {
			if b.nearHit(s) {
				continue
			}
			s.gen = t.near.gen(s.key)
		}
		asked = append(asked, s)
	}
	if len(asked) == 0 {
		return b.load(ctx)
	}
	bs := store.Batched(t.store)
	gets := make([]store.GetOp, len(asked))
	for k, s := range asked {
		gets[k].Key = s.key
	}
	bs.GetMany(ctx, gets)
	for k, s := range asked {
		b.lookedUp(ctx, s, gets[k])
	}
	b.lease(ctx, bs)
	b.await(ctx, bs)
	ep := t.epochNow()
	if err := b.load(ctx); err != nil {
		b.giveBack(ctx, bs)
		return err
	}
	if !t.stillTrusts(b.index, ep) {
		for _, s := range b.slots {
			s.fill = false // the board's epoch moved on while the database was read
		}
	}
	b.fill(ctx, bs)
	if t.near != nil {
		for _, s := range asked {
			switch {
			case !s.keep:
			case s.found:
				t.nearPut(s.key, s.gen, store.CachedRow, s.data)
			default:
				t.nearPut(s.key, s.gen, store.CachedNotFound, nil)
			}
		}
	}
	return nil
}

// nearHit settles s from the near cache if it holds the key.
func (b *batch[T]) nearHit(s *slot[T]) bool {
	t := b.t
	e, ok := t.near.get(s.key, monoNow())
	if !ok {
		return false
	}
	row, err := t.nearRow(e)
	if err != nil {
		t.near.drop(s.key) // another build's entry, or bytes that do not decode
		return false
	}
	t.stats.nearHits.Add(1)
	s.step = stepDone
	if row != nil {
		s.found, s.row, s.data = true, row, e.b
	}
	return true
}

// info sums the batch up for observers: a hit when the store answered
// every key, a bypass when any key was read without a lease, else a miss.
func (b *batch[T]) info() readInfo {
	o := observe.OutcomeHit
	switch {
	case b.bypassed:
		o = observe.OutcomeBypass
	case b.missed:
		o = observe.OutcomeMiss
	}
	return readInfo{outcome: o, dbTime: b.dbTime}
}

// lookedUp moves s on from what its first read found, counting it as
// Get's read does.
func (b *batch[T]) lookedUp(ctx context.Context, s *slot[T], op store.GetOp) {
	t := b.t
	if op.Err != nil {
		t.storeFailed(ctx, "get", op.Err)
		t.stats.misses.Add(1)
		s.step = stepLoad
		return
	}
	e := op.Entry
	switch e.Kind {
	case store.CachedRow:
		row := new(T)
		if err := t.decodeRow(s.key, e.Value, row); err != nil {
			t.corrupt(ctx, s.key, reasonOf(err), err)
			t.discard(ctx, s.key)
			t.stats.misses.Add(1)
			s.step = stepLease
			return
		}
		t.stats.hits.Add(1)
		s.step, s.found, s.row, s.data, s.keep = stepDone, true, row, e.Value, true
	case store.CachedNotFound:
		t.stats.hits.Add(1)
		s.step, s.keep = stepDone, true
	case store.Locked:
		t.stats.misses.Add(1)
		t.stats.lockBypasses.Add(1)
		s.step = stepLoad
	case store.Leased:
		t.stats.misses.Add(1)
		t.stats.leaseWaits.Add(1)
		s.step = stepWait
	default:
		t.stats.misses.Add(1)
		s.step = stepLease
	}
}

// answer settles s with what the store holds, a Value or a NotFound. Bytes
// that do not decode are discarded and the key is read from the database
// without filling, as Get does.
func (b *batch[T]) answer(ctx context.Context, s *slot[T], e store.Entry) {
	t := b.t
	if e.Kind == store.CachedNotFound {
		s.step, s.keep = stepDone, true
		return
	}
	row := new(T)
	if err := t.decodeRow(s.key, e.Value, row); err != nil {
		t.corrupt(ctx, s.key, reasonOf(err), err)
		t.discard(ctx, s.key)
		s.step = stepLoad
		return
	}
	s.step, s.found, s.row, s.data, s.keep = stepDone, true, row, e.Value, true
}

// lease takes a fill lease on every absent key, in one batch. A key that
// turned out to hold something else is handled as if the first read had
// found it.
func (b *batch[T]) lease(ctx context.Context, bs store.BatchStore) {
	t := b.t
	slots := b.pending(stepLease)
	if len(slots) == 0 {
		return
	}
	ops := make([]store.LeaseOp, len(slots))
	for k, s := range slots {
		ops[k] = store.LeaseOp{Key: s.key, Token: rand.Text(), TTL: t.opts.leaseTTL}
	}
	bs.LeaseMany(ctx, ops)
	for k, s := range slots {
		op := ops[k]
		switch {
		case op.Err != nil:
			t.storeFailed(ctx, "lease", op.Err)
			s.step = stepLoad
		case op.OK:
			s.token = op.Token
			s.step = stepLoad
		default:
			b.found(ctx, s, op.Cur)
		}
	}
}

// found moves on a slot whose lease or wait found e instead of what it
// expected: a value answers, a lock is read through, another reader's lease
// is waited for; anything else is read from the database without filling.
func (b *batch[T]) found(ctx context.Context, s *slot[T], e store.Entry) {
	t := b.t
	switch {
	case e.Kind == store.CachedNotFound || (e.Kind == store.CachedRow && t.valid(s.key, e.Value)):
		b.answer(ctx, s, e)
	case e.Kind == store.Leased && s.step == stepLease:
		t.stats.leaseWaits.Add(1)
		s.step = stepWait
	case e.Kind == store.Locked:
		t.stats.lockBypasses.Add(1)
		s.step = stepLoad
	default:
		if e.Kind == store.CachedRow {
			t.corrupt(ctx, s.key, reasonOf(t.check(s.key, e.Value)), nil)
			t.discard(ctx, s.key)
		}
		s.step = stepLoad
	}
}

// await polls the keys other readers hold leases on, all in one batch each
// time, for at most the lease wait. A key still leased after it is read
// from the database without filling.
func (b *batch[T]) await(ctx context.Context, bs store.BatchStore) {
	t := b.t
	deadline := time.Now().Add(t.opts.leaseWait)
	pause := time.Millisecond
	for {
		slots := b.pending(stepWait)
		if len(slots) == 0 {
			return
		}
		timer := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			timer.Stop()
		case <-timer.C:
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			for _, s := range slots {
				s.step = stepLoad
			}
			return
		}
		ops := make([]store.GetOp, len(slots))
		for k, s := range slots {
			ops[k].Key = s.key
		}
		bs.GetMany(ctx, ops)
		for k, s := range slots {
			switch op := ops[k]; {
			case op.Err != nil:
				t.storeFailed(ctx, "get", op.Err)
				s.step = stepLoad
			case op.Entry.Kind != store.Leased:
				b.found(ctx, s, op.Entry)
			}
		}
		if pause < 8*time.Millisecond {
			pause *= 2
		}
	}
}

// load reads every slot at stepLoad from the database. Where the index's
// equality is the key's (its misses may be cached), one WHERE c IN (…)
// reads them all, and a key no row has is a confirmed miss. Elsewhere the
// database may match a lookup by a looser equality than the key's (a _ci
// collation, PAD SPACE, citext, a normalising Valuer): each lookup is then
// answered by the single lookup's own WHERE, in one statement for the lot,
// so that a batch answers what Get answers. So are the lookups an IN left
// unanswered when one of its rows had no lookup's key: the database's
// equality was looser than the key's there (modernc's SQLite returns an
// empty BLOB as nil), and a miss is confirmed only where they agree.
func (b *batch[T]) load(ctx context.Context) error {
	t := b.t
	slots := b.pending(stepLoad)
	if len(slots) == 0 {
		return nil
	}
	for _, s := range slots {
		if s.token != "" {
			b.missed = true
		} else {
			b.bypassed = true
		}
	}
	per := max(1, maxBatchParams/len(t.spec.Indexes[b.index].Columns))
	if !t.missCacheable(ctx, b.index) {
		per = min(per, maxEachBranches)
		for start := 0; start < len(slots); start += per {
			if err := b.queryEach(ctx, slots[start:min(start+per, len(slots))]); err != nil {
				return err
			}
		}
		return nil
	}
	byKey := make(map[string]*slot[T], len(slots))
	for _, s := range slots {
		byKey[s.key] = s
	}
	for start := 0; start < len(slots); start += per {
		chunk := slots[start:min(start+per, len(slots))]
		if err := b.query(ctx, chunk, byKey); err != nil {
			return err
		}
	}
	var rest []*slot[T]
	for _, s := range slots {
		if s.step != stepDone {
			rest = append(rest, s)
		}
	}
	if !b.unmatched {
		for _, s := range rest {
			s.step, s.fill = stepDone, t.keepsMisses(b.index) // a confirmed miss
		}
		return nil
	}
	for start := 0; start < len(rest); start += maxEachBranches {
		if err := b.queryEach(ctx, rest[start:min(start+maxEachBranches, len(rest))]); err != nil {
			return err
		}
	}
	return nil
}

// query reads the rows of chunk with one statement and settles the slots
// whose key a row has.
func (b *batch[T]) query(ctx context.Context, chunk []*slot[T], byKey map[string]*slot[T]) error {
	t := b.t
	query, args := t.selectMany(b.index, chunk)
	t.stats.dbReads.Add(1)
	start := time.Now()
	defer func() { b.dbTime += time.Since(start) }()
	rs, err := t.querier().QueryxContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("cachegen: read %s by %s: %w", t.spec.Table, t.spec.Indexes[b.index].Name, err)
	}
	defer rs.Close()
	for rs.Next() {
		row := new(T)
		if err := t.spec.Mapper.Scan(rs, row); err != nil {
			return fmt.Errorf("cachegen: read %s by %s: %w", t.spec.Table, t.spec.Indexes[b.index].Name, err)
		}
		s := byKey[t.Key(b.index, row)]
		if s == nil || s.step == stepDone {
			b.unmatched = b.unmatched || s == nil
			continue // matched by a looser equality than the key's, or settled
		}
		data, err := t.encodeRow(s.key, row)
		if err != nil {
			return err
		}
		s.step, s.fill, s.found, s.row, s.data = stepDone, true, true, row, data
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("cachegen: read %s by %s: %w", t.spec.Table, t.spec.Indexes[b.index].Name, err)
	}
	return nil
}

// maxEachBranches bounds the lookups of one selectEach statement: SQLite
// allows 500 SELECTs in a compound one.
const maxEachBranches = 200

// queryEach settles every slot of chunk with the database's own answer to
// its single lookup: one statement runs each slot's WHERE and tags its rows
// with the slot's position. A row is filled under the slot's key only when
// it is the row's own key (fills only on an exact match); a lookup no row
// answers is not cached.
func (b *batch[T]) queryEach(ctx context.Context, chunk []*slot[T]) error {
	t := b.t
	query, args := t.selectEach(b.index, chunk)
	t.stats.dbReads.Add(1)
	start := time.Now()
	defer func() { b.dbTime += time.Since(start) }()
	for _, s := range chunk {
		s.step, s.fill = stepDone, false
	}
	rs, err := t.querier().QueryxContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("cachegen: read %s by %s: %w", t.spec.Table, t.spec.Indexes[b.index].Name, err)
	}
	defer rs.Close()
	for rs.Next() {
		var pos int
		row := new(T)
		if err := t.spec.Mapper.Scan(tagged{rs, &pos}, row); err != nil {
			return fmt.Errorf("cachegen: read %s by %s: %w", t.spec.Table, t.spec.Indexes[b.index].Name, err)
		}
		if pos < 0 || pos >= len(chunk) || chunk[pos].found {
			continue // as QueryRow, the first row answers
		}
		s := chunk[pos]
		data, err := t.encodeRow(s.key, row)
		if err != nil {
			return err
		}
		s.fill, s.found, s.row, s.data = t.Key(b.index, row) == s.key, true, row, data
	}
	if err := rs.Err(); err != nil {
		return fmt.Errorf("cachegen: read %s by %s: %w", t.spec.Table, t.spec.Indexes[b.index].Name, err)
	}
	return nil
}

// tagged scans a row of selectEach: its slot position, then the columns.
type tagged struct {
	rs  *sqlx.Rows
	pos *int
}

func (s tagged) Scan(dest ...any) error { return s.rs.Scan(append([]any{s.pos}, dest...)...) }

// selectEach returns the statement and arguments that read, for each slot,
// the row the single lookup by index i reads: its SELECT once per slot,
// tagged with the slot's position, joined with UNION ALL.
func (t *Table[T]) selectEach(i int, slots []*slot[T]) (string, []any) {
	d := t.dialect
	cols := t.spec.Indexes[i].Columns
	var list strings.Builder
	for _, c := range t.spec.Columns {
		list.WriteString(", ")
		list.WriteString(d.quote(c))
	}
	from := list.String() + " FROM " + d.quoteTable(t.spec.Table) + " WHERE "
	var q strings.Builder
	args := make([]any, 0, len(slots)*len(cols))
	for k, s := range slots {
		if k > 0 {
			q.WriteString(" UNION ALL ")
		}
		q.WriteString("SELECT ")
		q.WriteString(strconv.Itoa(k))
		q.WriteString(from)
		for j, c := range cols {
			if j > 0 {
				q.WriteString(" AND ")
			}
			q.WriteString(d.quote(t.spec.Columns[c]))
			q.WriteString(" = ")
			q.WriteString(d.placeholder(len(args) + j + 1))
		}
		args = append(args, t.args(i, s.probe)...)
	}
	return q.String(), args
}

// selectMany returns the statement and arguments that read the rows of
// the slots by index i: WHERE c IN (…) for one column, an OR of ANDs for a
// group.
func (t *Table[T]) selectMany(i int, slots []*slot[T]) (string, []any) {
	d := t.dialect
	cols := t.spec.Indexes[i].Columns
	var q strings.Builder
	q.WriteString("SELECT ")
	for k, c := range t.spec.Columns {
		if k > 0 {
			q.WriteString(", ")
		}
		q.WriteString(d.quote(c))
	}
	q.WriteString(" FROM ")
	q.WriteString(d.quoteTable(t.spec.Table))
	q.WriteString(" WHERE ")
	args := make([]any, 0, len(slots)*len(cols))
	if len(cols) == 1 {
		q.WriteString(d.quote(t.spec.Columns[cols[0]]))
		q.WriteString(" IN (")
		for k, s := range slots {
			if k > 0 {
				q.WriteString(", ")
			}
			args = append(args, t.args(i, s.probe)...)
			q.WriteString(d.placeholder(len(args)))
		}
		q.WriteString(")")
		return q.String(), args
	}
	for k, s := range slots {
		if k > 0 {
			q.WriteString(" OR ")
		}
		q.WriteString("(")
		for j, c := range cols {
			if j > 0 {
				q.WriteString(" AND ")
			}
			q.WriteString(d.quote(t.spec.Columns[c]))
			q.WriteString(" = ")
			q.WriteString(d.placeholder(len(args) + j + 1))
		}
		args = append(args, t.args(i, s.probe)...)
		q.WriteString(")")
	}
	return q.String(), args
}

// fill stores what was read under the keys whose lease the batch holds, in
// one batch, and gives back the leases it will not fill.
func (b *batch[T]) fill(ctx context.Context, bs store.BatchStore) {
	t := b.t
	var fills []store.FillOp
	var releases []store.ReleaseOp
	for _, s := range b.slots {
		switch {
		case s.token == "":
		case !s.fill:
			releases = append(releases, store.ReleaseOp{Key: s.key, Token: s.token})
		case s.found:
			fills = append(fills, store.FillOp{Key: s.key, Token: s.token, Entry: store.Entry{Kind: store.CachedRow, Value: s.data}, TTL: jitter(t.opts.ttl)})
		default:
			fills = append(fills, store.FillOp{Key: s.key, Token: s.token, Entry: store.Entry{Kind: store.CachedNotFound}, TTL: t.opts.notFoundTTL})
		}
	}
	ctx = context.WithoutCancel(ctx)
	if len(fills) > 0 {
		bs.FillMany(ctx, fills)
		filled := map[string]bool{}
		for _, op := range fills {
			switch {
			case op.Err != nil:
				t.storeFailed(ctx, "fill", op.Err)
			case op.OK:
				t.stats.fills.Add(1)
				filled[op.Key] = true
			}
		}
		for _, s := range b.slots {
			s.keep = s.keep || filled[s.key]
		}
	}
	b.release(ctx, bs, releases)
}

// giveBack releases every lease the batch holds: the database failed.
func (b *batch[T]) giveBack(ctx context.Context, bs store.BatchStore) {
	var releases []store.ReleaseOp
	for _, s := range b.slots {
		if s.token != "" {
			releases = append(releases, store.ReleaseOp{Key: s.key, Token: s.token})
		}
	}
	b.release(context.WithoutCancel(ctx), bs, releases)
}

func (b *batch[T]) release(ctx context.Context, bs store.BatchStore, ops []store.ReleaseOp) {
	if len(ops) == 0 {
		return
	}
	bs.ReleaseMany(ctx, ops)
	for _, op := range ops {
		if op.Err != nil {
			b.t.storeFailed(ctx, "release", op.Err)
		}
	}
}

// results hands out one row per probe: the row itself the first time its
// slot is asked for, a decoded copy after that, so no two positions share
// memory.
func (b *batch[T]) results(probes []*T) ([]*T, error) {
	out := make([]*T, len(probes))
	for p, k := range b.at {
		if k < 0 {
			continue
		}
		s := b.slots[k]
		if !s.found {
			continue
		}
		if !s.taken {
			s.taken = true
			out[p] = s.row
			continue
		}
		row := new(T)
		if err := b.t.spec.Mapper.Decode(s.data[headerLen:], row); err != nil {
			return nil, fmt.Errorf("cachegen: copy %s row: %w", b.t.spec.Table, err)
		}
		out[p] = row
	}
	return out, nil
}
