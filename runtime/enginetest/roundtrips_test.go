package enginetest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/pairs"
	"github.com/cachegen/cachegen/internal/testenv"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/enginetest/model"
	cgredis "github.com/cachegen/cachegen/runtime/redis"
	goredis "github.com/redis/go-redis/v9"
)

// tripHook records what a go-redis client really sends: one entry per
// round trip (a command on its own, or one pipeline), as the command names
// it carried. The board's round trips (its WATCH/GET/MULTI…EXEC/UNWATCH on
// the table's "builds" key) are kept apart from the write's own.
type tripHook struct {
	mu           sync.Mutex
	trips, board []string
}

func (h *tripHook) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *tripHook) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.record([]goredis.Cmder{cmd})
		return next(ctx, cmd)
	}
}

func (h *tripHook) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.record(cmds)
		return next(ctx, cmds)
	}
}

func (h *tripHook) record(cmds []goredis.Cmder) {
	names := make([]string, len(cmds))
	board := false
	for i, c := range cmds {
		names[i] = c.Name()
		switch c.Name() {
		case "watch", "unwatch", "multi", "exec":
			board = true
		}
		for _, a := range c.Args()[1:] {
			if s, ok := a.(string); ok && strings.HasSuffix(s, ":builds") {
				board = true
			}
		}
	}
	label := strings.Join(names, "+")
	h.mu.Lock()
	defer h.mu.Unlock()
	if board {
		h.board = append(h.board, label)
	} else {
		h.trips = append(h.trips, label)
	}
}

// take returns the round trips since the last take: the write's own and
// the board's.
func (h *tripHook) take() (trips, board []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	trips, board = h.trips, h.board
	h.trips, h.board = nil, nil
	return trips, board
}

// tripCount is what one write cost.
type tripCount struct {
	store   int // round trips to the store (Redis), board excluded
	cmds    int // commands in those round trips (one lock or unlock script a phase)
	publish int // the near cache's PUBLISHes among those commands
	board   int // round trips of the build board's heartbeat
	queries int // database statements returning rows
	execs   int // other database statements (BEGIN/COMMIT not counted)
	txs     int // transactions: a BEGIN and a COMMIT each, two round trips
}

// dbTrips is the database round trips of a write: its statements, and a
// BEGIN and a COMMIT a transaction.
func (c tripCount) dbTrips() int { return c.queries + c.execs + 2*c.txs }

// wantWriteTrips are the counts today. A change to the write path that
// moves one of them must change this table (and docs/benchmarks.md, "Round
// trips per write") on purpose. Before issue 15 a write with a near cache
// sent its two PUBLISHes as round trips of their own (4 in all); they ride
// in the lock and release pipelines now, so a publish that comes back as a
// round trip of its own fails the store count. Three writes need no
// transaction (no BEGIN, no COMMIT): their keys are known before their one
// statement, which commits on its own between their lock and their release
// (shortcuts.go). An insert with an auto pk is its INSERT … RETURNING; an
// update that keeps its unique values, its guarded UPDATE; a delete, an
// unlocked read of the row and its guarded DELETE. An update that changes
// them pays the guarded UPDATE that matched nothing on top of its
// transaction (SELECT … FOR UPDATE, UPDATE), and a second lock round trip
// for the old values' keys its transaction learns. On a single node each
// phase is one script over all its keys (before issue 15, one script a
// key: 8 commands for a write of 4 keys).
var wantWriteTrips = map[string]tripCount{
	"redis/first write, cold board":       {store: 2, cmds: 2, board: 3, queries: 1},
	"redis/insert (auto pk)":              {store: 2, cmds: 2, queries: 1},
	"redis/update, unique unchanged":      {store: 2, cmds: 2, execs: 1},
	"redis/update, unique changed":        {store: 3, cmds: 3, queries: 1, execs: 2, txs: 1},
	"redis/delete":                        {store: 2, cmds: 2, queries: 1, execs: 1},
	"redis+near/first write, cold board":  {store: 2, cmds: 4, publish: 2, board: 3, queries: 1},
	"redis+near/insert (auto pk)":         {store: 2, cmds: 4, publish: 2, queries: 1},
	"redis+near/update, unique unchanged": {store: 2, cmds: 4, publish: 2, execs: 1},
	"redis+near/update, unique changed":   {store: 3, cmds: 6, publish: 3, queries: 1, execs: 2, txs: 1},
	"redis+near/delete":                   {store: 2, cmds: 4, publish: 2, queries: 1, execs: 1},
	// 10 rows (31 keys: 3 a row and All; the update changes one email,
	// 32): one transaction, one lock and one release round trip whatever
	// the count, each one script over all the keys. An insert with an auto
	// pk is a statement a row (a multi-row INSERT does not say which key
	// went to which row everywhere); rows with a key are one SELECT … FOR
	// UPDATE and one multi-row upsert.
	"redis/bulk insert, 10 rows":      {store: 2, cmds: 2, queries: 10, txs: 1},
	"redis/bulk update, 10 rows":      {store: 2, cmds: 2, queries: 1, execs: 1, txs: 1},
	"redis/bulk delete, 10 rows":      {store: 2, cmds: 2, queries: 1, txs: 1},
	"redis+near/bulk insert, 10 rows": {store: 2, cmds: 4, publish: 2, queries: 10, txs: 1},
	"redis+near/bulk update, 10 rows": {store: 2, cmds: 4, publish: 2, queries: 1, execs: 1, txs: 1},
	"redis+near/bulk delete, 10 rows": {store: 2, cmds: 4, publish: 2, queries: 1, txs: 1},
}

