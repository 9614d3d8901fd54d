package cdc

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/testenv"
	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	_ "github.com/go-sql-driver/mysql"
)

// myEnv is a database of one test's own on the binlog server, dropped when
// the test ends.
type myEnv struct {
	t   *testing.T
	dsn string
	db  *sql.DB
	sch string
}

func newMyEnv(t *testing.T) *myEnv {
	t.Helper()
	dsn := testenvMySQLCDC(t)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	_, _ = rand.Read(buf)
	e := &myEnv{t: t, dsn: dsn, db: db, sch: "cg_cdc_" + hex.EncodeToString(buf)}
	e.tx("CREATE DATABASE " + e.sch)
	t.Cleanup(func() {
		_, _ = db.Exec("DROP DATABASE " + e.sch)
		db.Close()
	})
	return e
}

func (e *myEnv) table(t string) string { return e.sch + "." + t }

// tx runs statements in one transaction (a DDL statement commits alone, as
// MariaDB does).
func (e *myEnv) tx(stmts ...string) {
	e.t.Helper()
	tx, err := e.db.Begin()
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := tx.Exec(s); err != nil {
			e.t.Fatalf("%s: %v", s, err)
		}
	}
	if err := tx.Commit(); err != nil {
		e.t.Fatal(err)
	}
}

func (e *myEnv) open(opts MySQLOptions) *MySQL {
	e.t.Helper()
	opts.DSN = e.dsn
	opts.Schemas = []string{e.sch}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := OpenMySQL(ctx, opts)
	if err != nil {
		e.t.Fatalf("OpenMySQL: %v", err)
	}
	e.t.Cleanup(func() { s.Close() })
	return s
}

// nextRows reads batches until one with changes (other tests' transactions
// and DDL arrive as empty batches).
func nextRows(t *testing.T, s Source) *Batch {
	t.Helper()
	for {
		b := next(t, s)
		if len(b.Changes) > 0 || b.Collapsed {
			return b
		}
	}
}

func TestMySQLChanges(t *testing.T) {
	e := newMyEnv(t)
	e.tx("CREATE TABLE " + e.table("users") + " (id BIGINT PRIMARY KEY, email VARCHAR(100) NOT NULL UNIQUE, name VARCHAR(100))")
	s := e.open(MySQLOptions{})

	e.tx("INSERT INTO "+e.table("users")+" VALUES (1, 'a@x', 'Ann')",
		"INSERT INTO "+e.table("users")+" VALUES (2, 'b@x', NULL)")
	b := nextRows(t, s)
	want(t, b, "insert users new=map[email:a@x id:1 name:Ann]; insert users new=map[email:b@x id:2 name:<nil>]")
	if !regexp.MustCompile(`^0-3307-[0-9]+$`).MatchString(string(b.Position)) {
		t.Fatalf("position %q is not a MariaDB GTID position", b.Position)
	}
	if b.Commit.IsZero() || fmt.Sprint(b.Tables) != "["+e.table("users")+"]" {
		t.Fatalf("commit=%v tables=%v", b.Commit, b.Tables)
	}

	// a unique column changes: the full before and after images
	e.tx("UPDATE " + e.table("users") + " SET email = 'a2@x' WHERE id = 1")
	want(t, nextRows(t, s), "update users old=map[email:a@x id:1 name:Ann] new=map[email:a2@x id:1 name:Ann]")

	e.tx("DELETE FROM " + e.table("users") + " WHERE id = 2")
	want(t, nextRows(t, s), "delete users old=map[email:b@x id:2 name:<nil>]")

	// a savepoint is logged inside its transaction, which stays one batch
	e.tx("INSERT INTO "+e.table("users")+" VALUES (3, 'c@x', 'Cy')",
		"SAVEPOINT sp",
		"INSERT INTO "+e.table("users")+" VALUES (4, 'd@x', 'Di')",
		"RELEASE SAVEPOINT sp",
		"INSERT INTO "+e.table("users")+" VALUES (5, 'e@x', 'Ed')")
	want(t, nextRows(t, s), "insert users new=map[email:c@x id:3 name:Cy]; insert users new=map[email:d@x id:4 name:Di]; insert users new=map[email:e@x id:5 name:Ed]")

	// CREATE TABLE … SELECT: a DDL group that carries rows
	e.tx("CREATE TABLE " + e.table("copy") + " SELECT id, email FROM " + e.table("users") + " WHERE id < 4")
	want(t, nextRows(t, s), "insert copy new=map[email:a2@x id:1]; insert copy new=map[email:c@x id:3]")

	e.tx("TRUNCATE TABLE " + e.table("users"))
	want(t, nextRows(t, s), "truncate users")
}

