-- A queue with key_concurrency K runs at most K workflows of one concurrency key at once,
-- across claims and workers; workflows without a key are not limited by it, and a finished run
-- frees its key's slot.
begin;
select plan(7);
select durable_test.pin();
select durable.set_queue('kq', p_key_concurrency => 2);
select durable.enqueue('wf', p_queue => 'kq', p_workflow_id => 'a' || i, p_concurrency_key => 'acme')
  from generate_series(1, 4) i;
select durable.enqueue('wf', p_queue => 'kq', p_workflow_id => 'b1', p_concurrency_key => 'bolt');
select durable.enqueue('wf', p_queue => 'kq', p_workflow_id => 'n' || i) from generate_series(1, 3) i;

select set_eq($$ select workflow_id from durable.claim('w1', array['kq'], 10, interval '1 hour') $$,
  $$ values ('a1'), ('a2'), ('b1'), ('n1'), ('n2'), ('n3') $$,
  'one claim takes 2 of acme, bolt''s one and every run without a key');
select is((select count(*)::int from durable.claim('w2', array['kq'], 10, interval '1 hour')), 0,
  'another worker gets none: acme is at its limit');
select durable.complete('a1', (select lease from durable.workflows where id = 'a1'), '"ok"');
select results_eq($$ select workflow_id from durable.claim('w2', array['kq'], 10, interval '1 hour') $$,
  $$ values ('a3'::text) $$, 'a finished acme run frees one slot: the next acme run, in order');
select results_eq(
  $$ select concurrency_key, count(*)::int from durable.workflows
      where status = 'running' and concurrency_key is not null group by 1 order by 1 $$,
  $$ values ('acme'::text, 2), ('bolt', 1) $$, 'at most 2 per key run');
select is((select concurrency_key from durable.runs where id = 'a4'), 'acme',
  'durable.runs shows the key');

-- a key in a queue without a per-key limit is not limited
select durable.enqueue('wf', p_concurrency_key => 'acme') from generate_series(1, 3);
select is((select count(*)::int from durable.claim('w3', array['default'], 10, interval '1 hour')), 3,
  'the same key in a queue without key_concurrency: all 3');

-- removing the limit lets the rest go
select durable.set_queue('kq', p_key_concurrency => 0);
select results_eq($$ select workflow_id from durable.claim('w3', array['kq'], 10, interval '1 hour') $$,
  $$ values ('a4'::text) $$, 'key limit 0 removes it');

select * from finish();
rollback;
