// Package models holds the blog example's models; models_cachegen.go beside
// this file is generated from their tags.
package models

import "time"

//go:generate go run github.com/cachegen/cachegen/cmd/cachegen

// User is a member of an organisation. Email is unique; so is the handle
// within an organisation. Posts is a related list: never stored in a user's
// cached copy, and never cached as a list (it is open-ended).
//
//cachegen:table users ttl=10m
type User struct {
	ID     int64   `db:"id"     cache:"pk"`
	Email  string  `db:"email"  cache:"unique"`
	OrgID  int64   `db:"org_id" cache:"unique_together=org_handle"`
	Handle string  `db:"handle" cache:"unique_together=org_handle"`
	Name   string  `db:"name"`
	Posts  []*Post `db:"-"`
}

// Post is written by a User: the fk gives PostRepo LoadAuthor and
// LoadAuthors, which read users through UserRepo and its cache. Author is a
// related object: it is never stored in a post's cached copy.
//
//cachegen:table posts
type Post struct {
	ID          int64      `db:"id"           cache:"pk"`
	AuthorID    int64      `db:"author_id"    cache:"fk=User"`
	Slug        string     `db:"slug"         cache:"unique"`
	Title       string     `db:"title"`
	Body        string     `db:"body"`
	PublishedAt *time.Time `db:"published_at"`
	Author      *User      `db:"-"`
}

// SQLiteSchema creates the example's tables on SQLite.
const SQLiteSchema = `
CREATE TABLE IF NOT EXISTS users (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	email  TEXT    NOT NULL UNIQUE,
	org_id INTEGER NOT NULL,
	handle TEXT    NOT NULL,
	name   TEXT    NOT NULL,
	UNIQUE (org_id, handle)
);
CREATE TABLE IF NOT EXISTS posts (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	author_id    INTEGER NOT NULL REFERENCES users (id),
	slug         TEXT    NOT NULL UNIQUE,
	title        TEXT    NOT NULL,
	body         TEXT    NOT NULL,
	published_at DATETIME
);
`

// PostgresSchema creates the example's tables on PostgreSQL.
const PostgresSchema = `
CREATE TABLE IF NOT EXISTS users (
	id     BIGSERIAL PRIMARY KEY,
	email  TEXT   NOT NULL UNIQUE,
	org_id BIGINT NOT NULL,
	handle TEXT   NOT NULL,
	name   TEXT   NOT NULL,
	UNIQUE (org_id, handle)
);
CREATE TABLE IF NOT EXISTS posts (
	id           BIGSERIAL PRIMARY KEY,
	author_id    BIGINT NOT NULL REFERENCES users (id),
	slug         TEXT   NOT NULL UNIQUE,
	title        TEXT   NOT NULL,
	body         TEXT   NOT NULL,
	published_at TIMESTAMPTZ
);
`

// MySQLSchema creates the example's tables on MySQL and MariaDB, one
// statement per element.
var MySQLSchema = []string{`
CREATE TABLE IF NOT EXISTS users (
	id     BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
	email  VARCHAR(255) NOT NULL UNIQUE,
	org_id BIGINT       NOT NULL,
	handle VARCHAR(255) NOT NULL,
	name   VARCHAR(255) NOT NULL,
	UNIQUE (org_id, handle)
)`, `
CREATE TABLE IF NOT EXISTS posts (
	id           BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
	author_id    BIGINT       NOT NULL,
	slug         VARCHAR(255) NOT NULL UNIQUE,
	title        VARCHAR(255) NOT NULL,
	body         TEXT         NOT NULL,
	published_at DATETIME(6)  NULL,
	FOREIGN KEY (author_id) REFERENCES users (id)
)`}
