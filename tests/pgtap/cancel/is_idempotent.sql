-- Cancelling a cancelled workflow returns cancelled again and changes nothing.
begin;
select plan(2);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => 'cc');
select durable.cancel('cc');
select durable_test.advance(interval '1 hour');
select is(durable.cancel('cc'), 'cancelled', 'the second cancel returns cancelled');
select is((select finished_at from durable.workflows where id = 'cc'), durable_test.t0(),
  'finished_at is the first cancel''s');

select * from finish();
rollback;