// Columns added and dropped mid-stream: every table map names the columns
// as they are now.
func TestMySQLDDLMidStream(t *testing.T) {
	e := newMyEnv(t)
	e.tx("CREATE TABLE " + e.table("users") + " (id BIGINT PRIMARY KEY, email VARCHAR(100) UNIQUE, age INT)")
	s := e.open(MySQLOptions{})
	e.tx("INSERT INTO " + e.table("users") + " VALUES (1, 'a@x', 30)")
	want(t, nextRows(t, s), "insert users new=map[age:30 email:a@x id:1]")
	e.tx("ALTER TABLE " + e.table("users") + " ADD COLUMN nick VARCHAR(20)")
	e.tx("ALTER TABLE " + e.table("users") + " DROP COLUMN age")
	e.tx("INSERT INTO "+e.table("users")+" (id, email, nick) VALUES (2, 'b@x', 'bee')",
		"UPDATE "+e.table("users")+" SET nick = 'ay' WHERE id = 1")
	want(t, nextRows(t, s), "insert users new=map[email:b@x id:2 nick:bee]; update users old=map[email:a@x id:1 nick:<nil>] new=map[email:a@x id:1 nick:ay]")
}

// A consumer reopened from its last acknowledged position sees every
// transaction after it again, and none before.
func TestMySQLResume(t *testing.T) {
	e := newMyEnv(t)
	e.tx("CREATE TABLE " + e.table("t") + " (id BIGINT PRIMARY KEY, v VARCHAR(10))")
	s := e.open(MySQLOptions{})
	e.tx("INSERT INTO " + e.table("t") + " VALUES (1, 'a')")
	e.tx("INSERT INTO " + e.table("t") + " VALUES (2, 'b')")
	a := nextRows(t, s)
	want(t, a, "insert t new=map[id:1 v:a]")
	if err := s.Ack(context.Background(), a.Position); err != nil {
		t.Fatal(err)
	}
	b := nextRows(t, s)
	want(t, b, "insert t new=map[id:2 v:b]")
	s.Close() // dies before acknowledging b

	e.tx("INSERT INTO " + e.table("t") + " VALUES (3, 'c')")
	s = e.open(MySQLOptions{From: a.Position})
	b2 := nextRows(t, s)
	want(t, b2, "insert t new=map[id:2 v:b]")
	if b2.Position != b.Position {
		t.Fatalf("redelivered at %s, first delivered at %s", b2.Position, b.Position)
	}
	c := nextRows(t, s)
	want(t, c, "insert t new=map[id:3 v:c]")
	s.Close()

	e.tx("INSERT INTO " + e.table("t") + " VALUES (4, 'd')")
	s = e.open(MySQLOptions{From: c.Position})
	want(t, nextRows(t, s), "insert t new=map[id:4 v:d]")
}

// A position the server's binlog does not hold (purged, or from another
// server) is reported as lost, not skipped over.
func TestMySQLPositionLost(t *testing.T) {
	e := newMyEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := e.open(MySQLOptions{From: "0-3307-999999999"})
	if _, err := s.Next(ctx); !errors.Is(err, ErrPositionLost) {
		t.Fatalf("a position ahead of the binlog: got %v, want ErrPositionLost", err)
	}

	// purged: the binlog that held the transactions after the position is
	// gone (the test server's own binlogs; nothing else reads them)
	e.tx("CREATE TABLE " + e.table("t") + " (id BIGINT PRIMARY KEY)")
	s = e.open(MySQLOptions{})
	e.tx("INSERT INTO " + e.table("t") + " VALUES (1)")
	a := nextRows(t, s)
	s.Close()
	e.tx("INSERT INTO " + e.table("t") + " VALUES (2)")
	var file string
	var skip any
	for _, stmt := range []string{"FLUSH BINARY LOGS", "INSERT INTO " + e.table("t") + " VALUES (3)", "FLUSH BINARY LOGS"} {
		e.tx(stmt)
	}
	if err := e.db.QueryRow("SHOW MASTER STATUS").Scan(&file, &skip, &skip, &skip); err != nil {
		t.Fatal(err)
	}
	// PURGE leaves a binlog a dump thread still reads (the closed source's
	// may not have ended yet): repeat it until only the current one is left.
	for deadline := time.Now().Add(20 * time.Second); ; {
		e.tx("PURGE BINARY LOGS TO '" + file + "'")
		var first string
		if err := e.db.QueryRow("SHOW BINARY LOGS").Scan(&first, &skip); err != nil {
			t.Fatal(err)
		}
		if first == file {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("binlogs before %s still there (first: %s)", file, first)
		}
		time.Sleep(100 * time.Millisecond)
	}
	s = e.open(MySQLOptions{From: a.Position})
	if b, err := s.Next(ctx); !errors.Is(err, ErrPositionLost) {
		t.Fatalf("a position in a purged binlog (from %s): got %v (%+v), want ErrPositionLost", a.Position, err, b)
	}
}

