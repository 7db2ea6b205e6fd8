-- DU013: a succeeded or failed workflow cannot be cancelled; DU003: unknown workflow.
begin;
select plan(4);

select durable_test.make('done', 'succeeded');
select durable_test.make('broken', 'failed');
select throws_ok($$ select durable.cancel('done') $$, 'DU013',
  'workflow done already finished with status succeeded', 'a succeeded workflow raises DU013');
select throws_ok($$ select durable.cancel('broken') $$, 'DU013', null, 'a failed workflow raises DU013');
select throws_ok($$ select durable.cancel('nobody') $$, 'DU003', 'unknown workflow nobody',
  'an unknown workflow raises DU003');
select results_eq($$ select id, status from durable.workflows order by id $$,
  $$ values ('broken'::text, 'failed'::text), ('done', 'succeeded') $$, 'nothing changed');

select * from finish();
rollback;
