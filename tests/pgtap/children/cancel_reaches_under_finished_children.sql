-- A child that finished without awaiting its own children leaves them running; cancelling the
-- parent still reaches them: they are unfinished, non-detached descendants (the contract:
-- "durable.cancel(id) cascades to unfinished non-detached descendants"), and nothing else
-- would ever end them.
begin;
\ir ../waiting_fixtures.sql
select plan(2);
select durable_test.pin();
select durable.set_queue('cu_parents');
select durable.set_queue('cu_mid');

select * from durable_test.start(p_workflow_id => 'cu', p_queue => 'cu_parents');
select durable.start_child('cu', durable_test.lease_of('cu'), 0, 'kid', p_child_id => 'cu-done', p_queue => 'cu_mid');
select durable_test.claim_id('cu-done', 'worker-m', 'cu_mid') as lm \gset
select durable.start_child('cu-done', :lm, 0, 'kid', p_child_id => 'cu-orphan', p_queue => 'default');
select durable.complete('cu-done', :lm, '"done"');

select is(durable.cancel('cu'), 'cancelled', 'the parent is cancelled');
select results_eq($$ select id, status from durable.workflows order by id $$,
  $$ values ('cu'::text, 'cancelled'::text), ('cu-done', 'succeeded'), ('cu-orphan', 'cancelled') $$,
  'the grandchild under a finished child is cancelled too');

select * from finish();
rollback;