func TestMySQLLargeTransactionCollapses(t *testing.T) {
	e := newMyEnv(t)
	e.tx("CREATE TABLE " + e.table("a") + " (id BIGINT PRIMARY KEY)")
	e.tx("CREATE TABLE " + e.table("b") + " (id BIGINT PRIMARY KEY)")
	s := e.open(MySQLOptions{MaxChanges: 5})
	e.tx("INSERT INTO "+e.table("a")+" SELECT seq FROM seq_1_to_1000",
		"INSERT INTO "+e.table("b")+" VALUES (1)")
	b := nextRows(t, s)
	if !b.Collapsed || b.Changes != nil || fmt.Sprint(b.Tables) != fmt.Sprintf("[%s %s]", e.table("a"), e.table("b")) {
		t.Fatalf("collapsed=%v changes=%d tables=%v", b.Collapsed, len(b.Changes), b.Tables)
	}
	e.tx("INSERT INTO " + e.table("a") + " VALUES (2000)")
	want(t, nextRows(t, s), "insert a new=map[id:2000]")
}

func TestMySQLSettingsError(t *testing.T) {
	good := map[string]string{"version": "10.11.19-MariaDB", "log_bin": "ON", "binlog_format": "ROW", "binlog_row_image": "FULL", "binlog_row_metadata": "FULL"}
	if err := mysqlSettingsError(good); err != nil {
		t.Fatal(err)
	}
	for name, bad := range map[string]string{"log_bin": "OFF", "binlog_format": "MIXED", "binlog_row_image": "MINIMAL", "binlog_row_metadata": "NO_LOG"} {
		vars := map[string]string{}
		for k, v := range good {
			vars[k] = v
		}
		vars[name] = bad
		err := mysqlSettingsError(vars)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), name+" is "+bad) {
			t.Errorf("%s=%s: got %v", name, bad, err)
		}
	}
	mysql8 := map[string]string{"version": "8.0.36", "log_bin": "ON", "binlog_format": "ROW", "binlog_row_image": "FULL", "binlog_row_metadata": "FULL", "gtid_mode": "OFF"}
	if err := mysqlSettingsError(mysql8); err == nil || !strings.Contains(err.Error(), "gtid_mode is OFF") {
		t.Errorf("MySQL without GTIDs: got %v", err)
	}
}

// The machine's shared MariaDB runs with log_bin off: opening a source on it
// fails with the settings to change.
func TestMySQLOpenRefusesServerWithoutBinlog(t *testing.T) {
	dsn := testenv.MySQLDSN(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := OpenMySQL(ctx, MySQLOptions{DSN: dsn})
	if err == nil {
		s.Close()
		var logBin string
		db, _ := sql.Open("mysql", dsn)
		defer db.Close()
		_ = db.QueryRow("SELECT IF(@@log_bin, 'ON', 'OFF')").Scan(&logBin)
		if logBin == "ON" {
			t.Skipf("%s has log_bin on; this test needs a server without a binlog", testenv.MySQLVar)
		}
		t.Fatal("OpenMySQL on a server without a binlog: no error")
	}
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "log_bin is OFF") {
		t.Fatalf("got %v, want ErrConfig naming log_bin", err)
	}
}

