#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for the test suite (issue 12). Prints its URL:
#
#   export MARAC_TEST_DATABASE_URL=$(bash scripts/postgres_test_server.sh)
#   bash scripts/test.sh            # the whole suite, on PostgreSQL
#   bash scripts/postgres_test_server.sh stop "$MARAC_TEST_DATABASE_URL"
#
# initdb into a new temp folder, a free port on 127.0.0.1, no unix socket, trust authentication
# for that loopback address only, fsync off (a throwaway: speed over durability). Needs the server
# binaries (Debian: apt-get install postgresql; found in /usr/lib/postgresql/<version>/bin or PATH).
# Run as root, the server runs as the `postgres` user (or `nobody` when there is none).
# The data folder is named after the port (${TMPDIR:-/tmp}/marac-pg.<port>), so `stop URL` finds it.
set -euo pipefail

bindir() {
  if command -v initdb >/dev/null 2>&1; then dirname "$(command -v initdb)"; return; fi
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] || { echo "postgres_test_server.sh: PostgreSQL server binaries not found" >&2; exit 1; }
  echo "$d"
}
BIN=$(bindir)

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    local owner=postgres
    id -u postgres >/dev/null 2>&1 || owner=nobody
    runuser -u "$owner" -- "$@"
  else
    "$@"
  fi
}

if [ "${1:-}" = "stop" ]; then
  url=${2:?usage: postgres_test_server.sh stop URL}
  port=${url##*:}; port=${port%%/*}
  case "$port" in ''|*[!0-9]*) echo "postgres_test_server.sh: no port in $url" >&2; exit 1;; esac
  dir="${TMPDIR:-/tmp}/marac-pg.$port"
  [ -d "$dir/data" ] || { echo "postgres_test_server.sh: no cluster in $dir" >&2; exit 1; }
  as_owner "$BIN/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null || true
  rm -rf "$dir"
  exit 0
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
dir="${TMPDIR:-/tmp}/marac-pg.$port"
mkdir -m 755 "$dir"
if [ "$(id -u)" -eq 0 ]; then
  owner=postgres
  id -u postgres >/dev/null 2>&1 || owner=nobody
  chown "$owner" "$dir"
fi

as_owner "$BIN/initdb" -D "$dir/data" -U marac --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
  || { cat "$dir/initdb.log" >&2; exit 1; }
cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
CONF
# Only loopback TCP connections, and only to this cluster's own user.
printf 'host all marac 127.0.0.1/32 trust\n' >"$dir/data/pg_hba.conf"
as_owner "$BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
  || { cat "$dir/server.log" >&2; exit 1; }
echo "postgresql://marac@127.0.0.1:$port/postgres"
