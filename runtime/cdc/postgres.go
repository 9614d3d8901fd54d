package cdc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/jackc/pgx/v5/pgtype"
)

// PostgresOptions configure a PostgreSQL source. The zero values of the
// names give "cachegen_cdc".
type PostgresOptions struct {
	// DSN is a postgres:// URL or key=value string; the source adds
	// replication=database. The user needs the REPLICATION attribute, and
	// to create the publication, ownership of the tables (or superuser for
	// every table).
	DSN string
	// Publication and Slot are created when absent.
	Publication string
	Slot        string
	// Tables ("schema.table", or "table" for public.table) are the tables
	// a new publication is made for; empty makes it FOR ALL TABLES. An
	// existing publication must already include them.
	Tables []string
	// FullIdentity lists the tables whose old values the consumer needs
	// (those with a unique or unique_together index, whose old keys must be
	// invalidated): each must have REPLICA IDENTITY FULL, checked when the
	// source opens and on every Relation message after.
	FullIdentity []string
	// From is the position to resume after, as a Batch gave it; empty
	// starts where the slot stands (a new slot: now). The slot is the
	// durable position: the source starts at the later of the two.
	From Position
	// MaxChanges bounds the changes held for one transaction (default
	// DefaultMaxChanges); a larger one is collapsed to its tables.
	MaxChanges int
	// StatusInterval is how often the source tells the server where it
	// stands while it waits (default 10s; keep it below the server's
	// wal_sender_timeout, 60s by default).
	StatusInterval time.Duration
	// SlotBusyWait bounds how long opening waits for a slot another reader
	// still holds (default 10s): a consumer restarted at once finds the
	// slot active until its old walsender has exited.
	SlotBusyWait time.Duration
}

// Postgres reads a PostgreSQL database's changes through a logical
// replication slot with the pgoutput plugin (protocol version 1: each
// transaction arrives once committed, in commit order).
type Postgres struct {
	conn       *pgconn.PgConn
	opts       PostgresOptions
	full       map[string]bool
	rels       map[uint32]*pglogrepl.RelationMessage
	types      *pgtype.Map
	tx         *txn
	commitAt   time.Time     // the open transaction's commit time
	acked      pglogrepl.LSN // confirmed to the server: applied by the consumer
	emitted    pglogrepl.LSN // end of the last transaction Next returned
	nextStatus time.Time     // when Next next tells the server where it stands

	// Ack may be called while Next runs in another goroutine: it leaves
	// the position here and wakes Next, then the connection's one user, to
	// send it. Outside Next, Ack sends it itself.
	ackMu  sync.Mutex
	inNext bool
	ackTo  pglogrepl.LSN      // the highest position Ack was given
	wake   context.CancelFunc // ends the receive Next waits in; nil outside one
}

var _ Source = (*Postgres)(nil)

// OpenPostgres checks the server's settings (wal_level=logical, REPLICA
// IDENTITY FULL on opts.FullIdentity), creates the publication and the slot
// when absent and starts streaming. A slot that is gone or invalidated while
// opts.From is set gives ErrPositionLost.
func OpenPostgres(ctx context.Context, opts PostgresOptions) (*Postgres, error) {
	if opts.Publication == "" {
		opts.Publication = "cachegen_cdc"
	}
	if opts.Slot == "" {
		opts.Slot = "cachegen_cdc"
	}
	if opts.StatusInterval <= 0 {
		opts.StatusInterval = 10 * time.Second
	}
	if opts.SlotBusyWait <= 0 {
		opts.SlotBusyWait = 10 * time.Second
	}
	cfg, err := pgconn.ParseConfig(opts.DSN)
	if err != nil {
		return nil, fmt.Errorf("cdc: postgres DSN: %w", err)
	}
	cfg.RuntimeParams["replication"] = "database"
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("cdc: connect for replication: %w", err)
	}
	s := &Postgres{
		conn:  conn,
		opts:  opts,
		full:  make(map[string]bool),
		rels:  make(map[uint32]*pglogrepl.RelationMessage),
		types: pgtype.NewMap(),
		tx:    newTxn(opts.MaxChanges),
	}
	if err := s.start(ctx); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return s, nil
}

