#!/usr/bin/env bash
# mariadb-binlog.sh start|stop|status
#
# A MariaDB 10.11 of its own for cachegen's change-data-capture tests, on
# 127.0.0.1 port 3307 with its own socket, with the binary log on in ROW
# format with full row images and full row metadata (column names in every
# table map), server_id 3307 and MariaDB GTIDs (domain 0, strict mode). The
# machine's server on 3306 runs with log_bin off and is never touched. It is
# made with the machine's mariadb-install-db and mariadbd: user root with no
# password over TCP from 127.0.0.1, a database "test", InnoDB and the
# binlog flushed lazily (a test server: a crash of the machine may lose
# it), data, binlogs, socket, log and pid under the state dir
# (CACHEGEN_MARIADB_BINLOG_DIR, default /tmp/cachegen-mariadb-binlog). Run
# as root, the server runs as user mysql.
#
#   start   installs the data directory and starts the server, then waits
#           (30 s at most) until it answers with the binlog settings above.
#           A no-op if ours already runs and is healthy; if ours runs
#           unhealthy, it is recreated. It never touches a server it did
#           not start.
#   stop    shuts the server down and removes the state dir.
#   status  exits 0 only if start would find the server healthy.
#
# Then: CACHEGEN_MYSQL_CDC_DSN=root@tcp(127.0.0.1:3307)/test
set -euo pipefail

readonly HOST=127.0.0.1
readonly PORT=3307
readonly STATE_DIR=${CACHEGEN_MARIADB_BINLOG_DIR:-/tmp/cachegen-mariadb-binlog}
readonly DATA="$STATE_DIR/data"
readonly SOCKET="$STATE_DIR/mysqld.sock"
readonly WAIT_SECONDS=30
readonly DSN="root@tcp($HOST:$PORT)/test"

die() {
	echo "mariadb-binlog: $*" >&2
	exit 1
}
say() { echo "mariadb-binlog: $*"; }

need() {
	command -v "$1" >/dev/null 2>&1 || die "$1 not found in PATH (install mariadb-server)"
}

# sql QUERY: one value from our server over TCP, bounded so a stuck
# listener cannot hang the script.
sql() {
	timeout 5 mariadb --no-defaults -h "$HOST" -P "$PORT" -uroot -N -B -e "$1" 2>/dev/null
}

# sock_sql QUERY: as root over our socket (the only way in before the TCP
# account exists).
sock_sql() {
	timeout 5 mariadb --no-defaults -S "$SOCKET" -uroot -N -B -e "$1"
}

