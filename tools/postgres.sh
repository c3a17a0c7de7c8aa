#!/usr/bin/env bash
# Local PostgreSQL for ./run.sh: data in .local/postgres/data (gitignored, survives restarts), loopback only.
#   tools/postgres.sh start|stop|url
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
port="${ORDERFLOW_PG_PORT:-55432}"
base="$root/.local/postgres"
data="$base/data"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
[ -n "$bin" ] || { echo "postgres: no PostgreSQL server binaries in /usr/lib/postgresql (run tools/setup.sh)" >&2; exit 1; }

# Debian's defaults (128 MB of shared buffers, a checkpoint every 1 GB of WAL) are sized for a small machine: under a
# steady 6,000 events/s the read model asked for a checkpoint every 2–3 minutes, each followed by a burst of full-page
# writes. A read model this size wants more of both (docs/decisions/0027).
tuning="-c shared_buffers=512MB -c max_wal_size=4GB"

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    mkdir -p "$base"
    [ "$(id -u)" = 0 ] && chown postgres:postgres "$base"
    if [ ! -f "$data/PG_VERSION" ]; then
      as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$base/initdb.log" 2>&1 \
        || { echo "postgres: initdb failed, see $base/initdb.log" >&2; exit 1; }
    fi
    if ! as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      as_pg "$bin/pg_ctl" -D "$data" -w -l "$base/server.log" \
        -o "-p $port -k $base -c listen_addresses=127.0.0.1 $tuning" start >/dev/null \
        || { echo "postgres: server did not start on 127.0.0.1:$port, see $base/server.log" >&2; exit 1; }
    fi
    as_pg psql -h 127.0.0.1 -p "$port" -U postgres -tAc "select 1 from pg_database where datname = 'orderflow'" | grep -q 1 \
      || as_pg psql -h 127.0.0.1 -p "$port" -U postgres -qc "create database orderflow" >/dev/null
    ;;
  stop)
    if [ -f "$data/PG_VERSION" ]; then as_pg "$bin/pg_ctl" -D "$data" -m fast stop >/dev/null 2>&1 || true; fi
    ;;
  url)
    echo "Host=127.0.0.1;Port=$port;Database=orderflow;Username=postgres"
    ;;
  *)
    echo "usage: tools/postgres.sh start|stop|url" >&2; exit 2 ;;
esac
