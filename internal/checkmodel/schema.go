package checkmodel

// The schema of each dialect: the accounts table (with the nickname column
// only package v2 maps), and account_log, which triggers fill in the
// writing transaction with every row a write leaves (deleted = true: the
// row as it was before a delete). Writes to one row
// hold its row lock until they commit, and a write that takes a unique
// value waits for the transaction that released it, so the log's seq
// orders the writes of each row, and of each unique value, as they
// committed. SQLite's no-op UPDATE (the runtime's way to take the write
// lock) leaves the version unchanged and is not logged. The sessions table
// stays empty: the checker builds sessions in memory to call loaders.

// SQLiteSchema creates the tables and triggers on SQLite.
const SQLiteSchema = `
CREATE TABLE accounts (
	id      INTEGER PRIMARY KEY,
	email   TEXT    NOT NULL UNIQUE,
	org     INTEGER NOT NULL,
	handle  TEXT    NOT NULL,
	version INTEGER NOT NULL,
	nickname TEXT,
	UNIQUE (org, handle)
);
CREATE TABLE account_log (
	seq     INTEGER PRIMARY KEY AUTOINCREMENT,
	id      INTEGER NOT NULL,
	version INTEGER NOT NULL,
	email   TEXT    NOT NULL,
	org     INTEGER NOT NULL,
	handle  TEXT    NOT NULL,
	nickname TEXT,
	deleted INTEGER NOT NULL
);
CREATE TABLE sessions (
	id         INTEGER PRIMARY KEY,
	account_id INTEGER NOT NULL
);
CREATE TRIGGER account_log_insert AFTER INSERT ON accounts BEGIN
	INSERT INTO account_log (id, version, email, org, handle, nickname, deleted) VALUES (NEW.id, NEW.version, NEW.email, NEW.org, NEW.handle, NEW.nickname, 0);
END;
CREATE TRIGGER account_log_update AFTER UPDATE ON accounts WHEN NEW.version <> OLD.version BEGIN
	INSERT INTO account_log (id, version, email, org, handle, nickname, deleted) VALUES (NEW.id, NEW.version, NEW.email, NEW.org, NEW.handle, NEW.nickname, 0);
END;
CREATE TRIGGER account_log_delete AFTER DELETE ON accounts BEGIN
	INSERT INTO account_log (id, version, email, org, handle, nickname, deleted) VALUES (OLD.id, OLD.version, OLD.email, OLD.org, OLD.handle, OLD.nickname, 1);
END;
`

// PostgresSchema creates the tables, the trigger function and the trigger
// on PostgreSQL, in the first schema of the search path.
const PostgresSchema = `
CREATE TABLE accounts (
	id      BIGINT PRIMARY KEY,
	email   TEXT   NOT NULL UNIQUE,
	org     BIGINT NOT NULL,
	handle  TEXT   NOT NULL,
	version BIGINT NOT NULL,
	nickname TEXT,
	UNIQUE (org, handle)
);
CREATE TABLE account_log (
	seq     BIGSERIAL PRIMARY KEY,
	id      BIGINT  NOT NULL,
	version BIGINT  NOT NULL,
	email   TEXT    NOT NULL,
	org     BIGINT  NOT NULL,
	handle  TEXT    NOT NULL,
	nickname TEXT,
	deleted BOOLEAN NOT NULL
);
CREATE TABLE sessions (
	id         BIGINT PRIMARY KEY,
	account_id BIGINT NOT NULL
);
CREATE FUNCTION account_log_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		INSERT INTO account_log (id, version, email, org, handle, nickname, deleted) VALUES (OLD.id, OLD.version, OLD.email, OLD.org, OLD.handle, OLD.nickname, true);
		RETURN OLD;
	END IF;
	IF TG_OP = 'UPDATE' AND NEW.version = OLD.version THEN
		RETURN NEW;
	END IF;
	INSERT INTO account_log (id, version, email, org, handle, nickname, deleted) VALUES (NEW.id, NEW.version, NEW.email, NEW.org, NEW.handle, NEW.nickname, false);
	RETURN NEW;
END
$$;
CREATE TRIGGER account_log_row AFTER INSERT OR UPDATE OR DELETE ON accounts
	FOR EACH ROW EXECUTE FUNCTION account_log_row();
`

// MySQLSchema creates the tables and triggers on MySQL and MariaDB, one
// statement per element.
var MySQLSchema = []string{`
CREATE TABLE accounts (
	id      BIGINT       NOT NULL PRIMARY KEY,
	email   VARCHAR(191) NOT NULL UNIQUE,
	org     BIGINT       NOT NULL,
	handle  VARCHAR(191) NOT NULL,
	version BIGINT       NOT NULL,
	nickname VARCHAR(191) NULL,
	UNIQUE (org, handle)
) ENGINE=InnoDB`, `
CREATE TABLE account_log (
	seq     BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
	id      BIGINT       NOT NULL,
	version BIGINT       NOT NULL,
	email   VARCHAR(191) NOT NULL,
	org     BIGINT       NOT NULL,
	handle  VARCHAR(191) NOT NULL,
	nickname VARCHAR(191) NULL,
	deleted BOOLEAN      NOT NULL
) ENGINE=InnoDB`, `
CREATE TABLE sessions (
	id         BIGINT NOT NULL PRIMARY KEY,
	account_id BIGINT NOT NULL
) ENGINE=InnoDB`, `
CREATE TRIGGER account_log_insert AFTER INSERT ON accounts FOR EACH ROW
	INSERT INTO account_log (id, version, email, org, handle, nickname, deleted) VALUES (NEW.id, NEW.version, NEW.email, NEW.org, NEW.handle, NEW.nickname, false)`, `
CREATE TRIGGER account_log_update AFTER UPDATE ON accounts FOR EACH ROW
	INSERT INTO account_log (id, version, email, org, handle, nickname, deleted)
	SELECT NEW.id, NEW.version, NEW.email, NEW.org, NEW.handle, NEW.nickname, false FROM DUAL WHERE NEW.version <> OLD.version`, `
CREATE TRIGGER account_log_delete AFTER DELETE ON accounts FOR EACH ROW
	INSERT INTO account_log (id, version, email, org, handle, nickname, deleted) VALUES (OLD.id, OLD.version, OLD.email, OLD.org, OLD.handle, OLD.nickname, true)`,
}
