package cdc

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/go-sql-driver/mysql"
)

// MySQLOptions configure a MariaDB/MySQL binlog source.
type MySQLOptions struct {
	// DSN is in github.com/go-sql-driver/mysql's form,
	// user:pass@tcp(host:port)/db. The user needs REPLICATION SLAVE, to
	// read the binlog.
	DSN string
	// ServerID is the id the source registers with as a replica; it must
	// differ from every server's and replica's. Zero picks a random one in
	// [2^30, 2^31).
	ServerID uint32
	// Schemas, when set, keeps the changes of these databases only; a
	// transaction that changed none of their rows still arrives, empty, so
	// its position can be acknowledged.
	Schemas []string
	// From is the position to resume after, as a Batch gave it; empty
	// starts now (MariaDB: @@gtid_binlog_pos, the last transaction written
	// to this server's binlog, not @@gtid_current_pos, which on a promoted
	// replica can name a transaction its binlog never held).
	From Position
	// MaxChanges bounds the changes held for one transaction (default
	// DefaultMaxChanges); a larger one is collapsed to its tables.
	MaxChanges int
	// Logger receives go-mysql's own log lines; nil discards them.
	Logger *slog.Logger
}

// MySQL reads a MariaDB (or MySQL) server's row binlog as a replica does,
// by GTID. It needs binlog_format=ROW, binlog_row_image=FULL (both images of
// every column) and binlog_row_metadata=FULL (the column names in every
// table map, so a change after an ALTER TABLE is named by the table's new
// columns without a catalog read that could race the DDL).
type MySQL struct {
	opts    MySQLOptions
	flavor  string
	syncer  *replication.BinlogSyncer
	stream  *replication.BinlogStreamer
	gset    gomysql.GTIDSet // position after the last transaction returned
	schemas map[string]bool
	tx      *txn
	gtid    string // the open transaction's GTID
	alone   bool   // MariaDB: the open group has no COMMIT/XID (a DDL)
	at      time.Time
}

var _ Source = (*MySQL)(nil)

// OpenMySQL checks the server's binlog settings and starts reading after
// opts.From. A position the server's binlogs no longer hold makes Next fail
// with ErrPositionLost.
func OpenMySQL(ctx context.Context, opts MySQLOptions) (*MySQL, error) {
	cfg, err := mysql.ParseDSN(opts.DSN)
	if err != nil {
		return nil, fmt.Errorf("cdc: mysql DSN: %w", err)
	}
	db, err := sql.Open("mysql", opts.DSN)
	if err != nil {
		return nil, fmt.Errorf("cdc: mysql: %w", err)
	}
	defer db.Close()
	vars, err := mysqlVariables(ctx, db)
	if err != nil {
		return nil, err
	}
	if err := mysqlSettingsError(vars); err != nil {
		return nil, err
	}
	flavor := gomysql.MySQLFlavor
	if strings.Contains(strings.ToLower(vars["version"]), "mariadb") {
		flavor = gomysql.MariaDBFlavor
	}
	from := string(opts.From)
	if from == "" {
		from = vars["gtid_binlog_pos"]
		if flavor == gomysql.MySQLFlavor {
			from = vars["gtid_executed"]
		}
	}
	gset, err := gomysql.ParseGTIDSet(flavor, from)
	if err != nil {
		return nil, fmt.Errorf("cdc: position %q is not a %s GTID position: %w", from, flavor, err)
	}
	host, portStr, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("cdc: mysql address %q: %w", cfg.Addr, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("cdc: mysql port %q: %w", portStr, err)
	}
	if opts.ServerID == 0 {
		opts.ServerID = 1<<30 + rand.Uint32N(1<<30)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &MySQL{opts: opts, flavor: flavor, gset: gset, tx: newTxn(opts.MaxChanges)}
	if len(opts.Schemas) > 0 {
		s.schemas = make(map[string]bool, len(opts.Schemas))
		for _, sc := range opts.Schemas {
			s.schemas[sc] = true
		}
	}
	s.syncer = replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: opts.ServerID,
		Flavor:   flavor,
		Host:     host,
		Port:     uint16(port),
		User:     cfg.User,
		Password: cfg.Passwd,
		// The library's own reconnect resumes from its idea of the last
		// GTID, which has skipped transactions cut mid-way before (go-mysql
		// #414, #438); a broken connection ends the stream instead, and the
		// consumer reopens from its last acknowledged position.
		DisableRetrySync: true,
		HeartbeatPeriod:  5 * time.Second,
		// TIMESTAMP values as strings in UTC, whatever this process's zone
		TimestampStringLocation: time.UTC,
		// Events read ahead of Next: a rows event holds at most
		// binlog_row_event_max_size (8 KiB by default) of rows, so 1,024 of
		// them bound the read-ahead near 8 MiB (the library's default,
		// 10,240, near 80 MiB).
		EventCacheCount: 1024,
		ReadTimeout:     30 * time.Second,
		Logger:          logger,
	})
	s.stream, err = s.syncer.StartSyncGTID(gset.Clone())
	if err != nil {
		s.syncer.Close()
		return nil, fmt.Errorf("cdc: start binlog sync from %q: %w", from, err)
	}
	return s, nil
}

