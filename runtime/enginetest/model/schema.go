package model

import "fmt"

// Schema returns the statements that create the model's tables on the
// dialect named ("sqlite", "postgres" or "mysql"), one statement each.
func Schema(dialect string) ([]string, error) {
	switch dialect {
	case "sqlite":
		return sqliteSchema, nil
	case "postgres":
		return postgresSchema, nil
	case "mysql":
		return mysqlSchema, nil
	}
	return nil, fmt.Errorf("model: no schema for dialect %q", dialect)
}

var sqliteSchema = []string{`
CREATE TABLE users (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	email  TEXT    NOT NULL UNIQUE,
	org_id INTEGER NOT NULL,
	handle TEXT    NOT NULL,
	name   TEXT    NOT NULL,
	UNIQUE (org_id, handle)
)`, `
CREATE TABLE posts (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	author_id    INTEGER NOT NULL REFERENCES users (id),
	slug         TEXT    NOT NULL UNIQUE,
	title        TEXT    NOT NULL,
	body         TEXT    NOT NULL,
	published_at DATETIME
)`, `
CREATE TABLE wides (
	id   INTEGER PRIMARY KEY AUTOINCREMENT,
	code TEXT    NOT NULL UNIQUE,
	c1 INTEGER NOT NULL, c2 INTEGER NOT NULL, c3 INTEGER NOT NULL,
	c4 INTEGER NOT NULL, c5 INTEGER NOT NULL, c6 INTEGER NOT NULL,
	c7 INTEGER NOT NULL, c8 INTEGER NOT NULL, c9 INTEGER NOT NULL
)`}

var postgresSchema = []string{`
CREATE TABLE users (
	id     BIGSERIAL PRIMARY KEY,
	email  TEXT   NOT NULL UNIQUE,
	org_id BIGINT NOT NULL,
	handle TEXT   NOT NULL,
	name   TEXT   NOT NULL,
	UNIQUE (org_id, handle)
)`, `
CREATE TABLE posts (
	id           BIGSERIAL PRIMARY KEY,
	author_id    BIGINT NOT NULL REFERENCES users (id),
	slug         TEXT   NOT NULL UNIQUE,
	title        TEXT   NOT NULL,
	body         TEXT   NOT NULL,
	published_at TIMESTAMPTZ
)`, `
CREATE TABLE wides (
	id   BIGSERIAL PRIMARY KEY,
	code TEXT   NOT NULL UNIQUE,
	c1 BIGINT NOT NULL, c2 BIGINT NOT NULL, c3 BIGINT NOT NULL,
	c4 BIGINT NOT NULL, c5 BIGINT NOT NULL, c6 BIGINT NOT NULL,
	c7 BIGINT NOT NULL, c8 BIGINT NOT NULL, c9 BIGINT NOT NULL
)`}

var mysqlSchema = []string{`
CREATE TABLE users (
	id     BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
	email  VARCHAR(255) NOT NULL UNIQUE,
	org_id BIGINT       NOT NULL,
	handle VARCHAR(255) NOT NULL,
	name   VARCHAR(255) NOT NULL,
	UNIQUE (org_id, handle)
)`, `
CREATE TABLE posts (
	id           BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
	author_id    BIGINT       NOT NULL,
	slug         VARCHAR(255) NOT NULL UNIQUE,
	title        VARCHAR(255) NOT NULL,
	body         TEXT         NOT NULL,
	published_at DATETIME(6)  NULL,
	FOREIGN KEY (author_id) REFERENCES users (id)
)`, `
CREATE TABLE wides (
	id   BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
	code VARCHAR(255) NOT NULL UNIQUE,
	c1 BIGINT NOT NULL, c2 BIGINT NOT NULL, c3 BIGINT NOT NULL,
	c4 BIGINT NOT NULL, c5 BIGINT NOT NULL, c6 BIGINT NOT NULL,
	c7 BIGINT NOT NULL, c8 BIGINT NOT NULL, c9 BIGINT NOT NULL
)`}
