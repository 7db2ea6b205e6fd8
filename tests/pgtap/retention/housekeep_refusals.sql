-- durable.housekeep refuses a null or empty worker id (DU010), one over 200 characters (DU011)
-- and a worker id registered by another login (DU015), and deletes nothing then.
begin;
select plan(5);
select durable_test.pin();
update durable.settings set retain_succeeded = interval '1 day';
select durable_test.make('hr-1', 'succeeded');
select durable_test.advance(interval '2 days');
insert into durable.workers (id, started_at, heartbeat_at, lease_timeout, expires_at, login)
values ('hr-theirs', durable.now(), durable.now(), interval '30 seconds',
        durable.now() + interval '30 seconds', 'someone_else');

select throws_ok($$ select * from durable.housekeep(null) $$, 'DU010', null, 'a null worker id: DU010');
select throws_ok($$ select * from durable.housekeep('') $$, 'DU010', null, 'an empty worker id: DU010');
select throws_ok($$ select * from durable.housekeep(repeat('w', 201)) $$, 'DU011', null,
  'a worker id over 200 characters: DU011');
select throws_ok($$ select * from durable.housekeep('hr-theirs') $$, 'DU015', null,
  'the worker id of another login: DU015');
select is((select count(*)::int from durable.workflows where id = 'hr-1'), 1, 'nothing was deleted');

select * from finish();
rollback;