func mysqlVariables(ctx context.Context, db *sql.DB) (map[string]string, error) {
	rows, err := db.QueryContext(ctx, `SHOW GLOBAL VARIABLES WHERE Variable_name IN
		('version', 'log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata', 'gtid_binlog_pos', 'gtid_mode', 'gtid_executed')`)
	if err != nil {
		return nil, fmt.Errorf("cdc: read the server's binlog settings: %w", err)
	}
	defer rows.Close()
	vars := make(map[string]string)
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("cdc: read the server's binlog settings: %w", err)
		}
		vars[strings.ToLower(k)] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cdc: read the server's binlog settings: %w", err)
	}
	return vars, nil
}

// mysqlSettingsError lists every binlog setting the source needs and the
// server lacks, each with the line to put in the server's configuration.
func mysqlSettingsError(vars map[string]string) error {
	var wrong []string
	check := func(name, want, fix string) {
		if got := vars[name]; !strings.EqualFold(got, want) {
			if got == "" {
				got = "unset"
			}
			wrong = append(wrong, fmt.Sprintf("%s is %s, need %s (%s)", name, got, want, fix))
		}
	}
	check("log_bin", "ON", "start the server with log_bin, server_id set")
	check("binlog_format", "ROW", "binlog_format = ROW")
	check("binlog_row_image", "FULL", "binlog_row_image = FULL, so old unique values are in every update")
	check("binlog_row_metadata", "FULL", "binlog_row_metadata = FULL, so every change names its columns")
	if !strings.Contains(strings.ToLower(vars["version"]), "mariadb") {
		check("gtid_mode", "ON", "gtid_mode = ON and enforce_gtid_consistency = ON")
	}
	if len(wrong) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrConfig, strings.Join(wrong, "; "))
}

// Next returns the next committed transaction: the rows changed between a
// GTID event and its XID (or COMMIT), or a DDL statement's group (a
// TRUNCATE becomes a Truncate change; other DDL arrives as an empty batch,
// as later rows are named by their table map).
func (s *MySQL) Next(ctx context.Context) (*Batch, error) {
	for {
		ev, err := s.stream.GetEvent(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			var me *gomysql.MyError
			if (errors.As(err, &me) && me.Code == gomysql.ER_MASTER_FATAL_ERROR_READING_BINLOG) || strings.Contains(err.Error(), "ERROR 1236") {
				return nil, fmt.Errorf("%w: the server cannot send the binlog from %s: %v", ErrPositionLost, s.gset, err)
			}
			return nil, fmt.Errorf("cdc: binlog: %w", err)
		}
		b, err := s.handle(ev)
		if err != nil || b != nil {
			return b, err
		}
	}
}

var savepointRE = regexp.MustCompile(`(?i)^(SAVEPOINT|ROLLBACK\s+(WORK\s+)?TO|RELEASE\s+SAVEPOINT)\b`)

var truncateRE = regexp.MustCompile("(?is)^\\s*TRUNCATE\\s+(?:TABLE\\s+)?`?([^`.\\s;]+)`?(?:\\.`?([^`\\s;]+)`?)?")