func (s *Postgres) start(ctx context.Context) error {
	walLevel, err := s.value(ctx, "SHOW wal_level")
	if err != nil {
		return err
	}
	if err := postgresSettingsError(walLevel); err != nil {
		return err
	}
	for _, t := range s.opts.FullIdentity {
		schema, table := splitTable(t, "public")
		s.full[schema+"."+table] = true
		ident, err := s.value(ctx, fmt.Sprintf(
			"SELECT c.relreplident FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
			literal(schema), literal(table)))
		if err != nil {
			return err
		}
		if ident == "" {
			return fmt.Errorf("cdc: table %s.%s (FullIdentity) does not exist", schema, table)
		}
		if ident != "f" {
			return identityError(schema, table, ident)
		}
	}
	if err := s.publication(ctx); err != nil {
		return err
	}
	if err := s.slot(ctx); err != nil {
		return err
	}
	if s.opts.From != "" {
		from, err := pglogrepl.ParseLSN(string(s.opts.From))
		if err != nil {
			return fmt.Errorf("cdc: position %q is not a PostgreSQL LSN: %w", s.opts.From, err)
		}
		s.acked = max(s.acked, from)
	}
	s.emitted = s.acked
	for deadline := time.Now().Add(s.opts.SlotBusyWait); ; {
		err = pglogrepl.StartReplication(ctx, s.conn, quoteIdent(s.opts.Slot), s.acked, pglogrepl.StartReplicationOptions{
			PluginArgs: []string{"proto_version '1'", "publication_names " + literal(s.opts.Publication)},
		})
		if err == nil {
			return nil
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != pgObjectInUse || time.Now().After(deadline) {
			return fmt.Errorf("cdc: start replication on slot %s: %w", s.opts.Slot, err)
		}
		if slotBusy != nil {
			slotBusy()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cdc: slot %s is held by another reader: %w", s.opts.Slot, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// pgObjectInUse is the SQLSTATE of a slot another walsender holds.
const pgObjectInUse = "55006"

// slotBusy, when set (tests), is called each time opening finds the slot
// held and waits.
var slotBusy func()

// postgresSettingsError says what to change when the server cannot stream
// logical changes.
func postgresSettingsError(walLevel string) error {
	if walLevel != "logical" {
		return fmt.Errorf("%w: wal_level is %q, logical decoding needs wal_level = logical: run ALTER SYSTEM SET wal_level = logical and restart the server (it also needs max_replication_slots and max_wal_senders above 0)", ErrConfig, walLevel)
	}
	return nil
}

func identityError(schema, table, ident string) error {
	name := map[string]string{"d": "DEFAULT", "n": "NOTHING", "i": "USING INDEX"}[ident]
	return fmt.Errorf("%w: table %s.%s has REPLICA IDENTITY %s, so its old unique values are not in the change stream; run: ALTER TABLE %s REPLICA IDENTITY FULL",
		ErrConfig, schema, table, name, pgx.Identifier{schema, table}.Sanitize())
}

func (s *Postgres) publication(ctx context.Context) error {
	pub := s.opts.Publication
	exists, err := s.value(ctx, "SELECT 1 FROM pg_publication WHERE pubname = "+literal(pub))
	if err != nil {
		return err
	}
	if exists == "" {
		stmt := "CREATE PUBLICATION " + quoteIdent(pub) + " FOR ALL TABLES"
		if len(s.opts.Tables) > 0 {
			names := make([]string, len(s.opts.Tables))
			for i, t := range s.opts.Tables {
				schema, table := splitTable(t, "public")
				names[i] = pgx.Identifier{schema, table}.Sanitize()
			}
			stmt = "CREATE PUBLICATION " + quoteIdent(pub) + " FOR TABLE " + strings.Join(names, ", ")
		}
		if _, err := s.conn.Exec(ctx, stmt).ReadAll(); err != nil {
			return fmt.Errorf("cdc: %s: %w", stmt, err)
		}
		return nil
	}
	for _, t := range s.opts.Tables {
		schema, table := splitTable(t, "public")
		in, err := s.value(ctx, fmt.Sprintf("SELECT 1 FROM pg_publication_tables WHERE pubname = %s AND schemaname = %s AND tablename = %s",
			literal(pub), literal(schema), literal(table)))
		if err != nil {
			return err
		}
		if in == "" {
			return fmt.Errorf("%w: publication %s exists without table %s.%s; run: ALTER PUBLICATION %s ADD TABLE %s",
				ErrConfig, pub, schema, table, quoteIdent(pub), pgx.Identifier{schema, table}.Sanitize())
		}
	}
	return nil
}

func (s *Postgres) slot(ctx context.Context) error {
	slot := s.opts.Slot
	res, err := s.conn.Exec(ctx, "SELECT plugin, coalesce(wal_status, ''), coalesce(confirmed_flush_lsn::text, '') FROM pg_replication_slots WHERE slot_name = "+literal(slot)).ReadAll()
	if err != nil {
		return fmt.Errorf("cdc: read slot %s: %w", slot, err)
	}
	if len(res) == 1 && len(res[0].Rows) == 1 {
		row := res[0].Rows[0]
		plugin, status, flushed := string(row[0]), string(row[1]), string(row[2])
		if plugin != "pgoutput" {
			return fmt.Errorf("%w: slot %s uses plugin %q, not pgoutput; name another slot or drop it", ErrConfig, slot, plugin)
		}
		if status != "lost" {
			if flushed != "" {
				if s.acked, err = pglogrepl.ParseLSN(flushed); err != nil {
					return fmt.Errorf("cdc: slot %s confirmed_flush_lsn %q: %w", slot, flushed, err)
				}
			}
			return nil
		}
		if s.opts.From != "" {
			return fmt.Errorf("%w: slot %s was invalidated (wal_status lost: the server removed WAL it still needed, see max_slot_wal_keep_size)", ErrPositionLost, slot)
		}
		if err := pglogrepl.DropReplicationSlot(ctx, s.conn, quoteIdent(slot), pglogrepl.DropReplicationSlotOptions{}); err != nil {
			return fmt.Errorf("cdc: drop invalidated slot %s: %w", slot, err)
		}
	} else if s.opts.From != "" {
		return fmt.Errorf("%w: slot %s does not exist (dropped?), so changes after %s are unknown", ErrPositionLost, slot, s.opts.From)
	}
	created, err := pglogrepl.CreateReplicationSlot(ctx, s.conn, quoteIdent(slot), "pgoutput",
		pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "NOEXPORT_SNAPSHOT"})
	if err != nil {
		return fmt.Errorf("cdc: create slot %s: %w", slot, err)
	}
	if s.acked, err = pglogrepl.ParseLSN(created.ConsistentPoint); err != nil {
		return fmt.Errorf("cdc: slot %s consistent point %q: %w", slot, created.ConsistentPoint, err)
	}
	return nil
}

// value runs a query on the replication connection (simple protocol) and
// returns the first column of its first row, "" when there is none.
func (s *Postgres) value(ctx context.Context, sql string) (string, error) {
	res, err := s.conn.Exec(ctx, sql).ReadAll()
	if err != nil {
		return "", fmt.Errorf("cdc: %s: %w", sql, err)
	}
	if len(res) == 0 || len(res[0].Rows) == 0 {
		return "", nil
	}
	return string(res[0].Rows[0][0]), nil
}

// Next returns the next committed transaction. While it waits it sends the
// server the acknowledged position every StatusInterval, and answers the
// server's keepalives.
func (s *Postgres) Next(ctx context.Context) (*Batch, error) {
	s.ackMu.Lock()
	s.inNext = true
	s.ackMu.Unlock()
	defer func() {
		s.ackMu.Lock()
		s.inNext = false
		s.ackMu.Unlock()
	}()
	for {
		s.ackMu.Lock()
		if s.ackTo > s.acked {
			s.acked = s.ackTo
			s.nextStatus = time.Time{} // tell the server now
		}
		s.ackMu.Unlock()
		if !time.Now().Before(s.nextStatus) {
			if err := s.sendStatus(); err != nil {
				return nil, err
			}
		}
		rctx, cancel := context.WithDeadline(ctx, s.nextStatus)
		s.ackMu.Lock()
		s.wake = cancel
		s.ackMu.Unlock()
		raw, err := s.conn.ReceiveMessage(rctx)
		s.ackMu.Lock()
		s.wake = nil
		s.ackMu.Unlock()
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// The status deadline, or an Ack's wake-up: the connection
			// stays usable (pgconn closes it on any other error).
			if pgconn.Timeout(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				continue
			}
			return nil, fmt.Errorf("cdc: receive: %w", err)
		}
		switch msg := raw.(type) {
		case *pgproto3.ErrorResponse:
			err := pgconn.ErrorResponseToPgError(msg)
			if strings.Contains(msg.Message, "can no longer get changes") || strings.Contains(msg.Message, "has been invalidated") {
				return nil, fmt.Errorf("%w: %v", ErrPositionLost, err)
			}
			return nil, fmt.Errorf("cdc: replication: %w", err)
		case *pgproto3.CopyData:
			if len(msg.Data) == 0 {
				continue
			}
			switch msg.Data[0] {
			case pglogrepl.PrimaryKeepaliveMessageByteID:
				ka, err := pglogrepl.ParsePrimaryKeepaliveMessage(msg.Data[1:])
				if err != nil {
					return nil, fmt.Errorf("cdc: keepalive: %w", err)
				}
				// Every transaction that committed before the keepalive's
				// position has been sent; when none is open and every one
				// sent is applied, the slot may move there, so an idle
				// database does not make the server keep its WAL forever.
				if !s.tx.open && s.acked >= s.emitted && ka.ServerWALEnd > s.acked {
					s.acked = ka.ServerWALEnd
					s.emitted = s.acked
				}
				if ka.ReplyRequested {
					s.nextStatus = time.Time{}
				}
			case pglogrepl.XLogDataByteID:
				xld, err := pglogrepl.ParseXLogData(msg.Data[1:])
				if err != nil {
					return nil, fmt.Errorf("cdc: xlog data: %w", err)
				}
				b, err := s.handle(xld.WALData)
				if err != nil || b != nil {
					return b, err
				}
			}
		}
	}
}

func (s *Postgres) handle(data []byte) (*Batch, error) {
	msg, err := pglogrepl.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("cdc: pgoutput message: %w", err)
	}
	switch m := msg.(type) {
	case *pglogrepl.RelationMessage:
		// Sent before a table's first change in this stream and again after
		// its shape changed (DDL): the newest one describes what follows.
		s.rels[m.RelationID] = m
		name := m.Namespace + "." + m.RelationName
		if s.full[name] && m.ReplicaIdentity != 'f' {
			return nil, identityError(m.Namespace, m.RelationName, string(rune(m.ReplicaIdentity)))
		}
	case *pglogrepl.BeginMessage:
		s.tx.begin()
		s.commitAt = m.CommitTime
	case *pglogrepl.InsertMessage:
		rel, err := s.rel(m.RelationID)
		if err != nil {
			return nil, err
		}
		c := Change{Table: rel.Namespace + "." + rel.RelationName, Op: Insert}
		c.New, c.Unknown, err = s.tuple(rel, m.Tuple, nil, false)
		if err != nil {
			return nil, err
		}
		s.tx.add(c)
	case *pglogrepl.UpdateMessage:
		rel, err := s.rel(m.RelationID)
		if err != nil {
			return nil, err
		}
		c := Change{Table: rel.Namespace + "." + rel.RelationName, Op: Update, Partial: m.OldTupleType != 'O'}
		if m.OldTuple != nil {
			var unknown []string
			if c.Old, unknown, err = s.tuple(rel, m.OldTuple, nil, m.OldTupleType == 'K'); err != nil {
				return nil, err
			}
			c.Partial = c.Partial || len(unknown) > 0
		}
		var old map[string]any
		if !c.Partial {
			old = c.Old
		}
		if c.New, c.Unknown, err = s.tuple(rel, m.NewTuple, old, false); err != nil {
			return nil, err
		}
		s.tx.add(c)
	case *pglogrepl.DeleteMessage:
		rel, err := s.rel(m.RelationID)
		if err != nil {
			return nil, err
		}
		c := Change{Table: rel.Namespace + "." + rel.RelationName, Op: Delete, Partial: m.OldTupleType != 'O'}
		var unknown []string
		if c.Old, unknown, err = s.tuple(rel, m.OldTuple, nil, m.OldTupleType == 'K'); err != nil {
			return nil, err
		}
		c.Partial = c.Partial || len(unknown) > 0
		s.tx.add(c)
	case *pglogrepl.TruncateMessage:
		for _, id := range m.RelationIDs {
			rel, err := s.rel(id)
			if err != nil {
				return nil, err
			}
			s.tx.add(Change{Table: rel.Namespace + "." + rel.RelationName, Op: Truncate})
		}
	case *pglogrepl.CommitMessage:
		if !s.tx.open {
			return nil, fmt.Errorf("cdc: commit at %s without a begin", m.CommitLSN)
		}
		s.emitted = m.TransactionEndLSN
		return s.tx.commit(Position(m.TransactionEndLSN.String()), s.commitAt), nil
	}
	return nil, nil
}

func (s *Postgres) rel(id uint32) (*pglogrepl.RelationMessage, error) {
	rel, ok := s.rels[id]
	if !ok {
		return nil, fmt.Errorf("cdc: change for relation %d before its Relation message", id)
	}
	return rel, nil
}

// tuple decodes a tuple by the relation's column names and types. An
// unchanged TOAST column ('u') takes its value from old when old has it;
// otherwise it is left out and named in unknown. A key tuple ('K') carries
// the replica identity's columns and a NULL for every other: keyOnly keeps
// the key columns alone, so no NULL is taken for an old value.
func (s *Postgres) tuple(rel *pglogrepl.RelationMessage, tup *pglogrepl.TupleData, old map[string]any, keyOnly bool) (row map[string]any, unknown []string, err error) {
	if tup == nil {
		return nil, nil, nil
	}
	if len(tup.Columns) > len(rel.Columns) {
		return nil, nil, fmt.Errorf("cdc: %s.%s: a tuple of %d columns, the relation has %d", rel.Namespace, rel.RelationName, len(tup.Columns), len(rel.Columns))
	}
	row = make(map[string]any, len(tup.Columns))
	for i, col := range tup.Columns {
		rc := rel.Columns[i]
		if keyOnly && rc.Flags&1 == 0 {
			continue
		}
		switch col.DataType {
		case 'n':
			row[rc.Name] = nil
		case 'u':
			if v, ok := old[rc.Name]; ok {
				row[rc.Name] = v
			} else {
				unknown = append(unknown, rc.Name)
			}
		case 't':
			v, err := s.decode(rc.DataType, col.Data)
			if err != nil {
				return nil, nil, fmt.Errorf("cdc: %s.%s column %s: %w", rel.Namespace, rel.RelationName, rc.Name, err)
			}
			row[rc.Name] = v
		default:
			return nil, nil, fmt.Errorf("cdc: %s.%s column %s: tuple data kind %q", rel.Namespace, rel.RelationName, rc.Name, col.DataType)
		}
	}
	return row, unknown, nil
}

// decode turns a text value into the Go value pgx gives for its type (an
// int64 for int8, a string for text, a time.Time for timestamptz…); a type
// pgx does not know (an enum, a domain of one) stays text.
func (s *Postgres) decode(oid uint32, data []byte) (any, error) {
	if t, ok := s.types.TypeForOID(oid); ok {
		return t.Codec.DecodeValue(s.types, oid, pgtype.TextFormatCode, data)
	}
	return string(data), nil
}

// Ack confirms every transaction up to pos to the server: the slot's
// confirmed flush position moves there, and the server will not send them
// again. It may be called while another goroutine waits in Next, which
// sends the position at once (the connection is Next's); a failure to send
// it ends the stream there.
func (s *Postgres) Ack(ctx context.Context, pos Position) error {
	lsn, err := pglogrepl.ParseLSN(string(pos))
	if err != nil {
		return fmt.Errorf("cdc: ack %q: %w", pos, err)
	}
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	if !s.inNext {
		s.ackTo = max(s.ackTo, lsn)
		if s.ackTo > s.acked {
			s.acked = s.ackTo
			return s.sendStatus()
		}
		return nil
	}
	if lsn > s.ackTo {
		s.ackTo = lsn
		if s.wake != nil {
			s.wake()
		}
	}
	return nil
}

func (s *Postgres) sendStatus() error {
	err := pglogrepl.SendStandbyStatusUpdate(context.Background(), s.conn, pglogrepl.StandbyStatusUpdate{WALWritePosition: s.acked})
	if err != nil {
		return fmt.Errorf("cdc: standby status: %w", err)
	}
	s.nextStatus = time.Now().Add(s.opts.StatusInterval)
	return nil
}

// Close ends the stream, after it sends the server the last position
// acknowledged. Transactions not acknowledged are sent again to the next
// source opened on the slot.
func (s *Postgres) Close() error {
	s.ackMu.Lock()
	if !s.inNext && s.ackTo > s.acked {
		s.acked = s.ackTo
		_ = s.sendStatus() // best effort: the consumer stored the position too
	}
	s.ackMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.conn.Close(ctx)
}

// splitTable splits "schema.table"; a name without a schema gets def.
func splitTable(name, def string) (schema, table string) {
	if i := strings.IndexByte(name, '.'); i >= 0 {
		return name[:i], name[i+1:]
	}
	return def, name
}

func quoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

// literal quotes a string for the simple query protocol (standard strings).
func literal(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
