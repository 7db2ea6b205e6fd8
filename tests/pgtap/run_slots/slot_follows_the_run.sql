-- A run holds its run slot (durable.run_slots) for as long as it runs under the lease written in
-- it: parking frees it with no write (the run is waiting), a re-claim after the wake takes a slot
-- again (never two), and a reclaim from a dead worker moves the slot to the new lease so the run
-- still counts. Queue rs-q allows 1 running.
begin;
select plan(9);
select durable_test.pin();
select durable.set_queue('rs-q', 1);
select is((select count(*)::int from durable.run_slots where queue = 'rs-q' and key = ''), 1,
  'set_queue made the queue''s one slot');
select durable.enqueue('wf', p_queue => 'rs-q', p_workflow_id => 'rs-x');
select durable.enqueue('wf', p_queue => 'rs-q', p_workflow_id => 'rs-y');

create temp table a as select workflow_id, lease from durable.claim('rs-w', array['rs-q'], 5, interval '10 seconds');
select results_eq($$ select workflow_id from a $$, $$ values ('rs-x'::text) $$, 'one runs: rs-x');
select results_eq($$ select workflow_id, lease from durable.run_slots where queue = 'rs-q' $$,
  $$ select workflow_id, lease from a $$, 'its slot names it and its lease');

-- rs-x parks for 5 s: its slot is free at once (rs-y runs), then rs-y completes
select durable.sleep('rs-x', (select lease from a), 0, interval '5 seconds');
create temp table b as select workflow_id, lease from durable.claim('rs-w', array['rs-q'], 5, interval '10 seconds');
select results_eq($$ select workflow_id from b $$, $$ values ('rs-y'::text) $$,
  'while rs-x waits, its slot runs rs-y');
select durable.complete('rs-y', (select lease from b), '"ok"');

-- woken and claimed again, three times: one slot each time, so still one may run
select durable_test.advance(interval '6 seconds');
create temp table c as select workflow_id, lease from durable.claim('rs-w', array['rs-q'], 5, interval '10 seconds');
select results_eq($$ select workflow_id from c $$, $$ values ('rs-x'::text) $$, 'rs-x is claimed again after its wake');
select durable.enqueue('wf', p_queue => 'rs-q', p_workflow_id => 'rs-z');
select is((select count(*)::int from durable.claim('rs-w', array['rs-q'], 5, interval '10 seconds')), 0,
  'with rs-x running again, rs-z waits');

-- the worker dies: another worker reclaims rs-x under a new lease, and it still counts
select durable_test.advance(interval '11 seconds');
create temp table d as select workflow_id, lease from durable.claim('rs-v', array['rs-q'], 5, interval '10 seconds');
select results_eq($$ select workflow_id from d $$, $$ values ('rs-x'::text) $$,
  'a reclaim gives rs-x to worker rs-v (rs-z is not started beside it)');
select results_eq($$ select workflow_id, lease from durable.run_slots where queue = 'rs-q' and workflow_id is not null $$,
  $$ select workflow_id, lease from d $$, 'the slot now names the new lease');
select durable.complete('rs-x', (select lease from d), '"ok"');
select results_eq($$ select workflow_id from durable.claim('rs-v', array['rs-q'], 5, interval '10 seconds') $$,
  $$ values ('rs-z'::text) $$, 'once rs-x completes, rs-z runs');

select * from finish();
rollback;
