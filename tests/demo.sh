#!/usr/bin/env bash
# The demo of `make demo`: two workers, an order workflow, a SIGKILL, a recovery, and a wait that
# a person ends from psql.
#
#   1. creates the examples' schema (examples/schema.sql) and queue `orders`
#   2. starts two workers (`durable worker orders:app`, one slot each, 3 s lease timeout)
#   3. places two orders: 1001 paid by card, 1002 by bank transfer
#   4. order 1002 waits for its payment (durable.recv("payment")): the run is `waiting`
#      (durable.runs.waiting_for says for what) and holds no worker slot
#   5. SIGKILLs the worker holding order 1001 while it packs the parcel (step 4 of 6)
#   6. a person confirms 1002's payment from psql: select durable.send('order-1002', ...)
#   7. the other worker finishes 1002, reclaims 1001 once the lease expires, replays the three
#      recorded steps without running them and runs the last three
#   8. checks that nothing happened twice (stock reserved once, card charged once, the payment
#      message consumed once), prints the observability query (failed steps of the last month)
#      and the timelines of orders 1001 and 1002
#
# Needs DURABLE_DEMO_DSN: a libpq URI of a database where the durable schema is deployed
# (`make demo` makes one). Takes about 20 seconds.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
DSN="${DURABLE_DEMO_DSN:?set DURABLE_DEMO_DSN to a database with the durable schema deployed}"
export DATABASE_URL="$DSN"
PY="${PY:-$ROOT/.venv/bin/python}"
[[ -x $PY ]] || PY=python3
durable() { "$PY" -m durable "$@"; }
sql() { psql -X -q -v ON_ERROR_STOP=1 -d "$DSN" "$@"; }
value() { psql -X -qAt -v ON_ERROR_STOP=1 -d "$DSN" -c "$1"; }

