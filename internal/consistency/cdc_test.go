package consistency

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/runtime/cdc"
)

// raw adds a Raw write acknowledged at ret and logs it.
func (h *hist) raw(call, ret int64, r Row) *Op {
	h.logRow(r, false)
	return h.add(&Op{Runtime: 3, Kind: Raw, Call: call, Return: ret, Outcome: OK, Writes: []Write{{Row: r}}})
}

func cdcHist(bound int64) *hist {
	h := newHist()
	h.in.CDC, h.in.CDCBound, h.in.Invalidated = true, bound, map[int64]int64{}
	return h
}

// TestRawWriteMissedWithinTheCDCBound: a read may miss a raw write (no
// invalidation but the change stream's) that returned less than the CDC
// bound before it began, even after another read saw it; not later.
func TestRawWriteMissedWithinTheCDCBound(t *testing.T) {
	h := cdcHist(100)
	h.save(0, 0, 10, a1, true, nil)
	h.raw(20, 30, a2)
	h.read(1, GetByID, 40, 45, Row{ID: 1}, a2) // read from the database
	h.read(2, GetByID, 60, 70, Row{ID: 1}, a1) // the cache, not yet invalidated
	h.in.Invalidated[a2.Version] = 80
	want(t, h.check(t), 0, 0, 0, 0, "ok")

	h = cdcHist(100)
	h.save(0, 0, 10, a1, true, nil)
	h.raw(20, 30, a2)
	h.read(2, GetByID, 140, 150, Row{ID: 1}, a1)
	h.in.Invalidated[a2.Version] = 80
	res := h.check(t)
	want(t, res, 1, 0, 0, 0, "violated")
}

// TestAbsenceMissingARawInsertWithinTheCDCBound: a read of absence may be
// the cached absence from before a raw insert, within the CDC bound, even
// when a delete after the insert also left the row absent.
func TestAbsenceMissingARawInsertWithinTheCDCBound(t *testing.T) {
	h := cdcHist(1000)
	h.save(0, 0, 10, a1, true, nil)
	h.del(1, 12, 15, a1)
	h.raw(20, 30, a2)
	h.read(2, GetByID, 40, 50, Row{ID: 1}, a2)
	h.del(1, 45, 90, a2)
	h.read(3, All, 55, 60, Row{}) // the cached All from before the insert
	h.read(3, GetByID, 62, 64, Row{ID: 1}, a2)
	h.in.Invalidated[a2.Version] = 80
	want(t, h.check(t), 0, 0, 0, 0, "ok")
}

// TestLostInvalidation: every committed raw write must have been
// invalidated by the consumer; the lag runs from its response to the
// consumer's ack.
func TestLostInvalidation(t *testing.T) {
	h := cdcHist(100)
	h.save(0, 0, 10, a1, true, nil)
	h.raw(20, 30, a2)
	h.add(&Op{Runtime: 3, Kind: Raw, Call: 40, Return: 50, Outcome: Failed, Rollback: true, Writes: []Write{{Row: Row{ID: 1, Version: 3}}}})
	res := h.check(t)
	if res.LostInvalidations != 1 || !res.Violations() || !strings.Contains(strings.Join(res.Problems, "\n"), "never invalidated version 2") {
		t.Fatalf("lost_invalidations=%d violations=%v problems=%q; want the raw write of version 2 lost, the rolled back one not", res.LostInvalidations, res.Violations(), res.Problems)
	}
	h.in.WholeInvalidations = []int64{15} // before the raw write began: covers nothing
	if res = h.check(t); res.LostInvalidations != 1 {
		t.Fatalf("lost_invalidations=%d after a whole-table invalidation before the write; want 1", res.LostInvalidations)
	}
	h.in.WholeInvalidations = []int64{15, 90} // after it began: covers it
	if res = h.check(t); res.LostInvalidations != 0 || !slices.Equal(res.CDCLag, []int64{60}) {
		t.Fatalf("lost_invalidations=%d lag=%v after a whole-table invalidation at 90; want 0, [60]", res.LostInvalidations, res.CDCLag)
	}
	h.in.WholeInvalidations = nil
	h.in.Invalidated = map[int64]int64{a2.Version: 75}
	res = h.check(t)
	if res.LostInvalidations != 0 || !slices.Equal(res.CDCLag, []int64{45}) || res.CDCLagQuantile(0.99) != 45 {
		t.Fatalf("lost_invalidations=%d lag=%v; want 0 and [45]", res.LostInvalidations, res.CDCLag)
	}
}

