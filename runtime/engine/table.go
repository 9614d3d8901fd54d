package engine

import (
	"encoding/hex"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"

	"github.com/jmoiron/sqlx"
	"golang.org/x/sync/singleflight"

	"github.com/cachegen/cachegen/internal/catalog"
	"github.com/cachegen/cachegen/runtime/store"
)

// Table is the cached access to one model's table: the read and write
// protocol, written once for every generated repository. A Table made by
// WithTx shares everything with its parent but works inside a transaction.
type Table[T any] struct {
	*state[T]
	tx *Tx // nil outside a transaction
}

// state is what every Table of one repository shares.
type state[T any] struct {
	db       *sqlx.DB
	store    store.Store // the caller's store behind the breaker, or nil
	breaker  *breaker    // nil without a store
	spec     Spec[T]
	opts     options
	dialect  Dialect
	sql      statements
	pkCol    int      // position of the primary key in spec.Columns
	prefixes []string // per index: "<base><index columns>="
	heads    []int    // per index: the length of its keys' head a hashed key keeps
	base     string   // what every key of the table starts with (tableBase)
	allKey   string
	header   [5]byte                 // version and schema; the checksum follows
	hdr      atomic.Pointer[[5]byte] // header with the build board's epoch (builds.go)
	builds   *builds                 // the build board, or nil
	flight   singleflight.Group
	retries  retryQueue
	stats    counters
	obs      observers  // nil: nobody observes
	near     *NearCache // nil: no near cache
	// keyColumns are the text key columns and their collations, read by
	// WithVerify (nil without it).
	keyColumns []catalog.KeyColumn
	exact      exactness // what the catalog says of the text indexes
	// returning: whether the database runs DELETE … RETURNING (0: not
	// asked yet, 1: yes, 2: no).
	returning atomic.Int32
}

// NewTable checks spec and builds the statements and keys of a table. A nil
// store disables caching: every read goes to the database.
func NewTable[T any](db *sqlx.DB, s store.Store, spec *Spec[T], opts ...Option) (*Table[T], error) {
	if db == nil {
		return nil, errors.New("cachegen: NewTable: nil *sqlx.DB")
	}
	if spec == nil || spec.Mapper == nil {
		return nil, errors.New("cachegen: NewTable: spec without a Mapper")
	}
	t := &Table[T]{state: &state[T]{db: db, spec: *spec, opts: defaultOptions()}}
	if spec.TTL > 0 {
		t.opts.ttl = spec.TTL
	}
	for _, o := range opts {
		o(&t.opts)
	}
	if t.opts.err != nil {
		return nil, t.opts.err
	}
	if len(t.opts.observers) > 0 {
		t.obs = observers(t.opts.observers)
	}
	if s != nil {
		t.breaker = &breaker{inner: s, stats: &t.stats, notify: t.event}
		t.store = t.breaker
		t.near = t.opts.near
	}
	if t.near != nil {
		// A hit is counted once, here; the near cache sums its tables'
		// counts, and keeps a table's when the table is gone.
		t.stats.nearHits = new(atomic.Uint64)
		t.near.countHits(t.stats.nearHits)
		runtime.AddCleanup(t.state, t.near.retireHits, t.stats.nearHits)
	}
	if err := t.checkSpec(); err != nil {
		return nil, err
	}
	t.dialect = t.opts.dialect
	if t.dialect == 0 {
		d, err := DialectOf(db.DriverName())
		if err != nil {
			return nil, err
		}
		t.dialect = d
	}
	if t.opts.verify {
		if err := t.verify(); err != nil {
			return nil, err
		}
	}
	schema, err := hex.DecodeString(spec.SchemaHash)
	if err != nil || len(schema) != 4 {
		return nil, fmt.Errorf("cachegen: table %s: schema %q is not 8 hex digits", spec.Table, spec.SchemaHash)
	}
	t.header[0] = formatVersion
	copy(t.header[1:], schema)
	t.hdr.Store(&t.header)
	t.pkCol = spec.Indexes[0].Columns[0]
	t.sql = buildStatements(t.dialect, spec.Table, spec.Columns, spec.Indexes, t.pkCol)
	t.base = tableBase(t.opts.prefix, spec.Table)
	for _, ix := range spec.Indexes {
		// The segment names the columns, not the index: builds that name a
		// unique_together group differently still share its keys.
		cols := make([]string, len(ix.Columns))
		for k, c := range ix.Columns {
			cols[k] = spec.Columns[c]
		}
		p := indexPrefix(t.base, cols)
		t.prefixes = append(t.prefixes, p)
		t.heads = append(t.heads, keyHeadLen(p, t.base))
	}
	t.allKey = t.base + "all"
	t.initBuilds(s)
	t.retries = retryQueue{max: retryQueueMax, discard: t.discardErr, stats: &t.stats, notify: t.event}
	if t.opts.registry != nil {
		t.opts.registry.changed.add(t)
	}
	return t, nil
}

