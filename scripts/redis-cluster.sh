#!/usr/bin/env bash
# redis-cluster.sh start|stop|status
#
# A local 3-master Redis Cluster for cachegen's integration tests, on
# 127.0.0.1 ports 7000, 7001 and 7002, run from the machine's redis-server:
# no replicas, no persistence (save "", appendonly no), each node daemonized
# with its own directory, nodes.conf, log and pid file under the state dir
# (CACHEGEN_REDIS_CLUSTER_DIR, default /tmp/cachegen-redis-cluster).
#
#   start   starts the nodes and creates the cluster, then waits (20 s at
#           most) for cluster_state:ok. A no-op if the cluster is already up
#           and healthy; if our nodes run but the cluster is broken, it stops
#           them and starts afresh. It never touches a server it did not start.
#   stop    shuts the nodes down and removes the state dir.
#   status  prints each node's state; exits 0 only if the cluster is healthy.
#
# Then: CACHEGEN_REDIS_CLUSTER=127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002
set -euo pipefail

readonly HOST=127.0.0.1
readonly PORTS=(7000 7001 7002)
readonly STATE_DIR=${CACHEGEN_REDIS_CLUSTER_DIR:-/tmp/cachegen-redis-cluster}
readonly WAIT_SECONDS=20

die() {
	echo "redis-cluster: $*" >&2
	exit 1
}
say() { echo "redis-cluster: $*"; }

need() {
	command -v "$1" >/dev/null 2>&1 || die "$1 not found in PATH (install redis-server / redis-tools)"
}

# cli PORT ARGS...: redis-cli on one node, bounded so a stuck or foreign
# listener cannot hang the script.
cli() {
	local port=$1
	shift
	timeout 5 redis-cli -h "$HOST" -p "$port" "$@"
}

