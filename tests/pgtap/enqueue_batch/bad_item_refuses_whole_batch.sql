-- One bad item refuses the whole batch with that item's error, before anything is written.
begin;
select plan(8);

update durable.settings set max_payload_bytes = 2048;

select throws_ok($$ select * from durable.enqueue_batch('[{"name": "ok"}, {"name": "bad", "queue": "nope"}]') $$,
  'DU004', 'unknown queue nope', 'an unknown queue in item 2 raises DU004');
select throws_ok($$ select * from durable.enqueue_batch('[{"name": "ok"}, {"input": 1}]') $$,
  'DU010', null, 'an item without a name raises DU010');
select throws_ok($$ select * from durable.enqueue_batch('[{"name": "ok"}, {"name": ""}]') $$,
  'DU010', null, 'an item with an empty name raises DU010');
select throws_ok($$ select * from durable.enqueue_batch('[{"name": "ok"}, {"name": "a", "delay": "-1 second"}]') $$,
  'DU011', null, 'a negative delay raises DU011');
select throws_ok($$ select * from durable.enqueue_batch('[{"name": "ok"}, {"name": "a", "max_attempts": 0}]') $$,
  'DU011', null, 'max_attempts 0 raises DU011');
select throws_ok(
  $$ select * from durable.enqueue_batch(jsonb_build_array(jsonb_build_object('name', 'ok'),
       jsonb_build_object('name', 'big', 'input', repeat(md5('x'), 100)))) $$,
  'DU008', null, 'an oversize input raises DU008');
select throws_ok(
  $$ select * from durable.enqueue_batch('[{"name": "ok", "run_at": "2030-01-01T00:00:00Z", "delay": "1 second"}]') $$,
  'DU011', null, 'run_at and delay together raise DU011');
select is((select count(*)::int from durable.workflows), 0,
  'no item of any refused batch was written');

select * from finish();
rollback;
