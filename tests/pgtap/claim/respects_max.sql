-- claim hands out at most p_max workflows; default 1.
begin;
select plan(5);
select durable_test.pin();

select durable.enqueue('wf') from generate_series(1, 5);

select is((select count(*)::int from durable.claim('w')), 1, 'by default one workflow');
select is((select count(*)::int from durable.claim('w', p_max => 3)), 3, 'p_max 3 gives 3');
select is((select count(*)::int from durable.claim('w', p_max => 3)), 1, 'only 1 was left');
select is((select count(*)::int from durable.claim('w', p_max => 3)), 0, 'then none');
select is((select count(*)::int from durable.workflows where status = 'running' and owner = 'w'), 5,
  'all five are running, owned by the worker');

select * from finish();
rollback;
