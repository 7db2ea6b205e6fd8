-- durable.send's refusals, before anything is written: DU003 an unknown destination, DU013 a
-- finished one (succeeded, failed, cancelled: nobody will receive it), DU010 a null message or
-- topic, DU008 a message over the payload limit. Pending, running and waiting destinations
-- take messages.
begin;
\ir ../waiting_fixtures.sql
select plan(11);
select durable_test.pin();

update durable.settings set max_payload_bytes = 2048;
select durable_test.make('sx-succeeded', 'succeeded');
select durable_test.make('sx-failed', 'failed');
select durable_test.make('sx-cancelled', 'cancelled');
select durable_test.make('sx-pending', 'pending');
select durable_test.make('sx-running', 'running');
select durable_test.make('sx-waiting', 'waiting');

select throws_ok($$ select durable.send('nobody', '1') $$, 'DU003', null,
  'a send to an unknown workflow raises DU003');
select throws_ok($$ select durable.send('sx-succeeded', '1') $$, 'DU013', null,
  'a send to a succeeded workflow raises DU013');
select throws_ok($$ select durable.send('sx-failed', '1') $$, 'DU013', null,
  'a send to a failed workflow raises DU013');
select throws_ok($$ select durable.send('sx-cancelled', '1') $$, 'DU013', null,
  'a send to a cancelled workflow raises DU013');
select ok(durable_test.sqlstate($$ select durable.send(null, '1') $$) in ('DU010', 'DU003'),
  'a null destination is refused (DU010 or DU003)');
select throws_ok($$ select durable.send('sx-pending', null) $$, 'DU010', null,
  'a null message raises DU010');
select throws_ok($$ select durable.send('sx-pending', '1', null) $$, 'DU010', null,
  'a null topic raises DU010');
select throws_ok(
  $$ select durable.send('sx-pending', jsonb_build_object('s', repeat(md5('b'), 100))) $$,
  'DU008', null, 'a message over the payload limit raises DU008');
select is((select count(*)::int from durable.messages), 0, 'nothing was written');

select is((select count(*)::int from (select durable.send(d, '1')
                                        from unnest(array['sx-pending', 'sx-running', 'sx-waiting']) d) s), 3,
  'pending, running and waiting workflows take messages');
select is((select count(*)::int from durable.messages), 3, 'three messages were written');

select * from finish();
rollback;
