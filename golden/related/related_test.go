package related

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/cachegen/cachegen/golden/basic"
	"github.com/cachegen/cachegen/internal/dbtest"
	"github.com/cachegen/cachegen/runtime"
	"github.com/cachegen/cachegen/runtime/memory"
	"github.com/jmoiron/sqlx"
)

var schemas = map[string][]string{
	"sqlite": {
		`CREATE TABLE orgs (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE)`,
		`CREATE TABLE authors (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT NOT NULL UNIQUE, org_id INTEGER NOT NULL)`,
		`CREATE TABLE profiles (id INTEGER PRIMARY KEY AUTOINCREMENT, author_id INTEGER NOT NULL UNIQUE, bio TEXT NOT NULL)`,
		`CREATE TABLE posts (id INTEGER PRIMARY KEY AUTOINCREMENT, author_id INTEGER NOT NULL, editor_id INTEGER, parent_id INTEGER, title TEXT NOT NULL)`,
		`CREATE TABLE preferences (author_id INTEGER PRIMARY KEY, theme TEXT NOT NULL)`,
		`CREATE TABLE badges (id INTEGER PRIMARY KEY AUTOINCREMENT, owner_id INTEGER UNIQUE, name TEXT NOT NULL)`,
	},
	"postgres": {
		`CREATE TABLE orgs (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE)`,
		`CREATE TABLE authors (id BIGSERIAL PRIMARY KEY, email TEXT NOT NULL UNIQUE, org_id BIGINT NOT NULL)`,
		`CREATE TABLE profiles (id BIGSERIAL PRIMARY KEY, author_id BIGINT NOT NULL UNIQUE, bio TEXT NOT NULL)`,
		`CREATE TABLE posts (id BIGSERIAL PRIMARY KEY, author_id BIGINT NOT NULL, editor_id INTEGER, parent_id BIGINT, title TEXT NOT NULL)`,
		`CREATE TABLE preferences (author_id BIGINT PRIMARY KEY, theme TEXT NOT NULL)`,
		`CREATE TABLE badges (id BIGSERIAL PRIMARY KEY, owner_id BIGINT UNIQUE, name TEXT NOT NULL)`,
	},
	"mysql": {
		`CREATE TABLE orgs (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(255) NOT NULL UNIQUE)`,
		`CREATE TABLE authors (id BIGINT AUTO_INCREMENT PRIMARY KEY, email VARCHAR(255) NOT NULL UNIQUE, org_id BIGINT NOT NULL)`,
		`CREATE TABLE profiles (id BIGINT AUTO_INCREMENT PRIMARY KEY, author_id BIGINT NOT NULL UNIQUE, bio TEXT NOT NULL)`,
		`CREATE TABLE posts (id BIGINT AUTO_INCREMENT PRIMARY KEY, author_id BIGINT NOT NULL, editor_id INT NULL, parent_id BIGINT NULL, title TEXT NOT NULL)`,
		`CREATE TABLE preferences (author_id BIGINT PRIMARY KEY, theme TEXT NOT NULL)`,
		`CREATE TABLE badges (id BIGINT AUTO_INCREMENT PRIMARY KEY, owner_id BIGINT NULL UNIQUE, name TEXT NOT NULL)`,
	},
}

// open makes the package's tables on a fresh database of the dialect name
// (opened by openDB), and an in-memory store closed when the test ends.
func open(t *testing.T, name string, openDB func(testing.TB) (*sqlx.DB, *dbtest.Counter)) (*sqlx.DB, *memory.Store) {
	t.Helper()
	db, _ := openDB(t)
	for _, stmt := range schemas[name] {
		db.MustExec(stmt)
	}
	store, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)
	return db, store
}

