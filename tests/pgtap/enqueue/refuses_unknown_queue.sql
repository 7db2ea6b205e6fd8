-- A queue must exist before work is put on it: DU004 unknown queue (a null queue is the
-- registered one or default: enqueue/takes_registered_defaults.sql).
begin;
select plan(3);

select throws_ok($$ select * from durable.enqueue('wf', p_queue => 'nope') $$,
  'DU004', 'unknown queue nope', 'an unknown queue raises DU004');
select is((select count(*)::int from durable.workflows), 0, 'nothing was written');

select durable.set_queue('emails');
select durable.enqueue('wf', p_queue => 'emails', p_workflow_id => 'on-emails');
select is((select queue from durable.workflows where id = 'on-emails'), 'emails',
  'once created with set_queue the queue takes work');

select * from finish();
rollback;
