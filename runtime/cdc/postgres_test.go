package cdc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
)

// pgEnv is a schema, a publication and a slot of one test's own on the
// logical-replication server; all three are dropped when the test ends.
type pgEnv struct {
	t      *testing.T
	dsn    string
	db     *pgx.Conn
	schema string
	name   string // the publication's and the slot's
}

func newPGEnv(t *testing.T) *pgEnv {
	t.Helper()
	dsn := testenvPostgresCDC(t)
	ctx := context.Background()
	db, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect %s: %v", dsn, err)
	}
	buf := make([]byte, 4)
	_, _ = rand.Read(buf)
	e := &pgEnv{t: t, dsn: dsn, db: db, schema: "cg_cdc_" + hex.EncodeToString(buf), name: "cg_cdc_" + hex.EncodeToString(buf)}
	e.exec("CREATE SCHEMA " + e.schema)
	t.Cleanup(func() {
		ctx := context.Background()
		_ = e.dropSlot()
		_, _ = db.Exec(ctx, "DROP PUBLICATION IF EXISTS "+e.name)
		_, _ = db.Exec(ctx, "DROP SCHEMA "+e.schema+" CASCADE")
		db.Close(ctx)
	})
	return e
}

// dropSlot drops the test's slot once no walsender holds it: a closed
// source's walsender may still be exiting.
func (e *pgEnv) dropSlot() error {
	var err error
	for range 100 {
		_, err = e.db.Exec(context.Background(), "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1", e.name)
		if err == nil || !strings.Contains(err.Error(), "is active") {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
	return err
}

func (e *pgEnv) exec(sql string, args ...any) {
	e.t.Helper()
	if _, err := e.db.Exec(context.Background(), sql, args...); err != nil {
		e.t.Fatalf("%s: %v", sql, err)
	}
}

// tx runs statements in one transaction.
func (e *pgEnv) tx(stmts ...string) {
	e.t.Helper()
	ctx := context.Background()
	tx, err := e.db.Begin(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := tx.Exec(ctx, s); err != nil {
			e.t.Fatalf("%s: %v", s, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		e.t.Fatal(err)
	}
}

func (e *pgEnv) table(t string) string { return e.schema + "." + t }

func (e *pgEnv) open(opts PostgresOptions) *Postgres {
	e.t.Helper()
	opts.DSN = e.dsn
	opts.Publication, opts.Slot = e.name, e.name
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := OpenPostgres(ctx, opts)
	if err != nil {
		e.t.Fatalf("OpenPostgres: %v", err)
	}
	e.t.Cleanup(func() { s.Close() })
	return s
}

// next reads the next batch, failing the test after 30s without one.
func next(t *testing.T, s Source) *Batch {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := s.Next(ctx)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return b
}

func (e *pgEnv) confirmed() pglogrepl.LSN {
	e.t.Helper()
	var s string
	if err := e.db.QueryRow(context.Background(), "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1", e.name).Scan(&s); err != nil {
		e.t.Fatal(err)
	}
	lsn, err := pglogrepl.ParseLSN(s)
	if err != nil {
		e.t.Fatal(err)
	}
	return lsn
}

// show renders changes compactly and in a stable order for comparison.
func show(cs []Change) string {
	var b strings.Builder
	for i, c := range cs {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s %s", c.Op, c.Table[strings.IndexByte(c.Table, '.')+1:])
		if c.Old != nil {
			fmt.Fprintf(&b, " old=%v", c.Old)
		}
		if c.New != nil {
			fmt.Fprintf(&b, " new=%v", c.New)
		}
		if c.Partial {
			b.WriteString(" partial")
		}
		if len(c.Unknown) > 0 {
			fmt.Fprintf(&b, " unknown=%v", c.Unknown)
		}
	}
	return b.String()
}

func want(t *testing.T, b *Batch, w string) {
	t.Helper()
	if got := show(b.Changes); got != w {
		t.Fatalf("changes\n got: %s\nwant: %s", got, w)
	}
}

func TestPostgresChanges(t *testing.T) {
	e := newPGEnv(t)
	e.exec("CREATE TABLE " + e.table("users") + " (id bigint PRIMARY KEY, email text UNIQUE NOT NULL, name text, bio text)")
	e.exec("ALTER TABLE " + e.table("users") + " REPLICA IDENTITY FULL")
	// bio is kept out of line, uncompressed, so a long one is TOASTed
	e.exec("ALTER TABLE " + e.table("users") + " ALTER COLUMN bio SET STORAGE EXTERNAL")
	s := e.open(PostgresOptions{Tables: []string{e.table("users")}, FullIdentity: []string{e.table("users")}})

	e.tx("INSERT INTO "+e.table("users")+" VALUES (1, 'a@x', 'Ann', NULL)",
		"INSERT INTO "+e.table("users")+" VALUES (2, 'b@x', 'Bob', 'short')")
	b := next(t, s)
	want(t, b, "insert users new=map[bio:<nil> email:a@x id:1 name:Ann]; insert users new=map[bio:short email:b@x id:2 name:Bob]")
	if b.Position == "" || b.Commit.IsZero() || b.Collapsed || fmt.Sprint(b.Tables) != "["+e.table("users")+"]" {
		t.Fatalf("batch position=%q commit=%v collapsed=%v tables=%v", b.Position, b.Commit, b.Collapsed, b.Tables)
	}

	// a unique column changes: the old and the new value both arrive
	e.tx("UPDATE " + e.table("users") + " SET email = 'a2@x' WHERE id = 1")
	want(t, next(t, s), "update users old=map[bio:<nil> email:a@x id:1 name:Ann] new=map[bio:<nil> email:a2@x id:1 name:Ann]")

	e.tx("DELETE FROM " + e.table("users") + " WHERE id = 2")
	want(t, next(t, s), "delete users old=map[bio:short email:b@x id:2 name:Bob]")

	// a TOASTed column the update does not touch arrives as 'u' (unchanged,
	// no value); the old tuple of REPLICA IDENTITY FULL carries it, so New
	// gets it from there and nothing is unknown.
	long := strings.Repeat("0123456789", 1000)
	e.tx("INSERT INTO " + e.table("users") + " VALUES (3, 'c@x', 'Cy', '" + long + "')")
	next(t, s)
	e.tx("UPDATE " + e.table("users") + " SET name = 'Cyd' WHERE id = 3")
	b = next(t, s)
	if len(b.Changes) != 1 {
		t.Fatalf("want one change, got %s", show(b.Changes))
	}
	c := b.Changes[0]
	if c.Op != Update || c.Partial || len(c.Unknown) != 0 || c.New["bio"] != long || c.Old["bio"] != long || c.New["name"] != "Cyd" || c.Old["name"] != "Cy" {
		t.Fatalf("TOAST-unchanged update: op=%s partial=%v unknown=%v name %v->%v bio kept=%v", c.Op, c.Partial, c.Unknown, c.Old["name"], c.New["name"], c.New["bio"] == long)
	}

	e.tx("TRUNCATE " + e.table("users"))
	want(t, next(t, s), "truncate users")
}

// Without REPLICA IDENTITY FULL an unchanged TOAST value is not known: the
// change says so instead of inventing one.
func TestPostgresToastUnknownWithoutFullIdentity(t *testing.T) {
	e := newPGEnv(t)
	e.exec("CREATE TABLE " + e.table("notes") + " (id bigint PRIMARY KEY, title text, body text)")
	e.exec("ALTER TABLE " + e.table("notes") + " ALTER COLUMN body SET STORAGE EXTERNAL")
	s := e.open(PostgresOptions{Tables: []string{e.table("notes")}})
	e.tx("INSERT INTO " + e.table("notes") + " VALUES (1, 't', '" + strings.Repeat("x", 10000) + "')")
	next(t, s)
	e.tx("UPDATE " + e.table("notes") + " SET title = 't2' WHERE id = 1")
	want(t, next(t, s), "update notes new=map[id:1 title:t2] partial unknown=[body]")
	e.tx("DELETE FROM " + e.table("notes") + " WHERE id = 1")
	want(t, next(t, s), "delete notes old=map[id:1] partial")
}

func TestPostgresRequiresFullIdentity(t *testing.T) {
	e := newPGEnv(t)
	e.exec("CREATE TABLE " + e.table("users") + " (id bigint PRIMARY KEY, email text UNIQUE)")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := OpenPostgres(ctx, PostgresOptions{DSN: e.dsn, Publication: e.name, Slot: e.name,
		Tables: []string{e.table("users")}, FullIdentity: []string{e.table("users")}})
	wantStmt := `ALTER TABLE "` + e.schema + `"."users" REPLICA IDENTITY FULL`
	if !errors.Is(err, ErrConfig) || !strings.Contains(fmt.Sprint(err), wantStmt) {
		t.Fatalf("got %v, want ErrConfig giving %s", err, wantStmt)
	}

	// turned off while streaming: the next Relation message stops the stream
	e.exec("ALTER TABLE " + e.table("users") + " REPLICA IDENTITY FULL")
	s := e.open(PostgresOptions{Tables: []string{e.table("users")}, FullIdentity: []string{e.table("users")}})
	e.exec("ALTER TABLE " + e.table("users") + " REPLICA IDENTITY DEFAULT")
	e.tx("INSERT INTO " + e.table("users") + " VALUES (1, 'a@x')")
	_, err = s.Next(ctx)
	if !errors.Is(err, ErrConfig) || !strings.Contains(fmt.Sprint(err), wantStmt) {
		t.Fatalf("after REPLICA IDENTITY DEFAULT: got %v, want ErrConfig giving %s", err, wantStmt)
	}
}

// A column added and one dropped mid-stream: the changes after the DDL are
// decoded with the new Relation message's columns.
func TestPostgresDDLMidStream(t *testing.T) {
	e := newPGEnv(t)
	e.exec("CREATE TABLE " + e.table("users") + " (id bigint PRIMARY KEY, email text UNIQUE, age int)")
	e.exec("ALTER TABLE " + e.table("users") + " REPLICA IDENTITY FULL")
	s := e.open(PostgresOptions{Tables: []string{e.table("users")}, FullIdentity: []string{e.table("users")}})
	e.tx("INSERT INTO " + e.table("users") + " VALUES (1, 'a@x', 30)")
	want(t, next(t, s), "insert users new=map[age:30 email:a@x id:1]")
	e.exec("ALTER TABLE " + e.table("users") + " ADD COLUMN nick text")
	e.exec("ALTER TABLE " + e.table("users") + " DROP COLUMN age")
	e.tx("INSERT INTO "+e.table("users")+" (id, email, nick) VALUES (2, 'b@x', 'bee')",
		"UPDATE "+e.table("users")+" SET nick = 'ay' WHERE id = 1")
	want(t, next(t, s), "insert users new=map[email:b@x id:2 nick:bee]; update users old=map[email:a@x id:1 nick:<nil>] new=map[email:a@x id:1 nick:ay]")
}

// The slot's confirmed position moves only when the consumer acknowledges;
// a consumer that stops before its Ack sees the transaction again, and one
// that acknowledged sees nothing twice.
func TestPostgresResume(t *testing.T) {
	e := newPGEnv(t)
	e.exec("CREATE TABLE " + e.table("t") + " (id bigint PRIMARY KEY, v text)")
	e.exec("ALTER TABLE " + e.table("t") + " REPLICA IDENTITY FULL")
	opts := PostgresOptions{Tables: []string{e.table("t")}, StatusInterval: 50 * time.Millisecond}
	s := e.open(opts)
	e.tx("INSERT INTO " + e.table("t") + " VALUES (1, 'a')")
	e.tx("INSERT INTO " + e.table("t") + " VALUES (2, 'b')")
	a := next(t, s)
	want(t, a, "insert t new=map[id:1 v:a]")
	posA, _ := pglogrepl.ParseLSN(string(a.Position))
	// Next sends status updates while it waits (and may move the slot up to
	// a keepalive's position while nothing is pending), never past a
	// transaction it returned and the consumer has not acknowledged.
	if got := e.confirmed(); got >= posA {
		t.Fatalf("confirmed_flush_lsn %s reached the transaction's end %s before its Ack", got, posA)
	}
	if err := s.Ack(context.Background(), a.Position); err != nil {
		t.Fatal(err)
	}
	// the server applies a status update when it reads it: wait for it
	for deadline := time.Now().Add(10 * time.Second); e.confirmed() < posA; {
		if time.Now().After(deadline) {
			t.Fatalf("after Ack: confirmed_flush_lsn %s, want %s", e.confirmed(), posA)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b := next(t, s)
	want(t, b, "insert t new=map[id:2 v:b]")
	s.Close() // dies before acknowledging b
	if posB, _ := pglogrepl.ParseLSN(string(b.Position)); e.confirmed() >= posB {
		t.Fatalf("confirmed_flush_lsn %s reached %s, never acknowledged", e.confirmed(), posB)
	}

	e.tx("INSERT INTO " + e.table("t") + " VALUES (3, 'c')")
	opts.From = a.Position
	s = e.open(opts)
	b2 := next(t, s)
	want(t, b2, "insert t new=map[id:2 v:b]")
	if b2.Position != b.Position {
		t.Fatalf("redelivered at %s, first delivered at %s", b2.Position, b.Position)
	}
	c := next(t, s)
	want(t, c, "insert t new=map[id:3 v:c]")
	if err := s.Ack(context.Background(), c.Position); err != nil {
		t.Fatal(err)
	}
	s.Close()

	e.tx("INSERT INTO " + e.table("t") + " VALUES (4, 'd')")
	opts.From = c.Position
	s = e.open(opts)
	want(t, next(t, s), "insert t new=map[id:4 v:d]")
	s.Close()

	// the slot gone: the position cannot be resumed
	if err := e.dropSlot(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	opts.DSN, opts.Publication, opts.Slot = e.dsn, e.name, e.name
	if _, err := OpenPostgres(ctx, opts); !errors.Is(err, ErrPositionLost) {
		t.Fatalf("slot dropped: got %v, want ErrPositionLost", err)
	}
}

// A transaction over MaxChanges arrives as its tables alone.
func TestPostgresLargeTransactionCollapses(t *testing.T) {
	e := newPGEnv(t)
	e.exec("CREATE TABLE " + e.table("a") + " (id bigint PRIMARY KEY)")
	e.exec("CREATE TABLE " + e.table("b") + " (id bigint PRIMARY KEY)")
	s := e.open(PostgresOptions{Tables: []string{e.table("a"), e.table("b")}, MaxChanges: 5})
	e.tx("INSERT INTO "+e.table("a")+" SELECT generate_series(1, 1000)",
		"INSERT INTO "+e.table("b")+" VALUES (1)")
	b := next(t, s)
	if !b.Collapsed || b.Changes != nil || fmt.Sprint(b.Tables) != fmt.Sprintf("[%s %s]", e.table("a"), e.table("b")) {
		t.Fatalf("collapsed=%v changes=%d tables=%v", b.Collapsed, len(b.Changes), b.Tables)
	}
	e.tx("INSERT INTO " + e.table("a") + " VALUES (2000)")
	want(t, next(t, s), "insert a new=map[id:2000]")
}

func TestPostgresSettingsError(t *testing.T) {
	if err := postgresSettingsError("logical"); err != nil {
		t.Fatal(err)
	}
	err := postgresSettingsError("replica")
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "ALTER SYSTEM SET wal_level = logical") {
		t.Fatalf("got %v", err)
	}
}

// With every transaction acknowledged and none of the publication's tables
// written, the slot still moves on with the server's WAL (from the
// keepalives), so an idle publication does not make the server keep WAL;
// and a Next that ran out of time leaves the stream usable.
func TestPostgresIdleSlotFollowsWAL(t *testing.T) {
	e := newPGEnv(t)
	e.exec("CREATE TABLE " + e.table("t") + " (id bigint PRIMARY KEY)")
	e.exec("CREATE TABLE " + e.table("other") + " (id bigint PRIMARY KEY)")
	s := e.open(PostgresOptions{Tables: []string{e.table("t")}, StatusInterval: 50 * time.Millisecond})
	e.tx("INSERT INTO " + e.table("t") + " VALUES (1)")
	a := next(t, s)
	if err := s.Ack(context.Background(), a.Position); err != nil {
		t.Fatal(err)
	}
	posA, _ := pglogrepl.ParseLSN(string(a.Position))
	for i := range 3 {
		e.tx(fmt.Sprintf("INSERT INTO %s VALUES (%d)", e.table("other"), i))
	}
	deadline := time.Now().Add(30 * time.Second)
	for e.confirmed() <= posA {
		if time.Now().After(deadline) {
			t.Fatalf("confirmed_flush_lsn stayed at %s while the server's WAL moved on", e.confirmed())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		b, err := s.Next(ctx)
		cancel()
		switch {
		case err == nil && len(b.Changes) == 0: // an empty transaction, if the server sends them
			if err := s.Ack(context.Background(), b.Position); err != nil {
				t.Fatal(err)
			}
		case err == nil:
			t.Fatalf("unexpected changes: %s", show(b.Changes))
		case !errors.Is(err, context.DeadlineExceeded):
			t.Fatalf("Next: %v", err)
		}
	}
	e.tx("INSERT INTO " + e.table("t") + " VALUES (2)")
	want(t, next(t, s), "insert t new=map[id:2]")
}

// The Go types values arrive as, which the package doc promises.
func TestPostgresValueTypes(t *testing.T) {
	e := newPGEnv(t)
	e.exec("CREATE TYPE " + e.schema + ".mood AS ENUM ('ok', 'sad')")
	e.exec("CREATE TABLE " + e.table("v") + " (id bigint PRIMARY KEY, i int, ts timestamptz, s text, b bytea, mood " + e.schema + ".mood)")
	s := e.open(PostgresOptions{Tables: []string{e.table("v")}})
	e.tx("INSERT INTO " + e.table("v") + " VALUES (1, 2, '2026-01-02 03:04:05+00', 'x', '\\x00ff', 'sad')")
	row := next(t, s).Changes[0].New
	got := fmt.Sprintf("%T %v|%T %v|%T %v|%T %v|%T %v|%T %v", row["id"], row["id"], row["i"], row["i"], row["ts"], row["ts"].(time.Time).UTC(),
		row["s"], row["s"], row["b"], row["b"], row["mood"], row["mood"])
	w := "int64 1|int32 2|time.Time 2026-01-02 03:04:05 +0000 UTC|string x|[]uint8 [0 255]|string sad"
	if got != w {
		t.Fatalf("types\n got: %q\nwant: %q", got, w)
	}
}

// The server ends the walsender: Next fails, and a source reopened on the
// slot gets the transaction committed meanwhile.
func TestPostgresConnectionDropped(t *testing.T) {
	e := newPGEnv(t)
	e.exec("CREATE TABLE " + e.table("t") + " (id bigint PRIMARY KEY)")
	opts := PostgresOptions{Tables: []string{e.table("t")}}
	s := e.open(opts)
	e.tx("INSERT INTO " + e.table("t") + " VALUES (1)")
	a := next(t, s)
	if err := s.Ack(context.Background(), a.Position); err != nil {
		t.Fatal(err)
	}
	e.exec("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1", e.name)
	e.tx("INSERT INTO "+e.table("t")+" VALUES (2)", "INSERT INTO "+e.table("t")+" VALUES (3)")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if b, err := s.Next(ctx); err == nil || errors.Is(err, ErrPositionLost) || ctx.Err() != nil {
		t.Fatalf("Next after the walsender ended: batch=%v err=%v, want a connection error", b, err)
	}
	s.Close()
	// the ended walsender may hold the slot a moment longer
	opts.From, opts.DSN, opts.Publication, opts.Slot = a.Position, e.dsn, e.name, e.name
	var err error
	for deadline := time.Now().Add(20 * time.Second); ; {
		if s, err = OpenPostgres(ctx, opts); err == nil || !strings.Contains(err.Error(), "is active") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	want(t, next(t, s), "insert t new=map[id:2]; insert t new=map[id:3]")
}

// TestPostgresOpenWaitsForAHeldSlot: a consumer restarted at once finds its
// slot still held by the old reader's walsender; opening waits for it
// (SlotBusyWait) instead of failing.
func TestPostgresOpenWaitsForAHeldSlot(t *testing.T) {
	e := newPGEnv(t)
	e.exec("CREATE TABLE " + e.table("t") + " (id bigint PRIMARY KEY, v text)")
	opts := PostgresOptions{Tables: []string{e.table("t")}}
	first := e.open(opts)

	busy := make(chan struct{}, 1)
	slotBusy = func() {
		select {
		case busy <- struct{}{}:
		default:
		}
	}
	t.Cleanup(func() { slotBusy = nil })
	opened := make(chan error, 1)
	go func() {
		o := opts
		o.DSN = e.dsn
		o.Publication, o.Slot = e.name, e.name
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := OpenPostgres(ctx, o)
		if err == nil {
			s.Close()
		}
		opened <- err
	}()
	select {
	case err := <-opened:
		t.Fatalf("opened while the first reader held the slot: %v", err)
	case <-busy:
	}
	first.Close()
	if err := <-opened; err != nil {
		t.Fatalf("after the first reader let go: %v", err)
	}
}
