-- release(worker) hands every workflow the worker holds back to the queue (pending, runnable
-- now, no owner) and removes the worker's row; other workers' workflows are untouched.
begin;
select plan(5);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => id, p_delay => interval '0') from unnest(array['r1', 'r2', 'r3']) id;
select durable.claim('rel-a', p_max => 2);
select durable.claim('rel-b');
select durable_test.advance(interval '5 seconds');

select is(durable.release('rel-a'), 2, 'release returns how many it released');
select results_eq($$ select id, status, owner, lease, run_at from durable.workflows where id in ('r1', 'r2') order by id $$,
  $$ values ('r1'::text, 'pending'::text, null::text, null::bigint, durable_test.t0() + interval '5 seconds'),
            ('r2', 'pending', null, null, durable_test.t0() + interval '5 seconds') $$,
  'they are pending, without owner or lease, runnable now');
select results_eq($$ select status, owner from durable.workflows where id = 'r3' $$,
  $$ values ('running'::text, 'rel-b'::text) $$, 'the other worker''s workflow is untouched');
select set_eq($$ select id from durable.workers $$, $$ values ('rel-b') $$, 'the released worker''s row is gone');
select is(durable.release('rel-a'), 0, 'releasing again releases nothing');

select * from finish();
rollback;