// TestLoaders runs every shape of relation on every dialect: forward, to
// another package through a shared registry, nullable, to the own model,
// and the reverse loaders of unique fks.
func TestLoaders(t *testing.T) {
	for _, d := range dbtest.Dialects {
		t.Run(d.Name, func(t *testing.T) {
			ctx := context.Background()
			db, store := open(t, d.Name, d.Open)
			reg := runtime.NewRegistry()
			other, err := basic.NewRepos(db, store, runtime.WithRegistry(reg))
			if err != nil {
				t.Fatal(err)
			}
			rs, err := NewRepos(db, store, runtime.WithRegistry(reg))
			if err != nil {
				t.Fatal(err)
			}
			save := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}
			org := &basic.Org{Name: "acme"}
			save(other.Orgs.Save(ctx, org))
			a := &Author{Email: "a@x.org", OrgID: org.ID}
			b := &Author{Email: "b@x.org", OrgID: org.ID}
			save(rs.Authors.Save(ctx, a))
			save(rs.Authors.Save(ctx, b))

			// to a model of another package
			if got, err := rs.Authors.LoadOrg(ctx, a); err != nil || got.Name != "acme" {
				t.Fatalf("LoadOrg: %+v, %v", got, err)
			}
			orgs, err := rs.Authors.LoadOrgs(ctx, []*Author{a, nil, b})
			if err != nil || orgs[0].Name != "acme" || orgs[1] != nil || orgs[2].Name != "acme" || orgs[0] == orgs[2] {
				t.Fatalf("LoadOrgs: %v, %v", orgs, err)
			}

			// reverse, by a unique fk
			p := &Profile{AuthorID: a.ID, Bio: "bio of a"}
			save(rs.Profiles.Save(ctx, p))
			if got, err := rs.Authors.LoadProfile(ctx, a); err != nil || got.ID != p.ID {
				t.Fatalf("LoadProfile: %+v, %v", got, err)
			}
			if _, err := rs.Authors.LoadProfile(ctx, b); !errors.Is(err, runtime.ErrNotFound) {
				t.Fatalf("LoadProfile of an author without one: %v", err)
			}
			profiles, err := rs.Authors.LoadProfiles(ctx, []*Author{a, b})
			if err != nil || profiles[0].Bio != "bio of a" || profiles[1] != nil {
				t.Fatalf("LoadProfiles: %v, %v", profiles, err)
			}
			// reverse, by a shared primary key
			save(rs.Preferences.Save(ctx, &Preference{AuthorID: b.ID, Theme: "dark"}))
			prefs, err := rs.Authors.LoadPreferences(ctx, []*Author{a, b})
			if err != nil || prefs[0] != nil || prefs[1].Theme != "dark" {
				t.Fatalf("LoadPreferences: %v, %v", prefs, err)
			}
			// reverse, by a nullable unique fk, named by the tag
			gold, none := &Badge{OwnerID: &a.ID, Name: "gold"}, &Badge{Name: "none"}
			save(rs.Badges.Save(ctx, gold))
			save(rs.Badges.Save(ctx, none))
			awards, err := rs.Authors.LoadAwards(ctx, []*Author{a, b})
			if err != nil || awards[0].Name != "gold" || awards[1] != nil {
				t.Fatalf("LoadAwards: %v, %v", awards, err)
			}
			owners, err := rs.Badges.LoadOwners(ctx, []*Badge{gold, none})
			if err != nil || owners[0].ID != a.ID || owners[1] != nil {
				t.Fatalf("LoadOwners: %v, %v", owners, err)
			}
			if _, err := rs.Badges.LoadOwner(ctx, none); !errors.Is(err, runtime.ErrNotFound) {
				t.Fatalf("LoadOwner of a NULL owner: %v", err)
			}

			// nullable and narrower, and to the own model
			editor := int32(b.ID)
			root := &Post{AuthorID: a.ID, Title: "root"}
			save(rs.Posts.Save(ctx, root))
			reply := &Post{AuthorID: a.ID, EditorID: &editor, ParentID: sql.NullInt64{Int64: root.ID, Valid: true}, Title: "reply"}
			save(rs.Posts.Save(ctx, reply))
			editors, err := rs.Posts.LoadEditors(ctx, []*Post{root, reply})
			if err != nil || editors[0] != nil || editors[1].ID != b.ID {
				t.Fatalf("LoadEditors: %v, %v", editors, err)
			}
			if _, err := rs.Posts.LoadEditor(ctx, root); !errors.Is(err, runtime.ErrNotFound) {
				t.Fatalf("LoadEditor of a NULL editor: %v", err)
			}
			parents, err := rs.Posts.LoadParents(ctx, []*Post{root, reply})
			if err != nil || parents[0] != nil || parents[1].Title != "root" {
				t.Fatalf("LoadParents: %v, %v", parents, err)
			}
			if got, err := rs.Posts.LoadParent(ctx, reply); err != nil || got.ID != root.ID {
				t.Fatalf("LoadParent: %+v, %v", got, err)
			}
			authors, err := rs.Posts.LoadAuthors(ctx, []*Post{root, reply})
			if err != nil || authors[0].ID != a.ID || authors[1].ID != a.ID {
				t.Fatalf("LoadAuthors: %v, %v", authors, err)
			}
		})
	}
}

