-- One hot key with many pending workflows ahead of a cold key's single workflow does not delay
-- it: keys at their limit are skipped, so the next claim that has a free slot takes the cold one
-- (issue 11: "does not delay a cold key's single workflow by more than one claim").
begin;
select plan(6);
select durable_test.pin();
select durable.set_queue('kq', p_key_concurrency => 1);
-- 2,000 of the hot key first (and at a higher priority), then the cold one
select durable.enqueue('wf', p_queue => 'kq', p_workflow_id => 'hot-' || i, p_priority => 1,
                       p_concurrency_key => 'hot')
  from generate_series(1, 2000) i;
select durable.enqueue('wf', p_queue => 'kq', p_workflow_id => 'cold', p_concurrency_key => 'cold');

select results_eq($$ select workflow_id from durable.claim('w1', array['kq'], 1, interval '1 hour') $$,
  $$ values ('hot-1'::text) $$, 'the first claim (of 1) takes the first hot run, in priority order');
select results_eq($$ select workflow_id from durable.claim('w2', array['kq'], 1, interval '1 hour') $$,
  $$ values ('cold'::text) $$, 'the next claim takes the cold run past 1,999 hot ones at their key''s limit');
select is((select count(*)::int from durable.claim('w3', array['kq'], 10, interval '1 hour')), 0,
  'then none: hot is at its limit and cold has no more');
select is((select count(*)::int from durable.workflows where status = 'running'), 2,
  'one of each key runs');

-- in one claim: the hot key fills within the claim and the cold one comes with it
select durable.complete(w.id, w.lease, '"ok"') from durable.workflows w where w.status = 'running';
select durable.enqueue('wf', p_queue => 'kq', p_workflow_id => 'cold-2', p_concurrency_key => 'cold');
select results_eq($$ select workflow_id from durable.claim('w1', array['kq'], 5, interval '1 hour') order by 1 $$,
  $$ values ('cold-2'::text), ('hot-2') $$,
  'a claim of 5 takes one hot run (its limit, reached within the claim) and the cold one');
select is((select count(*)::int from durable.workflows
            where concurrency_key = 'hot' and status = 'pending'), 1998,
  'the other hot runs stay pending');

select * from finish();
rollback;
