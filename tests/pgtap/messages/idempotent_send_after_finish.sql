-- A send repeated with its idempotency key returns the first message's id even when the
-- destination has finished since (it received the first one and returned): a retried send
-- must not fail with DU013. Found by the CLI test of durable send (its second send raced the
-- run's finish). A new key to a finished workflow is still DU013.
begin;
\ir ../waiting_fixtures.sql
select plan(3);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'ia');
select durable.send('ia', '{"n": 1}', 'confirm', 'click-1') as first \gset
select durable.complete('ia', durable_test.lease_of('ia'), '1');

select is(durable.send('ia', '{"n": 2}', 'confirm', 'click-1'), :first::bigint,
  'the same key again returns the first message''s id after the finish');
select is((select count(*)::int from durable.messages where workflow_id = 'ia'), 1,
  'and sends nothing');
select throws_ok($$ select durable.send('ia', '{"n": 3}', 'confirm', 'click-2') $$, 'DU013', null,
  'a new key to the finished workflow is refused (DU013)');

select * from finish();
rollback;