# listening PORT: something accepts connections on the port.
listening() {
	(exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

# responds PORT: a Redis server answers PING on the port.
responds() {
	[[ $(cli "$1" ping 2>/dev/null) == PONG ]]
}

# node_dir PORT: the directory of our node on PORT.
node_dir() { echo "$STATE_DIR/$1"; }

# ours PORT: the Redis on PORT runs in our node's directory, so it is one
# this script started.
ours() {
	local port=$1 dir want
	dir=$(cli "$port" config get dir 2>/dev/null | sed -n 2p) || return 1
	[[ -n $dir && -d $(node_dir "$port") ]] || return 1
	want=$(realpath "$(node_dir "$port")")
	[[ $(realpath "$dir" 2>/dev/null) == "$want" ]]
}

# info_field PORT FIELD: a field of CLUSTER INFO.
info_field() {
	cli "$1" cluster info 2>/dev/null | tr -d '\r' | sed -n "s/^$2://p"
}

# node_healthy PORT: our node, in a cluster that is ok, covers every slot and
# knows all the nodes.
node_healthy() {
	local port=$1
	responds "$port" && ours "$port" &&
		[[ $(info_field "$port" cluster_state) == ok ]] &&
		[[ $(info_field "$port" cluster_slots_ok) == 16384 ]] &&
		[[ $(info_field "$port" cluster_known_nodes) == "${#PORTS[@]}" ]]
}

healthy() {
	local port
	for port in "${PORTS[@]}"; do
		node_healthy "$port" || return 1
	done
}

# check_ports: every port is free or held by one of our nodes; anything else
# is a server we must not touch.
check_ports() {
	local port
	for port in "${PORTS[@]}"; do
		if listening "$port" && ! { responds "$port" && ours "$port"; }; then
			die "port $port is in use by something this script did not start (not a node under $STATE_DIR); free it or stop that server"
		fi
	done
}

start_node() {
	local port=$1 dir
	dir=$(node_dir "$port")
	mkdir -p "$dir"
	redis-server \
		--port "$port" \
		--bind "$HOST" \
		--dir "$dir" \
		--cluster-enabled yes \
		--cluster-config-file "$dir/nodes.conf" \
		--cluster-node-timeout 5000 \
		--save "" \
		--appendonly no \
		--daemonize yes \
		--pidfile "$dir/redis.pid" \
		--logfile "$dir/redis.log" ||
		die "redis-server on port $port failed to start; see $dir/redis.log"
}

# wait_for DESCRIPTION COMMAND...: runs COMMAND until it succeeds, for
# WAIT_SECONDS at most.
wait_for() {
	local what=$1 deadline=$((SECONDS + WAIT_SECONDS))
	shift
	until "$@"; do
		((SECONDS < deadline)) || return 1
		sleep 0.2
	done
}

node_up() { responds "$1" && ours "$1"; }

do_start() {
	need redis-server
	need redis-cli
	need timeout
	need realpath
	if healthy; then
		say "already running and healthy on ports ${PORTS[*]} (state in $STATE_DIR)"
		return 0
	fi
	check_ports
	local port running=()
	for port in "${PORTS[@]}"; do
		if listening "$port"; then running+=("$port"); fi
	done
	if ((${#running[@]} > 0)); then
		say "nodes on ports ${running[*]} run but the cluster is not healthy: recreating it"
		do_stop
	fi
	rm -rf "$STATE_DIR"
	mkdir -p "$STATE_DIR"
	for port in "${PORTS[@]}"; do
		start_node "$port"
	done
	for port in "${PORTS[@]}"; do
		wait_for "node $port" node_up "$port" ||
			die "node on port $port did not come up within ${WAIT_SECONDS}s; log: $(node_dir "$port")/redis.log: $(tail -n 5 "$(node_dir "$port")/redis.log" 2>/dev/null)"
	done
	local addrs=()
	for port in "${PORTS[@]}"; do addrs+=("$HOST:$port"); done
	local out
	if ! out=$(timeout 60 redis-cli --cluster create "${addrs[@]}" --cluster-replicas 0 --cluster-yes 2>&1); then
		echo "$out" >&2
		die "redis-cli --cluster create failed"
	fi
	if ! wait_for "cluster_state:ok" healthy; then
		do_status >&2 || true
		die "the cluster did not reach cluster_state:ok within ${WAIT_SECONDS}s"
	fi
	say "cluster up: CACHEGEN_REDIS_CLUSTER=$(
		IFS=,
		echo "${addrs[*]}"
	)"
}

stop_node() {
	local port=$1 dir pid
	dir=$(node_dir "$port")
	if responds "$port"; then
		ours "$port" || die "the Redis on port $port was not started by this script (its dir is not $dir); not stopping it"
		# SHUTDOWN closes the connection, so redis-cli reports an error
		cli "$port" shutdown nosave >/dev/null 2>&1 || true
	fi
	if ! wait_for "port $port closed" eval "! listening $port"; then
		pid=$(cat "$dir/redis.pid" 2>/dev/null || true)
		if [[ -n $pid ]] && grep -q "redis-server" "/proc/$pid/cmdline" 2>/dev/null; then
			kill "$pid" || true
			wait_for "pid $pid gone" eval "! kill -0 $pid 2>/dev/null" ||
				die "redis-server pid $pid on port $port does not stop"
		else
			die "port $port still in use after SHUTDOWN"
		fi
	fi
}

do_stop() {
	need redis-cli
	need timeout
	need realpath
	local port
	for port in "${PORTS[@]}"; do
		stop_node "$port"
	done
	rm -rf "$STATE_DIR"
	say "stopped; removed $STATE_DIR"
}

do_status() {
	need redis-cli
	need timeout
	need realpath
	local port state
	for port in "${PORTS[@]}"; do
		if ! listening "$port"; then
			state="not running"
		elif ! responds "$port"; then
			state="port in use, no Redis answers"
		elif ! ours "$port"; then
			state="a Redis not started by this script"
		else
			state="cluster_state:$(info_field "$port" cluster_state) slots_ok:$(info_field "$port" cluster_slots_ok) known_nodes:$(info_field "$port" cluster_known_nodes)"
		fi
		say "$HOST:$port $state"
	done
	if healthy; then
		say "healthy"
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
