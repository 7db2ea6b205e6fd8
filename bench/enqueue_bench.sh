#!/usr/bin/env bash
# Single-enqueue scaling benchmark (not a test): prints figures, asserts nothing.
#
# Each client enqueues one workflow per transaction (sql/enqueue_one.pgbench), for CLIENTS in
# 1 2 4 8 16 32, alternately with durable's wake-up (the NOTIFY trigger
# workflows_notify_insert) enabled and disabled, RUNS times each; prints the median rates and
# the ratio at each client count. Target (issue: NOTIFY serializes enqueues): with wake-ups on,
# >= 80% of the rate with them off at 16 clients. Every notifying commit takes one lock for
# the whole server (PostgreSQL's async-notify queue), so enqueues that all notify cannot commit
# in parallel. Since 0.2.0 the trigger notifies only for queues a live worker waits on (its
# last claim there found nothing: deploy/idle_workers.sql); under a burst of enqueues workers
# are busy, so the wake-up costs nothing. No worker runs here; with one waiting, the first
# enqueue wakes it (tests/pgtap/notify/), and bench/python_bench.py measures enqueue-to-first-
# step latency with idle workers.
#
# Usage: bench/enqueue_bench.sh DSN   (a freshly deployed database; `make bench` makes one)
# Env: RUNS (3), SECONDS_PER_RUN (5), CLIENT_COUNTS ("1 2 4 8 16 32")
set -euo pipefail
dsn=${1:?usage: bench/enqueue_bench.sh DSN}
here=$(cd "$(dirname "$0")" && pwd)
runs=${RUNS:-3}
secs=${SECONDS_PER_RUN:-5}
counts=${CLIENT_COUNTS:-1 2 4 8 16 32}

q() { psql "$dsn" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
tps() { pgbench -n -c "$1" -j "$(( $1 < 2 ? 1 : 2 ))" -T "$secs" -f "$here/sql/enqueue_one.pgbench" "$dsn" 2>&1 |
        awk '/^tps = / {print $3}'; }
reset() { q "truncate durable.workflows, durable.steps, durable.errors cascade"; }
trigger() { q "alter table durable.workflows $1 trigger workflows_notify_insert"; }

q "select durable.set_queue('bench_enqueue')" >/dev/null
echo "durable single-enqueue benchmark: ${secs}s per run, $runs runs each, $(nproc) cores"
echo "server: $(q 'show server_version'), synchronous_commit=$(q 'show synchronous_commit')"
trap 'trigger enable >/dev/null 2>&1 || true' EXIT
for c in $counts; do
  on=(); off=()
  for i in $(seq "$runs"); do
    trigger enable; reset; on+=("$(tps "$c")")
    trigger disable; reset; off+=("$(tps "$c")")
  done
  trigger enable
  awk -v c="$c" -v on="$(printf '%s\n' "${on[@]}" | median)" -v off="$(printf '%s\n' "${off[@]}" | median)" 'BEGIN {
    printf "%2d clients: enqueues/s with wake-ups %6.0f, without %6.0f, ratio %.2f%s\n",
           c, on, off, on / off, (c == 16 ? " (target >= 0.80)" : "") }'
done
reset
