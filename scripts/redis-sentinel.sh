#!/usr/bin/env bash
# redis-sentinel.sh start|stop|status
#
# A local Redis primary, one replica and three Sentinels for cachegen's
# failover tests, on 127.0.0.1 ports of their own: primary 7100, replica
# 7101, Sentinels 27100-27102 (master name "cachegen"), run from the
# machine's redis-server. Persistence is on (RDB save points and AOF), so a
# restart comes back from the node's own snapshot. Each process is
# daemonized with its own directory, log and pid file under the state dir
# (CACHEGEN_REDIS_SENTINEL_DIR, default /tmp/cachegen-redis-sentinel). It
# never touches a server it did not start, nor the shared Redis on 6379.
#
#   start   starts the five processes (a node or Sentinel that is not running
#           starts from an empty directory, whatever a previous run left
#           there; one that runs is kept) and waits (20 s at most) until
#           every Sentinel names the same master and knows the replica and
#           the other Sentinels, and the other node replicates from that
#           master (after a failover the roles stay swapped). Idempotent.
#   stop    shuts them down and removes the state dir.
#   status  exits 0 only if start would find the deployment healthy.
#
# Then: CACHEGEN_REDIS_SENTINEL=127.0.0.1:27100,127.0.0.1:27101,127.0.0.1:27102
# (master name cachegen).
set -euo pipefail

readonly HOST=127.0.0.1
readonly PRIMARY=7100
readonly REPLICA=7101
readonly SENTINELS=(27100 27101 27102)
readonly NAME=cachegen
readonly STATE_DIR=${CACHEGEN_REDIS_SENTINEL_DIR:-/tmp/cachegen-redis-sentinel}
readonly WAIT_SECONDS=20

die() {
	echo "redis-sentinel: $*" >&2
	exit 1
}
say() { echo "redis-sentinel: $*"; }

command -v redis-server >/dev/null 2>&1 || die "redis-server not found in PATH"
command -v redis-cli >/dev/null 2>&1 || die "redis-cli not found in PATH"

cli() {
	local port=$1
	shift
	timeout 5 redis-cli -h "$HOST" -p "$port" "$@"
}

responds() { [[ $(cli "$1" ping 2>/dev/null) == PONG ]]; }

# ours PORT: the process on PORT runs in our directory for it.
ours() {
	local dir
	dir=$(cli "$1" config get dir 2>/dev/null | sed -n 2p) || return 1
	[[ $dir == "$STATE_DIR/$1" ]]
}

start_node() { # PORT [replicaof args...]
	local port=$1 dir="$STATE_DIR/$1"
	shift
	if responds "$port"; then
		ours "$port" || die "port $port is taken by a Redis this script did not start"
		return
	fi
	# not running: whatever a previous run left in its directory (data, a
	# half-written AOF, a pid file) goes, so it starts empty
	rm -rf "$dir"
	mkdir -p "$dir"
	redis-server --port "$port" --bind "$HOST" --dir "$dir" --daemonize yes \
		--pidfile "$dir/redis.pid" --logfile "$dir/redis.log" \
		--save "60 1" --appendonly yes --repl-diskless-sync-delay 0 "$@"
}

start_sentinel() { # PORT
	local port=$1 dir="$STATE_DIR/$1"
	if responds "$port"; then
		# a Sentinel has no CONFIG GET: ours if our pid file names it
		[[ -f $dir/sentinel.pid ]] && kill -0 "$(cat "$dir/sentinel.pid")" 2>/dev/null ||
			die "port $port is taken by a process this script did not start"
		return
	fi
	rm -rf "$dir"
	mkdir -p "$dir"
	cat >"$dir/sentinel.conf" <<EOF
port $port
bind $HOST
dir $dir
daemonize yes
pidfile $dir/sentinel.pid
logfile $dir/sentinel.log
sentinel monitor $NAME $HOST $PRIMARY 2
sentinel down-after-milliseconds $NAME 1000
sentinel failover-timeout $NAME 5000
sentinel parallel-syncs $NAME 1
EOF
	redis-server "$dir/sentinel.conf" --sentinel
}

# field PORT NAME: the value of NAME in the Sentinel's SENTINEL MASTER reply.
field() {
	cli "$1" sentinel master "$NAME" 2>/dev/null | tr -d '\r' | sed -n "/^$2\$/{n;p;q}"
}

master="" # set by healthy: the address every Sentinel names

# healthy: both nodes answer, every Sentinel names the same master, knows
# the replica and the two other Sentinels, and the node that is not the
# master (after a failover, 7100) replicates from it with its link up.
healthy() {
	responds "$PRIMARY" && responds "$REPLICA" || return 1
	local s m
	master=""
	for s in "${SENTINELS[@]}"; do
		m=$(cli "$s" sentinel get-master-addr-by-name "$NAME" 2>/dev/null | tr -d '\r' | paste -sd:) || return 1
		[[ -n $m && ( -z $master || $m == "$master" ) ]] || return 1
		master=$m
		[[ $(field "$s" num-slaves) -ge 1 && $(field "$s" num-other-sentinels) -eq 2 ]] || return 1
	done
	local other=$REPLICA
	[[ $master == "$HOST:$REPLICA" ]] && other=$PRIMARY
	[[ $master == "$HOST:$PRIMARY" || $master == "$HOST:$REPLICA" ]] || return 1
	[[ $(cli "$other" info replication | tr -d '\r' | sed -n 's/^master_link_status://p') == up ]]
}

case ${1:-} in
start)
	mkdir -p "$STATE_DIR"
	start_node "$PRIMARY"
	start_node "$REPLICA" --replicaof "$HOST" "$PRIMARY"
	for s in "${SENTINELS[@]}"; do start_sentinel "$s"; done
	for _ in $(seq $((WAIT_SECONDS * 10))); do
		if healthy; then
			say "up: master $master (of $HOST:$PRIMARY and $HOST:$REPLICA), sentinels ${SENTINELS[*]} (master name $NAME)"
			exit 0
		fi
		sleep 0.1
	done
	die "not healthy after ${WAIT_SECONDS}s; logs under $STATE_DIR"
	;;
stop)
	for port in "${SENTINELS[@]}"; do
		pidfile="$STATE_DIR/$port/sentinel.pid"
		if [[ -f $pidfile ]]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
	done
	for port in "$REPLICA" "$PRIMARY"; do
		if responds "$port" && ours "$port"; then
			cli "$port" shutdown nosave >/dev/null 2>&1 || true
		fi
	done
	rm -rf "$STATE_DIR"
	say "stopped"
	;;
status)
	healthy && say "healthy: master $master" || die "not healthy"
	;;
*)
	die "usage: $0 start|stop|status"
	;;
esac
