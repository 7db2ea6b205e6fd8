-- DU014: only failed or cancelled workflows can be retried; DU003: unknown workflow.
begin;
select plan(6);

select durable_test.make('p', 'pending');
select durable_test.make('r', 'running');
select durable_test.make('w', 'waiting');
select durable_test.make('s', 'succeeded');
select throws_ok($$ select durable.retry('p') $$, 'DU014',
  'workflow p is in status pending, only failed or cancelled workflows can be retried', 'pending raises DU014');
select throws_ok($$ select durable.retry('r') $$, 'DU014', null, 'running raises DU014');
select throws_ok($$ select durable.retry('w') $$, 'DU014', null, 'waiting raises DU014');
select throws_ok($$ select durable.retry('s') $$, 'DU014',
  'workflow s is in status succeeded, only failed or cancelled workflows can be retried',
  'succeeded raises DU014, naming the status');
select throws_ok($$ select durable.retry('nobody') $$, 'DU003', null, 'unknown raises DU003');
select results_eq($$ select id, status, attempt from durable.workflows order by id $$,
  $$ values ('p'::text, 'pending'::text, 1), ('r', 'running', 1), ('s', 'succeeded', 1), ('w', 'waiting', 1) $$,
  'nothing changed');

select * from finish();
rollback;