WORK="$(mktemp -d)"
export DEMO_PAYMENTS_DIR="$WORK/payments" DEMO_PACK_SECONDS=4 PYTHONUNBUFFERED=1
declare -A PID=()
cleanup() {
  local name
  for name in "${!PID[@]}"; do kill -9 "${PID[$name]}" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { printf '\nDEMO FAILED: %s\n' "$*" >&2; exit 1; }
wait_until() {  # wait_until SECONDS DESCRIPTION SQL: poll until the SQL query returns true
  local deadline=$((SECONDS + $1))
  until [[ $(value "$3") == t ]]; do
    ((SECONDS < deadline)) || fail "timed out waiting for $2"
    sleep 0.1
  done
}

say "1. the examples' own tables (examples/schema.sql: the shop's, sign-up's, ETL's) and the queue 'orders'"
sql -f examples/schema.sql >/dev/null
sql -c '\dt shop.*'

say "2. two workers: durable worker orders:app --queues orders --concurrency 1 --lease-timeout 3"
for name in A B; do
  "$PY" -m durable worker orders:app --path examples --queues orders --concurrency 1 --lease-timeout 3 \
    --poll-interval 0.5 --worker-id "worker-$name" >"$WORK/$name.log" 2>&1 &
  PID[$name]=$!
done
wait_until 20 "the workers to register" \
  "select count(*) = 2 from durable.worker_status where id in ('worker-A', 'worker-B')"
durable workers

say "3. two orders: 1001 paid by card, 1002 by bank transfer"
durable enqueue order --queue orders --id order-1001 \
  --input '{"order_id": "1001", "card": "4242424242424242", "items": [{"sku": "tea", "quantity": 3}, {"sku": "mug", "quantity": 2}]}'
durable enqueue order --queue orders --id order-1002 \
  --input '{"order_id": "1002", "pay_by": "transfer", "items": [{"sku": "kettle", "quantity": 1}]}'

say "4. order 1002 waits for its payment (durable.recv(\"payment\")): parked, no worker slot held"
wait_until 30 "order 1002 to wait for its payment" \
  "select status = 'waiting' from durable.runs where id = 'order-1002'"
waiting_query="select id, status, owner, waiting_for, waiting_since from durable.runs
 where id in ('order-1001', 'order-1002') order by id"
echo "$waiting_query;"
sql -c "$waiting_query"

say "5. wait until order 1001 is packing (3 steps recorded), then SIGKILL the worker running it"
wait_until 30 "order 1001 to reach pack_parcel" \
  "select count(*) >= 3 from durable.run_steps where workflow_id = 'order-1001'"
owner="$(value "select owner from durable.runs where id = 'order-1001'")"
victim="${owner#worker-}"
[[ $victim == A || $victim == B ]] || fail "unexpected owner '$owner'"
survivor=$([[ $victim == A ]] && echo B || echo A)
sleep 0.5
kill -9 "${PID[$victim]}"
wait "${PID[$victim]}" 2>/dev/null || true
unset "PID[$victim]"
echo "killed worker-$victim (SIGKILL) in the middle of pack_parcel; recorded so far:"
sql -c "select step_id, name, recorded_at, duration from durable.run_steps
         where workflow_id = 'order-1001' order by step_id"

say "6. the bank transfer of order 1002 arrives: a person confirms it from psql"
send="select durable.send('order-1002', '{\"paid\": 3900}', 'payment');"
echo "psql> $send"
sql -c "$send"

say "7. worker-$survivor runs 1002 on, and reclaims order 1001 once worker-$victim's lease expires"
wait_until 40 "both orders to succeed" \
  "select count(*) = 2 from durable.runs where id in ('order-1001', 'order-1002') and status = 'succeeded'"
durable list --queue orders
echo "$waiting_query;"
sql -c "$waiting_query"

echo
echo "--- worker-$victim (killed) ---"
grep -E '\] step |claimed' "$WORK/$victim.log" | sed -E 's/^[0-9-]+ ([0-9:]+),[0-9]+ INFO /\1 /'
echo "--- worker-$survivor (survivor) ---"
grep -E '\] step |claimed|order order-' "$WORK/$survivor.log" | sed -E 's/^[0-9-]+ ([0-9:]+),[0-9]+ (INFO|WARNING) /\1 /'

say "8. checks: the recorded steps of 1001 did not run again, nothing happened twice"
ran() { cat "$WORK"/*.log | grep -c "step $1 .*order 1001: $2" || true; }
resumed_with="$(grep -o 'claimed order order-1001 (attempt 1, recorded steps: [0-9]*)' "$WORK/$survivor.log" || true)"
printf '%-46s %s\n' \
  "worker-$survivor resumed 1001 with:" "${resumed_with:-?}" \
  "validate_order ran for 1001:" "$(ran validate_order total) time(s)" \
  "reserve_stock ran for 1001:" "$(ran reserve_stock reserved) time(s)" \
  "card charged for 1001 (provider's records):" "$(ls "$DEMO_PAYMENTS_DIR" | grep -c 'order-1001_2.charge' || true)" \
  "stock rows reserved for 1001 (2 items):" "$(value "select count(*) from shop.reservations where order_id = '1001'")" \
  "pack_parcel started for 1001:" "$(ran pack_parcel packing) time(s) (killed once, re-run once)" \
  "payment messages to 1002 consumed (once each):" "$(value "select count(*) filter (where consumed_step is not null) || ' of ' || count(*) from durable.run_messages where workflow_id = 'order-1002'")" \
  "order 1002:" "$(value "select output->>'status' from durable.runs where id = 'order-1002'")"
[[ $resumed_with == *"recorded steps: 3"* ]] || fail "worker-$survivor did not resume 1001 from its 3 recorded steps"
[[ $(ran validate_order total) == 1 && $(ran reserve_stock reserved) == 1 ]] || fail "a recorded step ran again"
[[ $(value "select count(*) from shop.reservations where order_id = '1001'") == 2 ]] || fail "stock reserved twice"
[[ $(ls "$DEMO_PAYMENTS_DIR" | grep -c 'order-1001_2.charge') == 1 ]] || fail "card charged twice"
[[ $(value "select count(*) from durable.run_messages where workflow_id = 'order-1002' and consumed_step = 2") == 1 ]] ||
  fail "the payment message of 1002 was not consumed once, by its step 2"
[[ $(value "select output->>'status' from durable.runs where id = 'order-1002'") == shipped ]] || fail "order 1002 not shipped"
echo "ok"

say "observability: failed steps in the last month (durable.run_errors)"
query="select workflow_id, step_name, attempt, error->>'message' as error, created_at
  from durable.run_errors
 where step_id is not null and created_at > now() - interval '1 month'
 order by created_at"
echo "$query;"
sql -c "$query"

say "timeline: durable show order-1001"
durable show order-1001

say "timeline: durable show order-1002 (the wait and the wake-up)"
durable show order-1002

say "stopping worker-$survivor with SIGTERM (graceful)"
kill -TERM "${PID[$survivor]}"
wait "${PID[$survivor]}" && echo "worker-$survivor exited cleanly"
unset "PID[$survivor]"
