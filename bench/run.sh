#!/usr/bin/env bash
# `make bench`: every benchmark, against the fresh database `make bench` made
# ($DURABLE_BENCH_DSN). Benchmarks print figures; they assert nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dsn=${DURABLE_BENCH_DSN:?run through make bench, or set DURABLE_BENCH_DSN}
"$here/sql_bench.sh" "$dsn"
"$here/enqueue_bench.sh" "$dsn"
"${PY:-$here/../.venv/bin/python}" "$here/python_bench.py" "$dsn"
"${PY:-$here/../.venv/bin/python}" "$here/wait_bench.py" "$dsn"
"${PY:-$here/../.venv/bin/python}" "$here/flow_bench.py" "$dsn"
"${PY:-$here/../.venv/bin/python}" "$here/purge_bench.py" "$dsn"
"${PY:-$here/../.venv/bin/python}" "$here/list_bench.py" "$dsn"
