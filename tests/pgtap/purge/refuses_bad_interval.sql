-- DU011: purge needs an interval of zero or more.
begin;
select plan(3);

select durable_test.make('f', 'failed');
select throws_ok($$ select durable.purge(interval '-1 day') $$, 'DU011', null, 'a negative interval raises DU011');
select throws_ok($$ select durable.purge(null) $$, 'DU011', null, 'null raises DU011');
select is((select count(*)::int from durable.workflows), 1, 'nothing was deleted');

select * from finish();
rollback;
