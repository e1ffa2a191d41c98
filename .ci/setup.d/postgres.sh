# shellcheck shell=bash
# Sourced by .ci/run (as root on Debian 12): starts a throwaway PostgreSQL
# cluster for the SQL replica connector's tests (broker/extract) and tells
# them where it is. Installs the server from Debian's packages if this
# machine has none. The cluster lives in a temporary folder, listens on
# 127.0.0.1 on a free port, and is not stopped here: it dies with the
# machine (stop it by hand with the pg_ctl line printed below).
#
# It exports
#   FOLKEKOMMUNE_TEST_POSTGRES         the owner of database folkekommune_test,
#                                      who creates the fixtures' schemas and tables;
#   FOLKEKOMMUNE_TEST_POSTGRES_READER  a login that may only read them (SELECT
#                                      granted by default privileges, sessions
#                                      read-only by default), as a replica's
#                                      reporting account would be.
# Both use passwords (scram-sha-256 over TCP) so that the tests can check
# that a password never reaches a message.
#
# Run it locally with:  source .ci/setup.d/postgres.sh
fk_postgres_setup() {
	local bindir dir port pw_owner pw_reader p
	bindir=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1 || true)
	if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
		bindir=$(find /usr/lib/postgresql -maxdepth 2 -name bin -type d | sort -V | tail -n 1)
	fi
	# The server refuses to run as root: run it as the postgres user the
	# Debian package creates.
	local as=()
	if [ "$(id -u)" = 0 ]; then
		as=(runuser -u postgres --)
	fi
	dir=$(mktemp -d /tmp/folkekommune-pg.XXXXXX)
	chmod 755 "$dir"
	if [ "$(id -u)" = 0 ]; then
		chown postgres: "$dir"
	fi
	port=""
	for p in $(seq 55432 55532); do
		# A refused connection means the port is free.
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			port=$p
			break
		fi
	done
	if [ -z "$port" ]; then
		echo "postgres.sh: no free port in 55432-55532" >&2
		return 1
	fi
	pw_owner=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
	pw_reader=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
	"${as[@]}" "$bindir/initdb" -D "$dir/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
		--encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		return 1
	}
	# A test server: durability off, speed on.
	"${as[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
		-o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=100" >/dev/null || {
		cat "$dir/server.log" >&2
		return 1
	}
	"${as[@]}" "$bindir/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
		-v pw_owner="$pw_owner" -v pw_reader="$pw_reader" <<'SQL' || return 1
CREATE ROLE folkekommune_owner LOGIN PASSWORD :'pw_owner';
CREATE ROLE folkekommune_reader LOGIN PASSWORD :'pw_reader';
ALTER ROLE folkekommune_reader SET default_transaction_read_only = on;
CREATE DATABASE folkekommune_test OWNER folkekommune_owner;
\c folkekommune_test
REVOKE ALL ON SCHEMA public FROM PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE folkekommune_owner GRANT USAGE ON SCHEMAS TO folkekommune_reader;
ALTER DEFAULT PRIVILEGES FOR ROLE folkekommune_owner GRANT SELECT ON TABLES TO folkekommune_reader;
SQL
	export FOLKEKOMMUNE_TEST_POSTGRES="postgres://folkekommune_owner:$pw_owner@127.0.0.1:$port/folkekommune_test?sslmode=disable"
	export FOLKEKOMMUNE_TEST_POSTGRES_READER="postgres://folkekommune_reader:$pw_reader@127.0.0.1:$port/folkekommune_test?sslmode=disable"
	echo "postgres.sh: PostgreSQL $("$bindir/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (stop: ${as[*]} $bindir/pg_ctl -D $dir/data stop)"
}
fk_postgres_setup
unset -f fk_postgres_setup
