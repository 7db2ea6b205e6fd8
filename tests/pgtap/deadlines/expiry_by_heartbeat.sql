-- A heartbeat of any worker also cancels workflows whose deadline passed (and their
-- non-detached unfinished descendants): the worker running one no longer finds it in its
-- heartbeat's answer. A waiting parent whose deadline passes takes its children with it.
begin;
\ir ../waiting_fixtures.sql
select plan(5);
select durable_test.pin();
select durable.set_queue('eh_q');
select durable.set_queue('eh_kids');

select durable.enqueue('wf', p_queue => 'eh_q', p_workflow_id => 'eh-run', p_timeout => interval '10 minutes');
select durable.enqueue('wf', p_queue => 'eh_q', p_workflow_id => 'eh-parent', p_timeout => interval '10 minutes');
select count(*) from durable.claim('worker-a', array['eh_q'], 2);
select durable.start_child('eh-parent', durable_test.lease_of('eh-parent'), 0, 'kid', p_queue => 'eh_kids');
select durable_test.claim_id('eh-parent-0', 'worker-k', 'eh_kids') as lk \gset
select results_eq(format($$ select parked from durable.await_children('eh-parent', %s, 1, array['eh-parent-0']) $$,
                         durable_test.lease_of('eh-parent')),
  $$ values (true) $$, 'the parent parks awaiting its running child');

select durable_test.advance(interval '9 minutes');
select results_eq($$ select workflow_id from durable.heartbeat('worker-a') $$,
  $$ values ('eh-run'::text) $$, 'before the deadline the heartbeat lists the run');
select durable_test.advance(interval '1 minute');
select is((select count(*)::int from durable.heartbeat('worker-other')), 0,
  'at the deadline another worker''s heartbeat ...');
select results_eq($$ select id, status, error ->> 'type' from durable.workflows where id in ('eh-run', 'eh-parent') order by id $$,
  $$ values ('eh-parent'::text, 'cancelled'::text, 'DeadlineExceeded'::text), ('eh-run', 'cancelled', 'DeadlineExceeded') $$,
  '... cancels the running and the waiting workflow, with DeadlineExceeded');
select is((select count(*)::int from durable.heartbeat('worker-k')), 0,
  'the child went with its parent: its worker''s heartbeat no longer lists it');

select * from finish();
rollback;
