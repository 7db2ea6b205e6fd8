-- durable.list_runs and list_runs_meta refuse bad arguments with a DU code before reading
-- anything: DU010 null limit, a created_at cursor without its id; DU011 limit outside 1..1000,
-- an unknown, empty or null status, an empty time range; DU004 unknown queue; DU003 an unknown
-- cursor id. durable.index_inputs(null): DU010.
begin;
select plan(15);

select throws_ok($$ select * from durable.list_runs(p_limit => null) $$, 'DU010',
  'limit must not be null', 'null limit: DU010');
select throws_ok($$ select * from durable.list_runs(p_limit => 0) $$, 'DU011',
  'limit must be between 1 and 1000, got 0', 'limit 0: DU011');
select throws_ok($$ select * from durable.list_runs(p_limit => 1001) $$, 'DU011',
  'limit must be between 1 and 1000, got 1001', 'limit 1001: DU011');
select throws_ok($$ select * from durable.list_runs(p_status => '{done}') $$, 'DU011',
  'status must be a non-empty array of {pending,running,waiting,succeeded,failed,cancelled}, got {done}',
  'unknown status: DU011');
select throws_ok($$ select * from durable.list_runs(p_status => '{}') $$, 'DU011', null,
  'empty status array: DU011');
select throws_ok($$ select * from durable.list_runs(p_status => '{failed,NULL}') $$, 'DU011', null,
  'null status: DU011');
select throws_ok($$ select * from durable.list_runs(p_queue => 'no-such-queue') $$, 'DU004',
  'unknown queue no-such-queue', 'unknown queue: DU004');
select throws_ok($$ select * from durable.list_runs(p_created_after => '2030-01-02',
                                                    p_created_before => '2030-01-01') $$,
  'DU011', null, 'empty created range: DU011');
select throws_ok($$ select * from durable.list_runs(p_finished_after => '2030-01-01',
                                                    p_finished_before => '2030-01-01') $$,
  'DU011', null, 'empty finished range: DU011');
select throws_ok($$ select * from durable.list_runs(p_before_created_at => '2030-01-01') $$,
  'DU010', 'p_before_created_at needs p_before_id: a page starts after one run',
  'a created_at cursor without its id: DU010');
select throws_ok($$ select * from durable.list_runs(p_before_id => 'no-such-run') $$, 'DU003',
  'unknown workflow no-such-run: the page cannot start after it', 'unknown cursor id: DU003');
select throws_ok($$ select * from durable.list_runs_meta(p_limit => 0) $$, 'DU011', null,
  'list_runs_meta: limit 0: DU011');
select throws_ok($$ select * from durable.list_runs_meta(p_status => '{done}') $$, 'DU011', null,
  'list_runs_meta: unknown status: DU011');
select throws_ok($$ select * from durable.list_runs_meta(p_queue => 'no-such-queue') $$, 'DU004',
  null, 'list_runs_meta: unknown queue: DU004');
select throws_ok($$ select durable.index_inputs(null) $$, 'DU010', 'p_on must not be null',
  'index_inputs(null): DU010');

select * from finish();
rollback;
