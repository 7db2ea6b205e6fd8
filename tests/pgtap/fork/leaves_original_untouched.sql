-- Forking leaves the original as it was: its row, its steps and its errors, whether it is
-- finished or still running (its lease stays valid).
begin;
select plan(4);
select durable_test.pin();

select durable.enqueue('order', '{"n": 1}', p_workflow_id => 'orig');
select durable.claim('w1', array['default'], 1, interval '1 hour');
select durable.checkpoint('orig', (select lease from durable.workflows where id = 'orig'), 0, 'a', '"a"');
select durable.checkpoint('orig', (select lease from durable.workflows where id = 'orig'), 1, 'b', null, '{"m": "b"}');
create temp table before_w as select * from durable.workflows where id = 'orig';
create temp table before_s as select * from durable.steps where workflow_id = 'orig';
create temp table before_e as select * from durable.errors where workflow_id = 'orig';
select durable_test.advance(interval '1 minute');

select durable.fork('orig', 2, 'f1');
select results_eq($$ select * from durable.workflows where id = 'orig' $$, $$ select * from before_w $$,
  'the running original''s row is unchanged');
select results_eq($$ select * from durable.steps where workflow_id = 'orig' order by step_id $$,
  $$ select * from before_s order by step_id $$, 'its steps are unchanged');
select results_eq($$ select * from durable.errors where workflow_id = 'orig' order by id $$,
  $$ select * from before_e order by id $$, 'its errors are unchanged');
select results_eq(
  $$ select recorded from durable.checkpoint('orig', (select lease from durable.workflows where id = 'orig'), 2, 'c', '"c"') $$,
  $$ values (true) $$, 'its lease still works: it goes on recording steps');

select * from finish();
rollback;