// TestCDCLagApartFromFaults: a lag that overlaps a fault's span counts in
// CDCLag but not in CDCLagUnfaulted. A span lasts from the fault until the
// first raw write that began after its heal is acknowledged: the changes
// that waited behind its backlog are the fault's too.
func TestCDCLagApartFromFaults(t *testing.T) {
	h := cdcHist(1000)
	h.save(0, 0, 10, a1, true, nil)
	rows := make([]Row, 5)
	for i := range rows {
		rows[i] = a2
		rows[i].Version = int64(2 + i)
	}
	h.raw(20, 30, rows[0])   // acked at 40: before the fault
	h.raw(50, 60, rows[1])   // acked at 300: during it
	h.raw(260, 270, rows[2]) // began after the heal (250), behind the backlog: acked at 600
	h.raw(610, 620, rows[3]) // acked at 630: the stream flows
	h.raw(640, 650, rows[4]) // acked at 655
	h.in.Invalidated = map[int64]int64{2: 40, 3: 300, 4: 600, 5: 630, 6: 655}
	h.in.CDCFaults = []Interval{{100, 250}}
	res := h.check(t)
	if !slices.Equal(res.CDCLag, []int64{5, 10, 10, 240, 330}) || !slices.Equal(res.CDCLagUnfaulted, []int64{5, 10, 10}) {
		t.Fatalf("lags %v, unfaulted %v; want [5 10 10 240 330] and [5 10 10]", res.CDCLag, res.CDCLagUnfaulted)
	}
	if got := res.CDCLagUnfaultedQuantile(0.99); got != 10 {
		t.Fatalf("unfaulted p99 = %d, want 10", got)
	}
	// A whole invalidation after the fault (a position the store lost
	// with it) holds up what the stream carried until then, and the span
	// lasts until the next write begun after it (at 640) is through.
	h.in.WholeInvalidations = []int64{625}
	if res = h.check(t); !slices.Equal(res.CDCLagUnfaulted, []int64{10}) {
		t.Fatalf("unfaulted %v with a whole invalidation at 625; want [10]", res.CDCLagUnfaulted)
	}
	h.in.WholeInvalidations = nil
	h.in.CDCFaults = nil
	if res = h.check(t); len(res.CDCLagUnfaulted) != 5 {
		t.Fatalf("unfaulted %v with no fault; want all five lags", res.CDCLagUnfaulted)
	}
}

