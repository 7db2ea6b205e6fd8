-- Found by the fault runs (deadlocks and a wrong error between two sessions, reproduced in
-- tests/faults/test_lock_order.py). What one session can check here:
--   * enqueue_batch inserts in id order (two batches with the same ids cannot lock them in
--     opposite orders) while it answers in batch order;
--   * durable.outcome_of is volatile, so a batch that waited for a cancel reports it (a stable
--     function read the statement's older snapshot and said lease_lost);
--   * a claim holds its worker's row (for key share), so a clean-up cannot delete the row of a
--     worker that is taking work.
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
select volatility_is('durable', 'outcome_of', array['text'], 'volatile',
  'outcome_of reads a fresh snapshot');

select * from durable.heartbeat('holder');
select is((select k.xmax::text::bigint from durable.workers k where k.id = 'holder'), 0::bigint,
  'a registered worker row carries no lock');
select * from durable.claim('holder', array['default'], 1);
select is((select k.xmax::text::bigint from durable.workers k where k.id = 'holder'),
  txid_current() % 4294967296, 'the claim locked its worker row (xmax is this transaction)');

select * from finish();
rollback;
