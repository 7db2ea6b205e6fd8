-- fork refuses: DU003 an unknown workflow, DU006 a new id already used, DU011 a null or
-- negative position, an empty or over-200-character id or version; nothing is written.
begin;
select plan(10);
select durable_test.pin();
select durable.enqueue('order', p_workflow_id => 'orig');
select durable.enqueue('order', p_workflow_id => 'taken');

select throws_ok($$ select durable.fork('nobody', 0) $$, 'DU003', 'unknown workflow nobody', 'an unknown workflow raises DU003');
select throws_ok($$ select durable.fork('orig', 0, 'taken') $$, 'DU006', 'workflow id taken is already used',
  'a new id already used raises DU006');
select throws_ok($$ select durable.fork('orig', 0, 'orig') $$, 'DU006', null, 'the original''s own id raises DU006');
select throws_ok($$ select durable.fork('orig', -1) $$, 'DU011', 'step_id must be 0 or more, got -1', 'a negative position raises DU011');
select throws_ok($$ select durable.fork('orig', null) $$, 'DU011', 'step_id must be 0 or more, got null', 'a null position raises DU011');
select throws_ok($$ select durable.fork('orig', 0, '') $$, 'DU011', null, 'an empty new id raises DU011');
select throws_ok($$ select durable.fork('orig', 0, repeat('x', 201)) $$, 'DU011', null, 'a 201-character new id raises DU011');
select throws_ok($$ select durable.fork('orig', 0, 'f', '') $$, 'DU011', null, 'an empty version raises DU011');
select throws_ok($$ select durable.fork('orig', 0, 'f', repeat('v', 201)) $$, 'DU011', null, 'a 201-character version raises DU011');
select set_eq($$ select id from durable.workflows $$, $$ values ('orig'), ('taken') $$, 'nothing was written');

select * from finish();
rollback;