// TestCDCRecorderAcksUpToPosition: an ack covers every batch its stream
// handed out before it; a stream's unacknowledged batches are not another
// stream's to acknowledge (two consumers, each with its streams).
func TestCDCRecorderAcksUpToPosition(t *testing.T) {
	now := int64(0)
	r := &cdcRecorder{now: func() int64 { return now }, acked: map[int64]int64{}}
	batch := func(pos string, versions ...any) *cdc.Batch {
		b := &cdc.Batch{Position: cdc.Position(pos)}
		for _, v := range versions {
			b.Changes = append(b.Changes, cdc.Change{Table: "s.accounts", Op: cdc.Update, New: map[string]any{"version": v}})
		}
		b.Changes = append(b.Changes, cdc.Change{Table: "s.sessions", Op: cdc.Insert, New: map[string]any{"version": int64(99)}})
		return b
	}
	stream := func(batches ...*cdc.Batch) *recordingSource {
		return &recordingSource{Source: &listSource{batches: batches}, rec: r, stats: func() cdc.ConsumerStats { return cdc.ConsumerStats{} }}
	}
	ctx := context.Background()
	s1 := stream(batch("1", int64(1)), batch("2", "2", uint64(3)), batch("3", []byte("4")))
	for range 3 {
		if _, err := s1.Next(ctx); err != nil {
			t.Fatal(err)
		}
	}
	now = 10
	if err := s1.Ack(ctx, "2"); err != nil {
		t.Fatal(err)
	}
	s2 := stream(batch("3", []byte("4")))
	if err := s2.Ack(ctx, "3"); err != nil { // nothing it handed out
		t.Fatal(err)
	}
	if got, _ := r.snapshot(); len(got) != 3 {
		t.Fatalf("acked %v; want versions 1-3 alone", got)
	}
	now = 20
	if _, err := s2.Next(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s2.Ack(ctx, "3"); err != nil {
		t.Fatal(err)
	}
	got, _ := r.snapshot()
	if len(got) != 4 || got[1] != 10 || got[2] != 10 || got[3] != 10 || got[4] != 20 {
		t.Fatalf("acked %v; want versions 1-3 at 10, 4 at 20, no sessions row", got)
	}
}

// listSource hands out its batches, then blocks.
type listSource struct{ batches []*cdc.Batch }

func (s *listSource) Next(ctx context.Context) (*cdc.Batch, error) {
	if len(s.batches) == 0 {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	b := s.batches[0]
	s.batches = s.batches[1:]
	return b, nil
}
func (s *listSource) Ack(context.Context, cdc.Position) error { return nil }
func (s *listSource) Close() error                            { return nil }

// TestCDCNeedsAChangeStream: -cdc on a server without one fails before the
// run starts, naming the setting.
func TestCDCNeedsAChangeStream(t *testing.T) {
	dsn := testenv.PostgresDSN(t) // the machine's server: wal_level=replica
	err := checkCDCServer(context.Background(), dsn)
	if err == nil || !strings.Contains(err.Error(), "wal_level=replica, the change stream needs wal_level=logical") {
		t.Fatalf("checkCDCServer(%s): %v; want wal_level=replica refused", dsn, err)
	}
	_, err = Run(context.Background(), Config{DB: dsn, Store: "memory", CDC: true})
	if err == nil || !strings.Contains(err.Error(), "wal_level") {
		t.Fatalf("Run: %v; want wal_level refused", err)
	}
}

// TestNowBeforeTheRun: the consumer starts during setup, before the
// workload's clock; what it stamps then is time 0, so a table-wide
// invalidation at setup credits no raw write of the run (it stamped
// math.MaxInt64, time.Since the zero time, and credited every one).
func TestNowBeforeTheRun(t *testing.T) {
	w := &workload{}
	if got := w.now(); got != 0 {
		t.Fatalf("now before the run = %d, want 0", got)
	}
	rec := &cdcRecorder{now: w.now, acked: map[int64]int64{}}
	rec.whole = append(rec.whole, rec.now())
	_, whole := rec.snapshot()
	if k, _ := slices.BinarySearch(whole, 1); k < len(whole) {
		t.Fatalf("a setup invalidation at %v credits a write that began at 1", whole)
	}
}

// TestRunConsumerFaults: the -cdc run with each consumer fault in turn
// (killed without a word, a clean handover, the replication connection
// reset, the store cut while it drops keys, an ALTER TABLE mid-stream), on
// both change streams: every raw write invalidated, none read stale past
// the bound.
func TestRunConsumerFaults(t *testing.T) {
	// The quick faults first, the kill (a lease to run out) last, and
	// operations enough for all five on a fast machine: the run ends with
	// its operations, not with its faults.
	kinds := []string{"cdc-conn-drop", "cdc-alter", "cdc-store-down", "cdc-handover", "cdc-kill"}
	for _, db := range []struct {
		name string
		dsn  func(testing.TB) string
	}{{"postgres", testenv.PostgresCDCDSN}, {"mariadb", testenv.MySQLCDCDSN}} {
		t.Run(db.name, func(t *testing.T) {
			cfg := quick(Config{Ops: 12000, Faults: true, CDC: true, CDCBound: 5 * time.Second})
			cfg.DB = db.dsn(t)
			cfg.cdcFaultOrder, cfg.cdcFaultGap = kinds, 300*time.Millisecond
			rep, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range kinds {
				if !strings.Contains(rep.FaultSummary, k+"=") {
					t.Errorf("no %s fault in %s", k, rep.FaultSummary)
				}
			}
			res := rep.Result
			if res.StaleAfterAck != 0 || res.LostInvalidations != 0 || res.LinearizabilityWord() != "ok" || res.LostWrites != 0 {
				t.Errorf("%s\n%v", rep.Line(), res.Problems)
			}
			// A killed leader holds changes up for its lease (1 s): some
			// lags must be set apart as the faults'.
			if held := len(res.CDCLag) - len(res.CDCLagUnfaulted); held == 0 || !strings.Contains(rep.Line(), fmt.Sprintf("cdc_changes_held_by_faults=%d", held)) {
				t.Errorf("%d of %d changes held up by faults: %s", held, len(res.CDCLag), rep.Line())
			}
			if rep.CDC == nil || rep.CDC.Reopens == 0 {
				t.Errorf("consumers %+v: the dropped connection reopened no stream", rep.CDC)
			}
		})
	}
}
