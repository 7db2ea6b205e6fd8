-- DU011: negative delay, run_at and delay together, max_attempts below 1, a backoff that is
-- not 0 < base <= max, max_lost_leases outside 1..1000, and names or ids longer than 200
-- characters. (A null retry setting takes the default: enqueue/takes_registered_defaults.sql.)
begin;
select plan(13);

select throws_ok($$ select * from durable.enqueue('wf', p_delay => interval '-1 second') $$,
  'DU011', 'delay must not be negative, got -00:00:01', 'a negative delay raises DU011');
select throws_ok(
  $$ select * from durable.enqueue('wf', p_run_at => now(), p_delay => interval '1 second') $$,
  'DU011', 'pass run_at or delay, not both', 'run_at and delay together raise DU011');
select throws_ok($$ select * from durable.enqueue('wf', p_max_attempts => 0) $$,
  'DU011', 'max_attempts must be 1 or more, got 0', 'max_attempts 0 raises DU011');
select throws_ok($$ select * from durable.enqueue('wf', p_max_lost_leases => 0) $$,
  'DU011', 'max_lost_leases must be between 1 and 1000, got 0', 'max_lost_leases 0 raises DU011');
select throws_ok($$ select * from durable.enqueue('wf', p_max_lost_leases => 1001) $$,
  'DU011', null, 'max_lost_leases 1001 raises DU011');
select throws_ok($$ select * from durable.enqueue('wf', p_backoff_base => interval '0') $$,
  'DU011', null, 'a zero backoff base raises DU011');
select throws_ok($$ select * from durable.enqueue('wf', p_backoff_base => interval '-1 second') $$,
  'DU011', null, 'a negative backoff base raises DU011');
select throws_ok(
  $$ select * from durable.enqueue('wf', p_backoff_base => interval '2 hours',
                                   p_backoff_max => interval '1 hour') $$,
  'DU011', null, 'a backoff max below the base raises DU011');
select throws_ok($$ select * from durable.enqueue(repeat('n', 201)) $$,
  'DU011', 'workflow name is 201 characters long, the limit is 200',
  'a 201-character name raises DU011');
select throws_ok($$ select * from durable.enqueue('wf', p_workflow_id => repeat('i', 201)) $$,
  'DU011', 'workflow id is 201 characters long, the limit is 200',
  'a 201-character id raises DU011');
select is((select count(*)::int from durable.workflows), 0, 'nothing was written');

-- the limits themselves are accepted
select lives_ok(
  $$ select * from durable.enqueue(repeat('n', 200), p_workflow_id => repeat('i', 200),
                                   p_max_attempts => 1, p_delay => interval '0',
                                   p_backoff_base => interval '1 hour',
                                   p_backoff_max => interval '1 hour') $$,
  '200 characters, max_attempts 1, delay 0 and base = max are accepted');
select is((select count(*)::int from durable.workflows), 1, 'and written');

select * from finish();
rollback;
