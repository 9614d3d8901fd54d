#!/usr/bin/env bash
# Makes sure the servers the integration suites use answer on this machine:
# PostgreSQL 127.0.0.1:5432, MariaDB 127.0.0.1:3306, Redis 127.0.0.1:6379 and
# memcached 127.0.0.1:11211 (installed with apt-get when missing).
# A server that does not answer is started with the machine's own command;
# one that still does not answer fails the script, loudly: CI must never
# pass by skipping an integration suite.
set -euo pipefail

wait_for() { # name, check command...
	local name=$1
	shift
	for _ in $(seq 1 30); do
		if "$@" >/dev/null 2>&1; then
			echo "services: $name is up"
			return 0
		fi
		sleep 1
	done
	echo "services: $name does not answer (checked with: $*)" >&2
	return 1
}

pg_up() { pg_isready -h 127.0.0.1 -p 5432 -q >/dev/null 2>&1; }
mariadb_up() { mariadb-admin -h 127.0.0.1 -P 3306 -uroot ping >/dev/null 2>&1; }
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
memcached_up() ( # a subshell: a refused connection must not end the script
	exec 2>/dev/null 3<>/dev/tcp/127.0.0.1/11211 || exit 1
	printf 'version\r\n' >&3
	read -r -t 2 reply <&3 && [[ $reply == VERSION* ]]
)

for tool in pg_isready mariadb-admin redis-cli redis-server; do
	command -v "$tool" >/dev/null || { echo "services: $tool is not installed" >&2; exit 1; }
done
if ! command -v memcached >/dev/null; then
	echo "services: installing memcached"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq memcached >/dev/null || { apt-get update -qq && apt-get install -y -qq memcached >/dev/null; }
fi

if ! pg_up; then
	echo "services: starting PostgreSQL"
	pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
fi
if ! mariadb_up; then
	echo "services: starting MariaDB"
	start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd || true
fi
if ! redis_up; then
	echo "services: starting Redis"
	redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
		--dir /var/lib/redis --logfile /var/log/redis/ci.log || true
fi
if ! memcached_up; then
	echo "services: starting memcached"
	as=() # memcached refuses to run as root unless told which user to be
	[ "$(id -u)" != 0 ] || as=(-u root)
	memcached -d "${as[@]}" -l 127.0.0.1 -p 11211 -U 0 -m 64 || true
fi

wait_for PostgreSQL pg_up
wait_for MariaDB mariadb_up
wait_for Redis redis_up
wait_for memcached memcached_up
