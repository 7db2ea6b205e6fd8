#!/usr/bin/env bash
# SQL core benchmark (not a test): prints figures, asserts nothing.
#
#   1. The same 3-step workflow (enqueue, claim, 3 checkpoints, complete) through the durable.*
#      functions (sql/functions.pgbench) and as plain SQL statements on the same tables
#      (sql/plain.pgbench), alternating, RUNS times each; prints the median rates and the ratio.
#      Target: functions >= 80% of plain SQL.
#   2. Claim latency (sql/claim.pgbench, the claim statement's mean latency, commits not waiting
#      for the WAL flush) with no finished workflows in the table and again with FINISHED
#      (default 1,000,000) finished ones. Target: within 20%.
#
# Usage: bench/sql_bench.sh DSN   (a freshly deployed database; `make bench` makes one)
# Env: RUNS (3), SECONDS_PER_RUN (10), CLIENTS (2), FINISHED (1000000)
set -euo pipefail
dsn=${1:?usage: bench/sql_bench.sh DSN}
here=$(cd "$(dirname "$0")" && pwd)
runs=${RUNS:-3}
secs=${SECONDS_PER_RUN:-10}
clients=${CLIENTS:-2}
finished=${FINISHED:-1000000}

q() { psql "$dsn" -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
tps() { pgbench -n -c "$clients" -j "$clients" -T "$secs" -f "$here/sql/$1.pgbench" "$dsn" 2>&1 |
        awk '/^tps = / {print $3}'; }
# mean latency in ms of the claim statement (the 2nd of claim.pgbench); without waiting for the
# WAL flush at commit, which would measure the disk rather than the claim
claim_ms() { PGOPTIONS='-c synchronous_commit=off' \
             pgbench -n -r -c "$clients" -j "$clients" -T "$secs" -f "$here/sql/claim.pgbench" "$dsn" 2>&1 |
             awk '/durable.claim/ {print $1}'; }
reset() {
  q "truncate durable.workflows, durable.steps, durable.errors, durable.workers cascade"
  q "vacuum analyze durable.workflows, durable.steps"
}

q "select count(durable.set_queue('bench' || i)) from generate_series(0, $clients - 1) i" >/dev/null
echo "durable SQL benchmark: $clients clients, ${secs}s per run, $runs runs each, $(nproc) cores"
echo "server: $(q 'show server_version'), synchronous_commit=$(q 'show synchronous_commit')"

fn_rates=(); plain_rates=()
for i in $(seq "$runs"); do
  reset; fn_rates+=("$(tps functions)")
  reset; plain_rates+=("$(tps plain)")
  echo "  run $i: functions ${fn_rates[-1]} wf/s, plain SQL ${plain_rates[-1]} wf/s"
done
fn=$(printf '%s\n' "${fn_rates[@]}" | median)
plain=$(printf '%s\n' "${plain_rates[@]}" | median)
awk -v f="$fn" -v p="$plain" 'BEGIN {
  printf "3-step workflows/s (median): functions %.0f, plain SQL %.0f, ratio %.2f (target >= 0.80)\n", f, p, f / p }'

reset
empty=(); for i in $(seq "$runs"); do empty+=("$(claim_ms)"); done
echo "loading $finished finished workflows (with 3 steps each) ..."
q "insert into durable.workflows (id, name, queue, status, run_at, input, output, created_at, claimed_at, finished_at, claims)
   select 'done-' || g, 'bench', 'bench0', 'succeeded', now() - interval '1 day', '{}', '{}',
          now() - interval '1 day', now() - interval '1 day', now() - interval '1 day', 1
     from generate_series(1, $finished) g;
   insert into durable.steps (workflow_id, step_id, name, output, attempt, lease, created_at)
   select 'done-' || g, s, 'step' || s, '{}', 1, 0, now() - interval '1 day'
     from generate_series(1, $finished) g, generate_series(0, 2) s;"
q "vacuum analyze durable.workflows, durable.steps"
full=(); for i in $(seq "$runs"); do full+=("$(claim_ms)"); done
e=$(printf '%s\n' "${empty[@]}" | median)
f=$(printf '%s\n' "${full[@]}" | median)
awk -v e="$e" -v f="$f" -v n="$finished" 'BEGIN {
  printf "claim latency (median of means): %.3f ms with 0 finished, %.3f ms with %d finished: %+.0f%% (target within 20%%)\n", e, f, n, (f / e - 1) * 100 }'
