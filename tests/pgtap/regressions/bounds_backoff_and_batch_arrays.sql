-- Found by the fault runs: enqueue accepted a backoff so long that every later durable.fail
-- overflowed the clock (22008), and fail_batch raised 0A000 for a two-dimensional array. Both
-- are refused up front now with DU011, before anything is written.
begin;
select plan(4);
select durable_test.pin();

select throws_ok(
  $$ select * from durable.enqueue('w', p_backoff_base => '1000000 years',
                                   p_backoff_max => '1000000 years') $$,
  'DU011', 'backoff_max must be 10 years or less, got 1000000 years',
  'enqueue refuses a backoff over 10 years');
select lives_ok(
  $$ select * from durable.enqueue('w', p_workflow_id => 'ten', p_backoff_base => '1 day',
                                   p_backoff_max => '10 years') $$,
  'a 10-year backoff is accepted');

select throws_ok(
  $$ select * from durable.fail_batch(array[['a'], ['b']], array[[1], [2]]::bigint[], array[['{}'], ['{}']]::jsonb[]) $$,
  'DU011', 'workflow ids, leases and errors must be one-dimensional arrays',
  'fail_batch refuses two-dimensional arrays');
select throws_ok(
  $$ select * from durable.complete_batch(array[['a'], ['b']], array[[1], [2]]::bigint[], array[['{}'], ['{}']]::jsonb[]) $$,
  'DU011', 'workflow ids, leases and outputs must be one-dimensional arrays',
  'complete_batch refuses two-dimensional arrays');

select * from finish();
rollback;