func (t *Table[T]) checkSpec() error {
	s := &t.spec
	if s.Table == "" || len(s.Columns) == 0 || len(s.Indexes) == 0 {
		return fmt.Errorf("cachegen: spec of table %q needs columns and a primary key index", s.Table)
	}
	if err := checkTableName(s.Table); err != nil {
		return err
	}
	var keyColumns []string
	for _, ix := range s.Indexes {
		for _, c := range ix.Columns {
			if c >= 0 && c < len(s.Columns) {
				keyColumns = append(keyColumns, s.Columns[c])
			}
		}
	}
	if err := checkKeyNames(t.opts.prefix, s.Table, keyColumns); err != nil {
		return err
	}
	if len(s.Indexes[0].Columns) != 1 {
		return fmt.Errorf("cachegen: table %s: the primary key index must have one column", s.Table)
	}
	for _, ix := range s.Indexes {
		if ix.Name == "" || len(ix.Columns) == 0 {
			return fmt.Errorf("cachegen: table %s: index without a name or columns", s.Table)
		}
		for _, c := range ix.Columns {
			if c < 0 || c >= len(s.Columns) {
				return fmt.Errorf("cachegen: table %s: index %s names column %d of %d", s.Table, ix.Name, c, len(s.Columns))
			}
		}
		if ix.Misses == CacheMissesIfExact && len(ix.Text) == 0 {
			return fmt.Errorf("cachegen: table %s: index %s caches misses if its text columns compare exactly, but names none", s.Table, ix.Name)
		}
		for _, c := range ix.Text {
			if !slices.Contains(ix.Columns, c) {
				return fmt.Errorf("cachegen: table %s: index %s: text column %d is not one of its columns", s.Table, ix.Name, c)
			}
		}
	}
	return nil
}

// WithTx returns the table working inside tx: reads go to the database
// through tx (they see its uncommitted rows) and never touch the cache;
// writes lock their keys at once and release them when tx commits or rolls
// back.
func (t *Table[T]) WithTx(tx *Tx) *Table[T] { return &Table[T]{state: t.state, tx: tx} }

// querier is what reads run on: the transaction, or the database.
func (t *Table[T]) querier() sqlx.QueryerContext {
	if t.tx != nil {
		return t.tx.tx
	}
	return t.db
}

// Stats returns the table's counters.
func (t *Table[T]) Stats() Stats {
	s := t.stats.snapshot()
	s.BreakerOpen = t.breaker != nil && t.breaker.isOpen()
	return s
}

// Key returns the cache key of index i (0: the primary key) for the values
// in row.
func (t *Table[T]) Key(i int, row *T) string {
	b := make([]byte, 0, len(t.prefixes[i])+32)
	b = append(b, t.prefixes[i]...)
	b = t.spec.Mapper.AppendKey(b, i, row)
	return finishKey(b, t.heads[i])
}

// KeyBufferSize is the size of the buffer generated code builds keys in:
// every key up to MaxKeyLen fits.
const KeyBufferSize = MaxKeyLen + 56

// PendingInvalidations returns how many invalidations wait for the store to
// answer again.
func (t *Table[T]) PendingInvalidations() int { return t.retries.queued() }
