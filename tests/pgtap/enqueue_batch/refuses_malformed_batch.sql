-- DU012: the batch must be a JSON array of objects with known keys.
begin;
select plan(7);

select throws_ok($$ select * from durable.enqueue_batch('{"name": "a"}') $$,
  'DU012', 'enqueue_batch takes a JSON array of workflow objects, got object',
  'an object instead of an array raises DU012');
select throws_ok($$ select * from durable.enqueue_batch(null) $$,
  'DU012', 'enqueue_batch takes a JSON array of workflow objects, got null',
  'null raises DU012');
select throws_ok($$ select * from durable.enqueue_batch('"a"') $$,
  'DU012', null, 'a string raises DU012');
select throws_ok($$ select * from durable.enqueue_batch('[{"name": "a"}, 1]') $$,
  'DU012', 'item 2 of the batch is not an object with known keys: 1',
  'a number item raises DU012 naming the item');
select throws_ok($$ select * from durable.enqueue_batch('[{"name": "a"}, ["b"]]') $$,
  'DU012', null, 'an array item raises DU012');
select throws_ok($$ select * from durable.enqueue_batch('[{"name": "a", "inptu": 1}]') $$,
  'DU012', null, 'an unknown key raises DU012');
select is((select count(*)::int from durable.workflows), 0, 'nothing was written');

select * from finish();
rollback;
