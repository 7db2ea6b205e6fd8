-- Found by the fault runs (deadlocks and a wrong error between two sessions, reproduced in
-- tests/faults/test_lock_order.py). What one session can check here:
--   * enqueue_batch inserts in id order (two batches with the same ids cannot lock them in
--     opposite orders) while it answers in batch order;
--   * durable.outcome_of is volatile, so a batch that waited for a cancel reports it (a stable
--     function read the statement's older snapshot and said lease_lost);
--   * a claim holds a shared advisory lock on its worker's id (standing for the worker row), so
--     a clean-up or release cannot delete the row of a worker that is taking work.
begin;
select plan(5);
select durable_test.pin();

select results_eq(
  $$ select workflow_id from durable.enqueue_batch(
       '[{"name": "w", "workflow_id": "c"}, {"name": "w", "workflow_id": "a"},
         {"name": "w", "workflow_id": "b"}]') $$,
  $$ values ('c'::text), ('a'), ('b') $$, 'answers in batch order');
select results_eq($$ select id from durable.workflows order by ctid $$,
  $$ values ('a'::text), ('b'), ('c') $$, 'inserted in id order');
select volatility_is('durable', 'outcome_of', array['text', 'bigint'], 'volatile',
  'outcome_of reads a fresh snapshot');

select * from durable.claim('holder', array['default'], 1);
select results_eq(
  $$ select mode, granted from pg_catalog.pg_locks
      where locktype = 'advisory' and pid = pg_backend_pid()
        and classid::bigint = (durable.worker_lock_key('holder') >> 32) & 4294967295
        and objid::bigint = durable.worker_lock_key('holder') & 4294967295 $$,
  $$ values ('ShareLock'::text, true) $$,
  'the claim holds its worker''s lock, shared, to the end of its transaction');
select durable.release('holder');
select results_eq(
  $$ select mode from pg_catalog.pg_locks
      where locktype = 'advisory' and pid = pg_backend_pid()
        and classid::bigint = (durable.worker_lock_key('holder') >> 32) & 4294967295
        and objid::bigint = durable.worker_lock_key('holder') & 4294967295
      order by mode $$,
  $$ values ('ExclusiveLock'::text), ('ShareLock') $$,
  'release took it exclusively before deleting the worker row');

select * from finish();
rollback;
