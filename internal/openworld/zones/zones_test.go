package zones

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/internal/pairs"
	"github.com/cachegen/cachegen/internal/timecheck"
	"github.com/cachegen/cachegen/runtime"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
)

// TestMain makes time.Local a zone with daylight saving time (Sydney), so
// that values in time.Local (pgx's default for timestamptz) cross a change
// too, and a Local that came back as another location would show.
func TestMain(m *testing.M) {
	sydney, err := time.LoadLocation("Australia/Sydney")
	if err != nil {
		panic(err)
	}
	time.Local = sydney
	os.Exit(m.Run())
}

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

var ddl = map[string]string{
	"sqlite": `CREATE TABLE events (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,
		at DATETIME NOT NULL, wall DATETIME NOT NULL, maybe DATETIME, null_at DATETIME)`,
	"postgres": `CREATE TABLE events (id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE,
		at TIMESTAMPTZ NOT NULL, wall TIMESTAMP NOT NULL, maybe TIMESTAMPTZ, null_at TIMESTAMP)`,
	"mysql": `CREATE TABLE events (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL UNIQUE,
		at TIMESTAMP(6) NOT NULL DEFAULT '2000-01-01 00:00:00', wall DATETIME(6) NOT NULL,
		maybe TIMESTAMP(6) NULL DEFAULT NULL, null_at DATETIME(6) NULL)`,
}

// variant is one way a driver hands times back: its default, a named zone
// in the DSN or the connection, a session time zone.
type variant struct {
	name    string
	dialect string
	open    func(t testing.TB) (*sqlx.DB, *dbtest.Counter)
}

func variants() []variant {
	return []variant{
		{"sqlite", "sqlite", dbtest.OpenSQLite},
		{"sqlite-_timezone=America_New_York", "sqlite", func(t testing.TB) (*sqlx.DB, *dbtest.Counter) {
			return dbtest.OpenSQLiteWith(t, url.Values{"_timezone": {"America/New_York"}})
		}},
		{"postgres", "postgres", dbtest.OpenPostgres},
		{"postgres-session_timezone=America_New_York", "postgres", func(t testing.TB) (*sqlx.DB, *dbtest.Counter) {
			return dbtest.OpenPostgresWith(t, url.Values{"timezone": {"America/New_York"}})
		}},
		{"postgres-ScanLocation=America_New_York", "postgres", func(t testing.TB) (*sqlx.DB, *dbtest.Counter) {
			ny := mustLoad(t, "America/New_York")
			return dbtest.OpenPostgresWith(t, url.Values{"timezone": {"Europe/Berlin"}}, stdlib.OptionAfterConnect(func(_ context.Context, c *pgx.Conn) error {
				c.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID, Codec: &pgtype.TimestamptzCodec{ScanLocation: ny}})
				return nil
			}))
		}},
		{"mysql-loc=America_New_York", "mysql", func(t testing.TB) (*sqlx.DB, *dbtest.Counter) {
			ny := mustLoad(t, "America/New_York")
			return dbtest.OpenMySQLWith(t, func(c *mysql.Config) { c.Loc = ny })
		}},
		{"mysql-loc=UTC", "mysql", dbtest.OpenMySQL},
		{"mysql-loc=Local", "mysql", func(t testing.TB) (*sqlx.DB, *dbtest.Counter) {
			return dbtest.OpenMySQLWith(t, func(c *mysql.Config) { c.Loc = time.Local })
		}},
	}
}

// events are written through the repository (so each driver converts them
// its own way) in named, fixed, UTC and Local zones, on both sides of New
// York's and Sydney's daylight saving changes.
func events(t testing.TB) []*Event {
	ny := mustLoad(t, "America/New_York")
	fixed := time.FixedZone("XST", 5*3600+30*60)
	at := []time.Time{
		time.Date(2024, 1, 15, 12, 0, 0, 123456000, ny),
		time.Date(2024, 7, 15, 12, 0, 0, 654321000, ny),
		time.Date(2024, 3, 10, 6, 30, 0, 0, time.UTC).In(ny), // 01:30 EST, half an hour before the change
		time.Date(2024, 11, 3, 5, 30, 0, 0, time.UTC).In(ny), // 01:30 EDT, the first of two
		time.Date(2024, 4, 6, 15, 30, 0, 0, time.UTC).In(time.Local),
		time.Date(2024, 10, 1, 9, 0, 0, 0, fixed),
		time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC),
	}
	var out []*Event
	for i, a := range at {
		e := &Event{ID: int64(i + 1), Name: a.Location().String() + a.UTC().Format(time.RFC3339), At: a, Wall: a}
		if i%2 == 0 {
			m := a.AddDate(0, 0, 1)
			e.Maybe = &m
			e.Null = sqlNullTime(a.Add(time.Hour))
		}
		out = append(out, e)
	}
	return out
}