listening() {
	(exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
}

# ours: the server on PORT runs from our data directory.
ours() {
	local dir
	dir=$(sql "SELECT @@datadir") || return 1
	[[ -n $dir && -d $DATA && $(realpath "$dir" 2>/dev/null) == $(realpath "$DATA") ]]
}

healthy() {
	ours &&
		[[ $(sql "SELECT CONCAT_WS(' ', IF(@@log_bin, 'ON', 'OFF'), @@binlog_format, @@binlog_row_image, @@binlog_row_metadata)") == "ON ROW FULL FULL" ]] &&
		[[ $(sql "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = 'test'") == 1 ]]
}

wait_for() {
	local deadline=$((SECONDS + WAIT_SECONDS))
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

socket_up() { sock_sql "SELECT 1" >/dev/null 2>&1; }

do_start() {
	need mariadb-install-db
	need mariadbd
	need mariadb
	need timeout
	need realpath
	if healthy; then
		say "already running and healthy on port $PORT (state in $STATE_DIR): CACHEGEN_MYSQL_CDC_DSN=$DSN"
		return 0
	fi
	if listening; then
		ours || die "port $PORT is in use by something this script did not start (not a server in $DATA); free it or stop that server"
		say "our server on port $PORT runs but is not healthy: recreating it"
		do_stop
	fi
	rm -rf "$STATE_DIR"
	mkdir -p "$STATE_DIR/binlog"
	local user=()
	if [[ $(id -u) == 0 ]]; then
		chown -R mysql: "$STATE_DIR"
		user=(--user=mysql)
	fi
	mariadb-install-db --no-defaults "${user[@]}" --datadir="$DATA" \
		--auth-root-authentication-method=normal --skip-test-db \
		>"$STATE_DIR/install.log" 2>&1 ||
		die "mariadb-install-db failed: $(tail -n 5 "$STATE_DIR/install.log")"
	# setsid: the server outlives this script and the shell that ran it.
	setsid mariadbd --no-defaults "${user[@]}" \
		--datadir="$DATA" \
		--port="$PORT" \
		--bind-address="$HOST" \
		--socket="$SOCKET" \
		--pid-file="$STATE_DIR/mariadbd.pid" \
		--log-error="$STATE_DIR/mariadbd.log" \
		--log-bin="$STATE_DIR/binlog/mariadb-bin" \
		--binlog-format=ROW \
		--binlog-row-image=FULL \
		--binlog-row-metadata=FULL \
		--server-id="$PORT" \
		--gtid-domain-id=0 \
		--gtid-strict-mode=ON \
		--binlog-expire-logs-seconds=86400 \
		--innodb-buffer-pool-size=64M \
		--innodb-flush-log-at-trx-commit=2 \
		--sync-binlog=0 \
		--skip-name-resolve \
		</dev/null >>"$STATE_DIR/mariadbd.log" 2>&1 &
	wait_for socket_up || die "mariadbd did not come up within ${WAIT_SECONDS}s; log: $(tail -n 5 "$STATE_DIR/mariadbd.log" 2>/dev/null)"
	# skip-name-resolve: a TCP client from 127.0.0.1 is root@127.0.0.1, an
	# account of its own, as on the machine's server.
	sock_sql "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
		GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
		CREATE DATABASE IF NOT EXISTS test;" || die "creating the TCP account and database test failed"
	wait_for healthy || die "the server started but is not healthy: $(sql "SELECT CONCAT_WS(' ', @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata)")"
	say "up on port $PORT: CACHEGEN_MYSQL_CDC_DSN=$DSN"
}

do_stop() {
	need mariadb
	need timeout
	need realpath
	local pid
	pid=$(cat "$STATE_DIR/mariadbd.pid" 2>/dev/null || true)
	if listening; then
		ours || die "the server on port $PORT was not started by this script (its datadir is not $DATA); not stopping it"
		sql "SHUTDOWN" >/dev/null 2>&1 || true
	fi
	if ! wait_for eval "! listening"; then
		if [[ -n $pid ]] && grep -q mariadbd "/proc/$pid/cmdline" 2>/dev/null; then
			kill "$pid" || true
			wait_for eval "! kill -0 $pid 2>/dev/null" || die "mariadbd pid $pid on port $PORT does not stop"
		else
			die "port $PORT still in use after SHUTDOWN"
		fi
	fi
	# the port closes before the process ends: wait for our pid too, so the
	# next start does not find the data directory locked.
	if [[ -n $pid ]] && grep -q mariadbd "/proc/$pid/cmdline" 2>/dev/null; then
		wait_for eval "! kill -0 $pid 2>/dev/null" || die "mariadbd pid $pid does not exit"
	fi
	rm -rf "$STATE_DIR"
	say "stopped; removed $STATE_DIR"
}

do_status() {
	need mariadb
	need timeout
	need realpath
	if ! listening; then
		say "$HOST:$PORT not running"
	elif ! ours; then
		say "$HOST:$PORT a server not started by this script"
	else
		say "$HOST:$PORT ours, log_bin binlog_format binlog_row_image binlog_row_metadata: $(sql "SELECT CONCAT_WS(' ', @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata)"), gtid_binlog_pos=$(sql "SELECT @@gtid_binlog_pos")"
	fi
	if healthy; then
		say "healthy: CACHEGEN_MYSQL_CDC_DSN=$DSN"
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
