-- DU010: a null or empty worker id; DU011: a worker id over 200 characters or a lease timeout
-- that is not positive. Nothing is written.
begin;
select plan(6);

select throws_ok($$ select * from durable.heartbeat(null) $$,
  'DU010', 'worker id must not be null or empty', 'a null worker raises DU010');
select throws_ok($$ select * from durable.heartbeat('') $$,
  'DU010', null, 'an empty worker raises DU010');
select throws_ok($$ select * from durable.heartbeat(repeat('w', 201)) $$,
  'DU011', 'worker id is 201 characters long, the limit is 200', 'a 201-character worker id raises DU011');
select throws_ok($$ select * from durable.heartbeat('w', interval '0') $$,
  'DU011', null, 'a zero lease timeout raises DU011');
select throws_ok($$ select * from durable.heartbeat('w', interval '-5 seconds') $$,
  'DU011', null, 'a negative lease timeout raises DU011');
select is((select count(*)::int from durable.workers), 0, 'no worker was registered');

select * from finish();
rollback;
