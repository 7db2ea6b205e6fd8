-- DU011: a queue name outside [A-Za-z0-9][A-Za-z0-9_.:-]{0,99}, or a negative concurrency.
begin;
select plan(7);

select throws_ok($$ select durable.set_queue(null) $$, 'DU011', 'queue name null is not valid', 'a null name raises DU011');
select throws_ok($$ select durable.set_queue('') $$, 'DU011', null, 'an empty name raises DU011');
select throws_ok($$ select durable.set_queue('-x') $$, 'DU011', null, 'a name starting with - raises DU011');
select throws_ok($$ select durable.set_queue('a b') $$, 'DU011', null, 'a space raises DU011');
select throws_ok($$ select durable.set_queue(repeat('q', 101)) $$, 'DU011', null, 'a 101-character name raises DU011');
select throws_ok($$ select durable.set_queue('q', -1) $$, 'DU011',
  'concurrency must be 1 or more, or 0 for no limit, got -1', 'concurrency -1 raises DU011');
select set_eq($$ select name from durable.queues $$, $$ values ('default') $$, 'no queue was created');

select * from finish();
rollback;