// TestRegistryErrors: a loader says what it misses instead of guessing,
// and one registry refuses a second repository of a type.
func TestRegistryErrors(t *testing.T) {
	ctx := context.Background()
	db, store := open(t, "sqlite", dbtest.OpenSQLite)

	alone, err := NewPostRepo(db, store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alone.LoadAuthor(ctx, &Post{AuthorID: 1}); err == nil || !strings.Contains(err.Error(), "NewRepos") {
		t.Errorf("a loader without a registry: %v", err)
	}
	rs, err := NewRepos(db, store)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rs.Authors.LoadOrg(ctx, &Author{OrgID: 1}); err == nil || !strings.Contains(err.Error(), "*basic.OrgRepo") {
		t.Errorf("a loader whose target's package shares no registry: %v", err)
	}
	reg := runtime.NewRegistry()
	if _, err := NewRepos(db, store, runtime.WithRegistry(reg)); err != nil {
		t.Fatal(err)
	}
	if _, err := NewRepos(db, store, runtime.WithRegistry(reg)); err == nil {
		t.Error("a second NewRepos of one package on one registry succeeded")
	}
}

// TestRelatedNeverCached: whatever the db:"-" fields hold when a row is
// saved or encoded, the cached bytes never carry them and a read from the
// cache never returns them populated.
func TestRelatedNeverCached(t *testing.T) {
	ctx := context.Background()
	secret := &Post{ID: 99, Title: "secret post"}
	in := Author{ID: 7, Email: "a@x.org", OrgID: 1, Profile: &Profile{Bio: "secret bio"}, Posts: []*Post{secret}}
	var m authorMapper
	b, err := m.Encode(nil, &in)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(b, []byte("secret")) {
		t.Fatalf("the encoding of an Author holds a related object: %q", b)
	}
	var out Author
	if err := m.Decode(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Profile != nil || out.Posts != nil || out.ID != 7 || out.Email != "a@x.org" {
		t.Fatalf("decoded %+v", out)
	}
	post := Post{ID: 1, AuthorID: 7, Title: "t", Author: &in, Replies: []Post{*secret}}
	if b, err := (postMapper{}).Encode(nil, &post); err != nil || bytes.Contains(b, []byte("secret")) || bytes.Contains(b, []byte("a@x.org")) {
		t.Fatalf("the encoding of a Post holds a related object: %q, %v", b, err)
	}

	db, store := open(t, "sqlite", dbtest.OpenSQLite)
	rs, err := NewRepos(db, store)
	if err != nil {
		t.Fatal(err)
	}
	a := &Author{Email: "saved@x.org", OrgID: 1, Profile: &Profile{Bio: "secret bio"}, Posts: []*Post{secret}}
	if err := rs.Authors.Save(ctx, a); err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // the fill, then the hit
		got, err := rs.Authors.GetByID(ctx, a.ID)
		if err != nil || got.Profile != nil || got.Posts != nil {
			t.Fatalf("read %d: %+v, %v", i, got, err)
		}
	}
	if s := rs.Authors.Stats(); s.Hits != 1 || s.Fills != 1 {
		t.Fatalf("stats %+v: want one fill and one hit", s)
	}
}
