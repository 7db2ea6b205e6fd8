-- DU010: release needs a worker id.
begin;
select plan(3);

select * from durable_test.start(p_workflow_id => 'rm');
select throws_ok($$ select durable.release(null) $$, 'DU010', 'worker id must not be null or empty',
  'a null worker raises DU010');
select throws_ok($$ select durable.release('', array['rm']) $$, 'DU010', null,
  'an empty worker raises DU010');
select is((select status from durable.workflows where id = 'rm'), 'running', 'nothing was released');

select * from finish();
rollback;
