package runtime

import (
	"context"
	"database/sql"

	"github.com/cachegen/cachegen/runtime/engine"
	"github.com/cachegen/cachegen/runtime/store"
	"github.com/jmoiron/sqlx"
)

// Store is a cache backend: pass the one runtime/redis, runtime/memcached
// or runtime/memory builds to a generated constructor; a nil Store sends
// every read to the database. Package runtime/store defines it, for store
// authors.
type Store = store.Store

// Tx is a database transaction that repositories join with WithTx. The cache
// keys its writes change are locked as each write runs and stay locked until
// the transaction ends: Commit releases them after the commit, Rollback after
// the rollback. No reader fills them meanwhile, and no reader is served a
// value older than the commit once Commit returns.
//
// Locks carry the lock TTL (runtime.WithLockTTL, 30s by default); a
// transaction that stays open longer lets readers fill the keys again before
// it commits, and its release after commit then clears them.
type Tx = engine.Tx

// Registry lets the repositories of related models find each other: the
// loader of a foreign key reads the rows it references through the target
// model's own repository, so through its cache, and a cached row never
// holds a related one. The generated NewRepos of a package makes a registry
// (or uses the one passed with WithRegistry) and adds every repository it
// builds. When foreign keys cross packages, pass one registry to the
// NewRepos of each of them. A registry holds one repository per type, so it
// serves one database and store. It is safe for concurrent use.
type Registry = engine.Registry

// Stats counts what a repository did since it was made.
type Stats = engine.Stats

// NearCache is an in-process tier in front of a shared store: rows read
// from the store, or filled into it, are kept here in their cached form, so
// that reading them again costs a lookup and a decode rather than a round
// trip. One NearCache serves every repository of a process (pass it with
// WithNearCache); Close stops it.
//
// It stays correct across processes through its Bus. A write announces its
// keys on the bus after it locks them in the store and before it commits,
// and again after it releases them (for a lock the store lost meanwhile);
// every process drops its copies when a message arrives, and while a key
// is locked the store answers no process with a value to keep. A process
// serves an entry only while a probe it sent at most MaxStaleness ago has
// come back: the bus delivers in order, so every invalidation published
// before that probe has been applied. A read that starts after a write was
// acknowledged therefore sees it, or runs less than MaxStaleness after the
// acknowledgement. Entries of the writing process itself are dropped before
// the write returns.
type NearCache = engine.NearCache

// NearOptions configures a NearCache. Zero fields take the defaults; a
// negative one makes NewNearCache fail.
type NearOptions = engine.NearOptions

// NearStats counts what a near cache did.
type NearStats = engine.NearStats

// Dialect is the SQL flavour a table speaks. One generated file serves all
// of them: the statements are built for the dialect when a repository is
// made.
type Dialect = engine.Dialect

// The dialects.
const (
	SQLite   = engine.SQLite
	Postgres = engine.Postgres
	MySQL    = engine.MySQL
)

// ErrNotFound is returned when the database confirms that no row answers a
// lookup, whether that answer came from the database or from a cached
// not-found. errors.Is(err, sql.ErrNoRows) holds for it too, so code written
// against database/sql keeps working.
var ErrNotFound = engine.ErrNotFound

// ErrSchemaMismatch is the error of a repository made WithVerify whose
// table does not match its model; the message lists every problem, each
// with the DDL that fixes it.
var ErrSchemaMismatch = engine.ErrSchemaMismatch

// Begin starts a transaction on db.
func Begin(ctx context.Context, db *sqlx.DB, opts *sql.TxOptions) (*Tx, error) {
	return engine.Begin(ctx, db, opts)
}

// InTx runs fn in a transaction: it commits when fn returns nil and rolls
// back when fn returns an error or panics.
func InTx(ctx context.Context, db *sqlx.DB, fn func(tx *Tx) error) (err error) {
	return engine.InTx(ctx, db, fn)
}

// Join wraps tx, a transaction the application began itself, in a Tx that
// repositories join with WithTx. Their writes lock the keys they change at
// once and release them when the Tx ends, as in a transaction from Begin.
//
// The application must end the transaction through the returned Tx: its
// Commit and Rollback end tx, then release the keys. A deferred Rollback
// right after Join releases them on every path, a panic included (after a
// Commit it only reports sql.ErrTxDone).
//
// If tx is committed or rolled back directly, the keys stay locked (readers
// go to the database, which is correct but uncached) until the Tx's Commit
// or Rollback is called: it then reports an error matching sql.ErrTxDone
// and still releases them. A Tx that is never ended leaves its locks to
// expire with the lock TTL, and a key whose lock failed (the store did not
// answer during the write) is then never invalidated: the store may serve
// the row as it was before the transaction until the value's TTL.
func Join(tx *sqlx.Tx) *Tx {
	return engine.Join(tx)
}

// JoinSQL is Join for a *sql.Tx begun on db's *sql.DB (db.DB). Sqlx on the
// returned Tx wraps tx with db's field mapper but without its driver name,
// so its Rebind leaves '?' as is: run the application's own statements on
// tx itself.
func JoinSQL(db *sqlx.DB, tx *sql.Tx) *Tx {
	return engine.JoinSQL(db, tx)
}

// Fresh returns a context under which every repository read (Get, GetMany,
// All, and the related-object loaders, which read through them) goes to the
// database, for read-modify-write flows that must not act on a cached copy.
// Such a read neither reads nor changes the cache: the near cache and the
// store are not asked, nothing is filled, and the cached copy stays as it
// was (a row changed outside the repositories still needs InvalidateByPK or InvalidateRows).
// Inside a transaction reads already go to the database, through it.
//
// The mark travels with the context: derive it for the calls that need it,
// not for a whole request.
func Fresh(ctx context.Context) context.Context {
	return engine.Fresh(ctx)
}

// IsFresh reports whether ctx was made by Fresh (or derives from one).
func IsFresh(ctx context.Context) bool {
	return engine.IsFresh(ctx)
}

// NewNearCache starts a near cache listening on bus. Its entries are served
// once the bus has answered its first probe.
func NewNearCache(bus store.Bus, opts NearOptions) (*NearCache, error) {
	return engine.NewNearCache(bus, opts)
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return engine.NewRegistry()
}

// Provide adds repo to reg as the repository of its type, the one loaders
// of foreign keys to its model read through. It fails when reg already
// holds another repository of that type: a registry serves one database.
func Provide[R comparable](reg *Registry, repo R) error {
	return engine.Provide[R](reg, repo)
}

// Validator is a row's part of an ETag, as a generated repository's
// Validator returns it (see runtime/httpcache): its String changes whenever
// the row does.
type Validator = engine.Validator

// NoRow is the String of the Validator of a row that does not exist.
const NoRow = engine.NoRow
