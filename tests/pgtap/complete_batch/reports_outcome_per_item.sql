-- complete_batch finishes what it can and reports, in order, one outcome per item: succeeded,
-- lease_lost, cancelled or unknown; it never raises for one stale item.
begin;
select plan(3);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'cb-ok');
select * from durable_test.start(p_workflow_id => 'cb-lost');
select * from durable_test.start(p_workflow_id => 'cb-cancelled');
select * from durable_test.start(p_workflow_id => 'cb-ok2');
create temp table l as select id, lease from durable.workflows;
select durable.cancel('cb-cancelled');

select results_eq(
  $$ select * from durable.complete_batch(
       array['cb-ok2', 'cb-lost', 'cb-unknown', 'cb-cancelled', 'cb-ok'],
       array[(select lease from l where id = 'cb-ok2'), (select lease from l where id = 'cb-lost') + 1000, 7,
             (select lease from l where id = 'cb-cancelled'), (select lease from l where id = 'cb-ok')],
       array['"two"', '"lost"', '"unknown"', '"cancelled"', '"one"']::jsonb[]) $$,
  $$ values ('cb-ok2'::text, 'succeeded'::text), ('cb-lost', 'lease_lost'), ('cb-unknown', 'unknown'),
            ('cb-cancelled', 'cancelled'), ('cb-ok', 'succeeded') $$,
  'one outcome per item, in order');
select results_eq(
  $$ select id, status, output from durable.workflows order by id $$,
  $$ values ('cb-cancelled'::text, 'cancelled'::text, null::jsonb), ('cb-lost', 'running', null),
            ('cb-ok', 'succeeded', '"one"'), ('cb-ok2', 'succeeded', '"two"') $$,
  'only the items with their current lease were written');
select is((select count(*)::int from durable.complete_batch('{}', '{}', '{}')), 0,
  'an empty batch returns nothing');

select * from finish();
rollback;
