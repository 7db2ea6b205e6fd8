-- heartbeat's p_connections (server connections the worker holds) and p_concurrency_limit (its
-- adaptive limit on the workflows it holds at once, back-pressure) are shown in
-- durable.worker_status; a heartbeat that does not say keeps the last report, and one report
-- does not erase another. Refusals: DU011 for a negative count.
begin;
select plan(7);
select durable_test.pin();

select durable.heartbeat('share-worker');
select results_eq($$ select connections, concurrency_limit from durable.worker_status
                     where id = 'share-worker' $$,
  $$ values (null::integer, null::integer) $$, 'nothing reported: null');
select durable.heartbeat('share-worker', p_busy => 3, p_connections => 11,
                         p_concurrency_limit => 17);
select results_eq($$ select busy, connections, concurrency_limit from durable.worker_status
                     where id = 'share-worker' $$,
  $$ values (3, 11, 17) $$, 'the three reports are shown');
select durable.heartbeat('share-worker', p_concurrency_limit => 5);
select results_eq($$ select busy, connections, concurrency_limit from durable.worker_status
                     where id = 'share-worker' $$,
  $$ values (3, 11, 5) $$, 'a new limit alone keeps the other reports');
select durable.heartbeat('share-worker');
select results_eq($$ select busy, connections, concurrency_limit from durable.worker_status
                     where id = 'share-worker' $$,
  $$ values (3, 11, 5) $$, 'a heartbeat that does not say keeps the last reports');
select throws_ok($$ select * from durable.heartbeat('share-worker', p_connections => -1) $$,
  'DU011', 'connections must be 0 or more, got -1', 'negative connections raise DU011');
select throws_ok($$ select * from durable.heartbeat('share-worker', p_concurrency_limit => -2) $$,
  'DU011', 'concurrency limit must be 0 or more, got -2', 'a negative limit raises DU011');
select results_eq($$ select connections, concurrency_limit from durable.worker_status
                     where id = 'share-worker' $$,
  $$ values (11, 5) $$, 'a refused report writes nothing');

select * from finish();
rollback;