// writeTripOrder is the order of the logged table.
var writeTripOrder = []string{
	"first write, cold board", "insert (auto pk)", "update, unique unchanged",
	"update, unique changed", "delete",
	"bulk insert, 10 rows", "bulk update, 10 rows", "bulk delete, 10 rows",
}

// TestWriteRoundTrips counts, on PostgreSQL + Redis without and with a near
// cache, the round trips each kind of write sends: to Redis (counted by a
// go-redis hook on the store's client, so a pipeline is one), on the near
// cache's bus, to the build board, and to the database; bulk writes
// (SaveMany, DeleteMany) of 10 rows too.
//
//	go test -run TestWriteRoundTrips -v ./runtime/enginetest
func TestWriteRoundTrips(t *testing.T) {
	got := map[string]tripCount{}
	labels := map[string]string{}
	for _, withNear := range []bool{false, true} {
		config := "redis"
		if withNear {
			config = "redis+near"
		}
		t.Run(config, func(t *testing.T) {
			for k, c := range countWrites(t, withNear, labels, config) {
				got[config+"/"+k] = c
			}
		})
	}
	if t.Failed() {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n| write | store round trips | store commands | near publishes | board round trips | db queries | db execs | db transactions | db round trips |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, config := range []string{"redis", "redis+near"} {
		for _, w := range writeTripOrder {
			k := config + "/" + w
			c := got[k]
			fmt.Fprintf(&b, "| %s, %s | %d | %d | %d | %d | %d | %d | %d | %d |\n", config, w, c.store, c.cmds, c.publish, c.board, c.queries, c.execs, c.txs, c.dbTrips())
		}
	}
	t.Logf("round trips per write (PostgreSQL + Redis):%s", b.String())
	for _, config := range []string{"redis", "redis+near"} {
		for _, w := range writeTripOrder {
			k := config + "/" + w
			t.Logf("%s: %s", k, labels[k])
		}
	}
	for k, want := range wantWriteTrips {
		if got[k] != want {
			t.Errorf("%s: %+v, want %+v (sent: %s)", k, got[k], want, labels[k])
		}
	}
	if len(got) != len(wantWriteTrips) {
		t.Errorf("measured %d writes, the table has %d", len(got), len(wantWriteTrips))
	}
}

// countWrites runs each kind of write on a fresh database namespace, key
// prefix and repository, and returns what each cost. labels receives the
// commands of each round trip.
func countWrites(t *testing.T, withNear bool, labels map[string]string, config string) map[string]tripCount {
	ctx := context.Background()
	db, counter := dbtest.OpenPostgres(t)
	CreateTables(t, db, "postgres")
	prefix := dbtest.UniqueName()
	addr := []string{testenv.RedisAddr(t)}
	client := pairs.RedisClient(t, prefix, addr)
	storeHook := &tripHook{}
	client.AddHook(storeHook)
	store, err := cgredis.New(client, cgredis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A heartbeat period far longer than the test: the board is updated
	// once, by the first write, and never in between the others.
	opts := []runtime.Option{runtime.WithPrefix(prefix), runtime.WithBuildHeartbeat(time.Hour)}
	if withNear {
		// The bus on the store's own client, as the README's near cache
		// setup has it: the store then carries its messages in the write's
		// phases (store.PhaseAnnouncer), and the hook sees them there.
		bus, err := cgredis.NewBus(client, prefix+":near")
		if err != nil {
			t.Fatal(err)
		}
		near, err := runtime.NewNearCache(bus, runtime.NearOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { near.Close() })
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := near.Ready(rctx); err != nil {
			t.Fatal(err)
		}
		opts = append(opts, runtime.WithNearCache(near))
	}
	users, err := model.NewUserRepo(db, store, opts...)
	if err != nil {
		t.Fatal(err)
	}
	// Warm the connections and load the scripts with writes on another
	// repository of the same table and store (its own board member), so
	// that the first write below pays for the board alone.
	warm, err := model.NewUserRepo(db, store, runtime.WithPrefix(prefix))
	if err != nil {
		t.Fatal(err)
	}
	w := &model.User{Email: "warm@x.org", OrgID: 9, Handle: "warm", Name: "W"}
	if err := warm.Save(ctx, w); err != nil {
		t.Fatal(err)
	}
	if err := warm.Delete(ctx, w.ID); err != nil {
		t.Fatal(err)
	}

	out := map[string]tripCount{}
	measure := func(name string, write func() error) {
		t.Helper()
		storeHook.take()
		counter.Reset()
		if err := write(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		trips, board := storeHook.take()
		c := tripCount{store: len(trips), cmds: commands(trips), publish: publishes(trips), board: len(board),
			queries: int(counter.Queries()), execs: int(counter.Execs()), txs: int(counter.Txs())}
		label := "store [" + strings.Join(runs(trips), ", ") + "]"
		if len(board) > 0 {
			label += " board [" + strings.Join(board, ", ") + "]"
		}
		out[name] = c
		labels[config+"/"+name] = label
	}
	u := &model.User{Email: "a@x.org", OrgID: 1, Handle: "a", Name: "A"}
	measure("first write, cold board", func() error { return users.Save(ctx, u) })
	// The measured repository reads the catalog once, at its first miss by
	// email (whether text compares exactly decides whether its misses are
	// cached, and whether an update may prove its unique values unchanged
	// in its own statement): here, after the
	// first write (which pays for the board), not in the first update.
	if _, err := users.GetByEmail(ctx, "nobody@x.org"); err == nil {
		t.Fatal("GetByEmail(nobody@x.org): found a row")
	}

	v := &model.User{Email: "b@x.org", OrgID: 1, Handle: "b", Name: "B"}
	measure("insert (auto pk)", func() error { return users.Save(ctx, v) })
	v.Name = "B2"
	measure("update, unique unchanged", func() error { return users.Save(ctx, v) })
	v.Email = "b2@x.org"
	measure("update, unique changed", func() error { return users.Save(ctx, v) })
	measure("delete", func() error { return users.Delete(ctx, v.ID) })
	bulk := make([]*model.User, 10)
	for i := range bulk {
		bulk[i] = &model.User{Email: fmt.Sprintf("m%d@x.org", i), OrgID: 2, Handle: fmt.Sprintf("m%d", i), Name: "M"}
	}
	measure("bulk insert, 10 rows", func() error { return users.SaveMany(ctx, bulk) })
	ids := make([]int64, len(bulk))
	for i, b := range bulk {
		b.Name = "M2"
		ids[i] = b.ID
	}
	bulk[0].Email = "m0b@x.org"
	measure("bulk update, 10 rows", func() error { return users.SaveMany(ctx, bulk) })
	measure("bulk delete, 10 rows", func() error {
		n, err := users.DeleteMany(ctx, ids)
		if err == nil && n != len(ids) {
			err = fmt.Errorf("DeleteMany deleted %d rows of %d", n, len(ids))
		}
		return err
	})
	return out
}

// publishes counts the near cache's messages in round trips labelled by
// tripHook.
func publishes(trips []string) int {
	n := 0
	for _, l := range trips {
		for _, c := range strings.Split(l, "+") {
			if c == "publish" {
				n++
			}
		}
	}
	return n
}

// runs shortens each round trip's runs of one command, for the log:
// evalsha+evalsha+publish becomes evalsha×2+publish.
func runs(trips []string) []string {
	out := make([]string, len(trips))
	for i, trip := range trips {
		var parts []string
		cmds := strings.Split(trip, "+")
		for j := 0; j < len(cmds); {
			k := j
			for k < len(cmds) && cmds[k] == cmds[j] {
				k++
			}
			if k-j > 1 {
				parts = append(parts, fmt.Sprintf("%s×%d", cmds[j], k-j))
			} else {
				parts = append(parts, cmds[j])
			}
			j = k
		}
		out[i] = strings.Join(parts, "+")
	}
	return out
}

// commands counts the commands in round trips labelled by tripHook.
func commands(trips []string) int {
	n := 0
	for _, l := range trips {
		n += strings.Count(l, "+") + 1
	}
	return n
}