// sameEvent fails unless got reads exactly like want, field by field.
func sameEvent(t testing.TB, what string, got, want *Event) {
	t.Helper()
	if got == nil || want == nil {
		if got != want {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
		return
	}
	if got.ID != want.ID || got.Name != want.Name {
		t.Errorf("%s: row %d %q, want %d %q", what, got.ID, got.Name, want.ID, want.Name)
	}
	timecheck.Same(t, what+" at", got.At, want.At)
	timecheck.Same(t, what+" wall", got.Wall, want.Wall)
	if (got.Maybe == nil) != (want.Maybe == nil) {
		t.Errorf("%s maybe: %v, want %v", what, got.Maybe, want.Maybe)
	} else if got.Maybe != nil {
		timecheck.Same(t, what+" maybe", *got.Maybe, *want.Maybe)
	}
	if got.Null.Valid != want.Null.Valid {
		t.Errorf("%s null: %v, want %v", what, got.Null, want.Null)
	} else if got.Null.Valid {
		timecheck.Same(t, what+" null", got.Null.Time, want.Null.Time)
	}
}

// TestCachedTimesBehaveLikeTheDriver reads the same rows with caching off
// (the oracle: what the driver returns) and through every store, on the
// fill, on a hit, in batches and in All, and for Redis through a near
// cache: every time must behave exactly like the driver's.
func TestCachedTimesBehaveLikeTheDriver(t *testing.T) {
	ctx := context.Background()
	for _, v := range variants() {
		t.Run(v.name, func(t *testing.T) {
			db, _ := v.open(t)
			db.MustExec(ddl[v.dialect])
			direct, err := NewEventRepo(db, nil)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			var names []string
			for _, e := range events(t) {
				if err := direct.Save(ctx, e); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, e.ID)
				names = append(names, e.Name)
			}
			want, err := direct.GetByIDs(ctx, ids)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range pairs.Stores {
				t.Run(s.Name, func(t *testing.T) {
					prefix := dbtest.UniqueName()
					repo, err := NewEventRepo(db, s.Open(t, prefix), runtime.WithPrefix(prefix))
					if err != nil {
						t.Fatal(err)
					}
					readAll(t, ctx, repo, want, ids, names)
					if st := repo.Stats(); st.Hits == 0 || st.Fills == 0 {
						t.Fatalf("the cache was not used: %+v", st)
					}
					if s.Name == "redis" {
						near := nearRepo(t, db, dbtest.UniqueName())
						readAll(t, ctx, near, want, ids, names)
						if st := near.Stats(); st.NearHits == 0 {
							t.Fatalf("no near-cache hit: %+v", st)
						}
					}
				})
			}
		})
	}
}

// readAll reads every row twice by each path (fill, then hit) and compares
// it with want.
func readAll(t *testing.T, ctx context.Context, repo *EventRepo, want []*Event, ids []int64, names []string) {
	t.Helper()
	for round := range 2 {
		for i, w := range want {
			got, err := repo.GetByID(ctx, w.ID)
			if err != nil {
				t.Fatal(err)
			}
			sameEvent(t, "GetByID "+w.Name, got, w)
			if got, err = repo.GetByName(ctx, names[i]); err != nil {
				t.Fatal(err)
			}
			sameEvent(t, "GetByName "+w.Name, got, w)
		}
		batch, err := repo.GetByIDs(ctx, ids)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range want {
			sameEvent(t, "GetByIDs "+w.Name, batch[i], w)
		}
		all, err := repo.All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != len(want) {
			t.Fatalf("round %d: All has %d rows, want %d", round, len(all), len(want))
		}
		for i, w := range want {
			sameEvent(t, "All "+w.Name, all[i], w)
		}
	}
}

// nearRepo returns a repository with a near cache in front of a Redis
// store under prefix, on a bus channel of its own.
func nearRepo(t *testing.T, db *sqlx.DB, prefix string) *EventRepo {
	t.Helper()
	store, near := pairs.RedisNear(t, prefix)
	repo, err := NewEventRepo(db, store, runtime.WithPrefix(prefix), runtime.WithNearCache(near))
	if err != nil {
		t.Fatal(err)
	}
	return repo
}

func sqlNullTime(t time.Time) sql.NullTime { return sql.NullTime{Time: t, Valid: true} }