func (s *MySQL) handle(ev *replication.BinlogEvent) (*Batch, error) {
	switch e := ev.Event.(type) {
	case *replication.MariadbGTIDEvent:
		s.begin(ev, e.GTID.String())
		s.alone = e.IsStandalone()
	case *replication.GTIDEvent:
		next, err := e.GTIDNext()
		if err != nil {
			return nil, fmt.Errorf("cdc: GTID event: %w", err)
		}
		s.begin(ev, next.String())
		s.alone = false // MySQL ends a DDL's group with the statement itself
	case *replication.QueryEvent:
		q := strings.TrimSpace(string(e.Query))
		switch strings.ToUpper(q) {
		case "BEGIN", "":
			return nil, nil
		case "COMMIT": // a group of non-transactional tables ends so
			return s.commit()
		}
		if !s.tx.open || savepointRE.MatchString(q) {
			return nil, nil // a savepoint is logged inside its transaction
		}
		if m := truncateRE.FindStringSubmatch(q); m != nil {
			schema, table := string(e.Schema), m[1]
			if m[2] != "" {
				schema, table = m[1], m[2]
			}
			if s.keep(schema) {
				s.tx.add(Change{Table: schema + "." + table, Op: Truncate})
			}
		}
		if s.alone || s.flavor == gomysql.MySQLFlavor {
			return s.commit()
		}
	case *replication.RowsEvent:
		if !s.tx.open {
			return nil, fmt.Errorf("cdc: a row event outside a GTID group at %d", ev.Header.LogPos)
		}
		return nil, s.rows(e)
	case *replication.XIDEvent:
		return s.commit()
	}
	// Rotate, format description, GTID list, binlog checkpoint, heartbeat,
	// table map, annotate rows: nothing to deliver. The dummy events
	// MariaDB sends in place of skipped ones on a GTID connect are among
	// them.
	return nil, nil
}

func (s *MySQL) begin(ev *replication.BinlogEvent, gtid string) {
	s.tx.begin()
	s.gtid = gtid
	s.at = time.Unix(int64(ev.Header.Timestamp), 0)
}

func (s *MySQL) keep(schema string) bool { return s.schemas == nil || s.schemas[schema] }

func (s *MySQL) rows(e *replication.RowsEvent) error {
	schema := string(e.Table.Schema)
	if !s.keep(schema) {
		return nil
	}
	table := schema + "." + string(e.Table.Table)
	names := e.Table.ColumnNameString()
	if len(names) == 0 {
		return fmt.Errorf("%w: the table map of %s carries no column names: set binlog_row_metadata = FULL", ErrConfig, table)
	}
	row := func(vals []any) (map[string]any, error) {
		if len(vals) > len(names) {
			return nil, fmt.Errorf("cdc: %s: a row of %d columns, the table map names %d", table, len(vals), len(names))
		}
		m := make(map[string]any, len(vals))
		for i, v := range vals {
			if b, ok := v.([]byte); ok { // may alias the event's buffer
				v = append([]byte(nil), b...)
			}
			m[names[i]] = v
		}
		return m, nil
	}
	switch e.Type() {
	case replication.EnumRowsEventTypeInsert, replication.EnumRowsEventTypeDelete:
		op, insert := Delete, e.Type() == replication.EnumRowsEventTypeInsert
		if insert {
			op = Insert
		}
		for _, vals := range e.Rows {
			m, err := row(vals)
			if err != nil {
				return err
			}
			c := Change{Table: table, Op: op}
			if insert {
				c.New = m
			} else {
				c.Old = m
			}
			s.tx.add(c)
		}
	case replication.EnumRowsEventTypeUpdate:
		if len(e.Rows)%2 != 0 {
			return fmt.Errorf("cdc: %s: an update event with %d images, not before/after pairs", table, len(e.Rows))
		}
		for i := 0; i < len(e.Rows); i += 2 {
			old, err := row(e.Rows[i])
			if err != nil {
				return err
			}
			nw, err := row(e.Rows[i+1])
			if err != nil {
				return err
			}
			s.tx.add(Change{Table: table, Op: Update, Old: old, New: nw})
		}
	default:
		return fmt.Errorf("cdc: %s: rows event of unknown kind", table)
	}
	return nil
}

func (s *MySQL) commit() (*Batch, error) {
	if !s.tx.open {
		return nil, nil
	}
	if err := s.gset.Update(s.gtid); err != nil {
		return nil, fmt.Errorf("cdc: GTID %q: %w", s.gtid, err)
	}
	return s.tx.commit(Position(s.gset.String()), s.at), nil
}

// Ack records nothing on the server: a binlog reader holds no position
// there. The consumer stores pos and opens the next source From it.
func (s *MySQL) Ack(ctx context.Context, pos Position) error { return nil }

// Close ends the stream.
func (s *MySQL) Close() error {
	s.syncer.Close()
	return nil
}
