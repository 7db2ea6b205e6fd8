-- DU004 unknown queue; DU010 missing queues or worker; DU011 p_max outside 1..1000, bad lease
-- timeout or worker id. Nothing is claimed when a claim is refused.
begin;
select plan(12);

select durable.enqueue('wf', p_workflow_id => 'c1');

select throws_ok($$ select * from durable.claim('w', array['nope']) $$,
  'DU004', 'unknown queue nope', 'an unknown queue raises DU004');
select throws_ok($$ select * from durable.claim('w', array['default', 'nope']) $$,
  'DU004', null, 'an unknown queue after a known one raises DU004');
select throws_ok($$ select * from durable.claim('w', array[null::text]) $$,
  'DU004', 'unknown queue null', 'a null queue name raises DU004');
select throws_ok($$ select * from durable.claim('w', '{}') $$,
  'DU010', null, 'no queues raises DU010');
select throws_ok($$ select * from durable.claim('w', null) $$,
  'DU010', null, 'null queues raises DU010');
select throws_ok($$ select * from durable.claim(null) $$,
  'DU010', 'worker id must not be null or empty', 'a null worker raises DU010');
select throws_ok($$ select * from durable.claim('') $$,
  'DU010', null, 'an empty worker raises DU010');
select throws_ok($$ select * from durable.claim(repeat('w', 201)) $$,
  'DU011', null, 'a 201-character worker id raises DU011');
select throws_ok($$ select * from durable.claim('w', p_max => 0) $$,
  'DU011', 'max must be between 1 and 1000, got 0', 'p_max 0 raises DU011');
select throws_ok($$ select * from durable.claim('w', p_max => 1001) $$,
  'DU011', null, 'p_max 1001 raises DU011');
select throws_ok($$ select * from durable.claim('w', p_lease_timeout => interval '0') $$,
  'DU011', 'lease timeout must be positive, got 00:00:00', 'a zero lease timeout raises DU011');
select results_eq(
  $$ select (select status from durable.workflows where id = 'c1'),
            (select count(*)::int from durable.workers) $$,
  $$ values ('pending'::text, 0) $$,
  'the workflow is still pending and no worker was registered');

select * from finish();
rollback;