// On MySQL a query event ends a DDL's group, but a savepoint is logged
// inside its transaction: the group ends at its XID, not at the savepoint.
func TestMySQLFlavorSavepointStaysInTransaction(t *testing.T) {
	gset, err := gomysql.ParseGTIDSet(gomysql.MySQLFlavor, "")
	if err != nil {
		t.Fatal(err)
	}
	s := &MySQL{flavor: gomysql.MySQLFlavor, gset: gset, tx: newTxn(0)}
	sid := []byte("0123456789abcdef")
	events := []replication.Event{
		&replication.GTIDEvent{SID: sid, GNO: 7},
		&replication.QueryEvent{Query: []byte("BEGIN")},
		&replication.QueryEvent{Query: []byte("SAVEPOINT `sp`")},
		&replication.XIDEvent{},
	}
	for i, ev := range events {
		b, err := s.handle(&replication.BinlogEvent{Header: &replication.EventHeader{Timestamp: 1}, Event: ev})
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if last := i == len(events)-1; (b != nil) != last {
			t.Fatalf("event %d (%T): batch=%v, want one at the XID only", i, ev, b != nil)
		}
		if b != nil && b.Position != "30313233-3435-3637-3839-616263646566:7" {
			t.Fatalf("position %q", b.Position)
		}
	}
	// a DDL's group: GTID then the statement, no XID
	s.handle(&replication.BinlogEvent{Header: &replication.EventHeader{}, Event: &replication.GTIDEvent{SID: sid, GNO: 8}})
	b, err := s.handle(&replication.BinlogEvent{Header: &replication.EventHeader{}, Event: &replication.QueryEvent{Schema: []byte("shop"), Query: []byte("TRUNCATE TABLE `items`")}})
	if err != nil || b == nil || show(b.Changes) != "truncate items" || b.Tables[0] != "shop.items" || b.Position != "30313233-3435-3637-3839-616263646566:7-8" {
		t.Fatalf("DDL group: batch=%+v err=%v", b, err)
	}
}

// The Go types values arrive as, which the package doc promises.
func TestMySQLValueTypes(t *testing.T) {
	e := newMyEnv(t)
	e.tx("CREATE TABLE " + e.table("v") + " (id BIGINT PRIMARY KEY, u INT UNSIGNED, d DECIMAL(10,2), dt DATETIME, ts TIMESTAMP NULL, s VARCHAR(10), b VARBINARY(10), bl BLOB, tx TEXT)")
	s := e.open(MySQLOptions{})
	e.tx("SET time_zone = '+02:00'",
		"INSERT INTO "+e.table("v")+" VALUES (1, 4000000000, 12.50, '2026-01-02 03:04:05', '2026-01-02 03:04:05', 'x', 0x00ff, 0x01, 'long')")
	b := nextRows(t, s)
	row := b.Changes[0].New
	got := fmt.Sprintf("%T %v|%T %v|%T %v|%T %v|%T %v|%T %v|%T %v|%T %v|%T %s", row["id"], row["id"], row["u"], row["u"], row["d"], row["d"],
		row["dt"], row["dt"], row["ts"], row["ts"], row["s"], row["s"], row["b"], row["b"], row["bl"], row["bl"], row["tx"], row["tx"])
	w := "int64 1|uint32 4000000000|string 12.50|string 2026-01-02 03:04:05|string 2026-01-02 01:04:05|string x|string \x00\xff|[]uint8 [1]|[]uint8 long"
	if got != w {
		t.Fatalf("types\n got: %q\nwant: %q", got, w)
	}
}

// The server drops the stream's connection: Next fails (go-mysql's own
// reconnect is off), and a source reopened from the last acknowledged
// position gets the transaction committed meanwhile.
func TestMySQLConnectionDropped(t *testing.T) {
	e := newMyEnv(t)
	e.tx("CREATE TABLE " + e.table("t") + " (id BIGINT PRIMARY KEY)")
	s := e.open(MySQLOptions{})
	e.tx("INSERT INTO " + e.table("t") + " VALUES (1)")
	a := nextRows(t, s)
	if err := s.Ack(context.Background(), a.Position); err != nil {
		t.Fatal(err)
	}
	if _, err := e.db.Exec(fmt.Sprintf("KILL %d", s.syncer.LastConnectionID())); err != nil {
		t.Fatal(err)
	}
	e.tx("INSERT INTO "+e.table("t")+" VALUES (2)", "INSERT INTO "+e.table("t")+" VALUES (3)")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		b, err := s.Next(ctx)
		if err != nil {
			if errors.Is(err, ErrPositionLost) || ctx.Err() != nil {
				t.Fatalf("Next after the kill: %v, want a connection error", err)
			}
			break
		}
		if len(b.Changes) > 0 { // the kill raced the commit: fine, but then it must be whole
			want(t, b, "insert t new=map[id:2]; insert t new=map[id:3]")
		}
	}
	s.Close()
	s = e.open(MySQLOptions{From: a.Position})
	want(t, nextRows(t, s), "insert t new=map[id:2]; insert t new=map[id:3]")
}
