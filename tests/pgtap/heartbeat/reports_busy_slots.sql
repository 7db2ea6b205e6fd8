-- heartbeat's p_busy (how many runs the worker's slots execute) is shown as
-- durable.worker_status.busy: a run that was cancelled while its step still runs is no longer
-- the worker's (running 0) but its slot is still busy (busy 1). Regression: `durable workers`
-- showed RUNNING 0 while a slot still ran a cancelled workflow's step. Refusal: DU011.
begin;
select plan(4);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'busy-1', p_worker => 'busy-worker');
select durable.cancel('busy-1');
select durable.heartbeat('busy-worker', p_busy => 1);
select results_eq($$ select running, busy from durable.worker_status where id = 'busy-worker' $$,
  $$ values (0::bigint, 1) $$, 'the cancelled run is not held but its slot is still busy');
select durable.heartbeat('busy-worker', p_busy => 0);
select is((select busy from durable.worker_status where id = 'busy-worker'), 0,
  'the slot is free again');
select durable.heartbeat('busy-worker');
select is((select busy from durable.worker_status where id = 'busy-worker'), 0,
  'a heartbeat that does not say keeps the last report');
select throws_ok($$ select * from durable.heartbeat('busy-worker', p_busy => -1) $$, 'DU011',
  'busy must be 0 or more, got -1', 'a negative busy raises DU011');

select * from finish();
rollback;
