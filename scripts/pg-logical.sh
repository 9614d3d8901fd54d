#!/usr/bin/env bash
# pg-logical.sh start|stop|status
#
# A PostgreSQL 15 cluster of its own for cachegen's change-data-capture
# tests, on 127.0.0.1 port 5433, with wal_level=logical (the machine's
# server on 5432 runs with wal_level=replica, and is never touched). It is
# made with the machine's /usr/lib/postgresql/15/bin (initdb, pg_ctl): trust
# authentication for user postgres, a database "test", fsync off (a test
# server: a crash of the machine may lose it), its socket, data, log and pid
# under the state dir (CACHEGEN_PG_LOGICAL_DIR, default
# /tmp/cachegen-pg-logical). Run as root, the server runs as user postgres.
#
#   start   initdb and start the cluster, then wait (30 s at most) until it
#           answers with wal_level=logical. A no-op if ours already runs
#           and is healthy; if ours runs unhealthy, it is recreated. It
#           never touches a server it did not start.
#   stop    stops the cluster and removes the state dir.
#   status  exits 0 only if start would find the cluster healthy.
#
# Then: CACHEGEN_PG_CDC_DSN=postgres://postgres@127.0.0.1:5433/test?sslmode=disable
set -euo pipefail

readonly HOST=127.0.0.1
readonly PORT=5433
readonly BIN=${CACHEGEN_PG_BIN:-/usr/lib/postgresql/15/bin}
readonly STATE_DIR=${CACHEGEN_PG_LOGICAL_DIR:-/tmp/cachegen-pg-logical}
readonly DATA="$STATE_DIR/data"
readonly WAIT_SECONDS=30
readonly DSN="postgres://postgres@$HOST:$PORT/test?sslmode=disable"

die() {
	echo "pg-logical: $*" >&2
	exit 1
}
say() { echo "pg-logical: $*"; }

need() {
	[[ -x $BIN/$1 ]] || die "$BIN/$1 not found (install postgresql-15, or set CACHEGEN_PG_BIN)"
}

# as_pg CMD...: runs a server command as user postgres when we are root
# (initdb and postgres refuse to run as root).
as_pg() {
	if [[ $(id -u) == 0 ]]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# sql QUERY: one value from our server, bounded so a stuck listener cannot
# hang the script.
sql() {
	timeout 5 "$BIN/psql" -X -q -At -h "$HOST" -p "$PORT" -U postgres -d postgres -c "$1" 2>/dev/null
}

listening() {
	(exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
}

# ours: the server on PORT runs from our data directory.
ours() {
	local dir
	dir=$(sql "SHOW data_directory") || return 1
	[[ -n $dir && -d $DATA && $(realpath "$dir" 2>/dev/null) == $(realpath "$DATA") ]]
}

healthy() {
	ours && [[ $(sql "SHOW wal_level") == logical ]] &&
		[[ $(sql "SELECT 1 FROM pg_database WHERE datname = 'test'") == 1 ]]
}

wait_for() {
	local deadline=$((SECONDS + WAIT_SECONDS))
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

do_start() {
	need initdb
	need pg_ctl
	need psql
	if healthy; then
		say "already running and healthy on port $PORT (state in $STATE_DIR): CACHEGEN_PG_CDC_DSN=$DSN"
		return 0
	fi
	if listening; then
		ours || die "port $PORT is in use by something this script did not start (not a cluster in $DATA); free it or stop that server"
		say "our cluster on port $PORT runs but is not healthy: recreating it"
		do_stop
	fi
	rm -rf "$STATE_DIR"
	mkdir -p "$STATE_DIR"
	[[ $(id -u) != 0 ]] || chown postgres: "$STATE_DIR"
	as_pg "$BIN/initdb" -D "$DATA" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$STATE_DIR/initdb.log" 2>&1 ||
		die "initdb failed: $(tail -n 5 "$STATE_DIR/initdb.log")"
	# max_replication_slots and max_wal_senders leave room for several
	# consumers and tests at once; a slot the tests forget holds WAL, so
	# max_slot_wal_keep_size bounds what it can hold.
	as_pg "$BIN/pg_ctl" -D "$DATA" -l "$STATE_DIR/postgres.log" -w -t "$WAIT_SECONDS" start -o "\
		-c port=$PORT \
		-c listen_addresses=$HOST \
		-c unix_socket_directories=$STATE_DIR \
		-c wal_level=logical \
		-c max_replication_slots=20 \
		-c max_wal_senders=20 \
		-c max_slot_wal_keep_size=1GB \
		-c wal_sender_timeout=60s \
		-c fsync=off \
		-c full_page_writes=off \
		-c synchronous_commit=off" >/dev/null ||
		die "postgres did not start; log: $(tail -n 5 "$STATE_DIR/postgres.log" 2>/dev/null)"
	wait_for ours || die "the server on port $PORT does not answer within ${WAIT_SECONDS}s"
	sql "CREATE DATABASE test" >/dev/null || die "CREATE DATABASE test failed"
	healthy || die "the cluster started but is not healthy (wal_level=$(sql "SHOW wal_level"))"
	say "up on port $PORT: CACHEGEN_PG_CDC_DSN=$DSN"
}

do_stop() {
	need pg_ctl
	need psql
	if listening; then
		ours || die "the server on port $PORT was not started by this script (its data directory is not $DATA); not stopping it"
		as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w -t "$WAIT_SECONDS" stop >/dev/null ||
			die "pg_ctl stop failed; log: $STATE_DIR/postgres.log"
	elif [[ -f $DATA/postmaster.pid ]]; then
		# not listening but a pid file left: a server of ours that lost its
		# port, or a stale file; pg_ctl knows which.
		as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w -t "$WAIT_SECONDS" stop >/dev/null 2>&1 || true
	fi
	rm -rf "$STATE_DIR"
	say "stopped; removed $STATE_DIR"
}

do_status() {
	need psql
	if ! listening; then
		say "$HOST:$PORT not running"
	elif ! ours; then
		say "$HOST:$PORT a server not started by this script"
	else
		say "$HOST:$PORT ours, wal_level=$(sql "SHOW wal_level") max_replication_slots=$(sql "SHOW max_replication_slots") slots=$(sql "SELECT count(*) FROM pg_replication_slots")"
	fi
	if healthy; then
		say "healthy: CACHEGEN_PG_CDC_DSN=$DSN"
	else
		say "not healthy"
		return 1
	fi
}

case ${1:-} in
start) do_start ;;
stop) do_stop ;;
status) do_status ;;
*)
	echo "usage: $0 start|stop|status" >&2
	exit 2
	;;
esac
