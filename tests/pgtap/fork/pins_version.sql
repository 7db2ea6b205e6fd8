-- fork p_version pins the fork to that code version: only a worker of that version claims it
-- (e.g. a fixed version run from the step a bug broke). Without it the fork is unpinned, taken
-- by the next claimer's version, even when the original was pinned.
begin;
select plan(5);
select durable_test.pin();

select durable.register('old', '[{"name": "order"}]', 'v1');
select durable.register('new', '[{"name": "order"}]', 'v2');
select durable.enqueue('order', p_workflow_id => 'orig');
select durable.claim('old', array['default'], 1, interval '1 hour');
select is((select version from durable.workflows where id = 'orig'), 'v1', 'the original ran on v1');

select durable.fork('orig', 0, 'on-v2', 'v2');
select is((select version from durable.workflows where id = 'on-v2'), 'v2', 'the fork is pinned to v2');
select is((select count(*)::int from durable.claim('old', array['default'], 10, interval '1 hour')), 0,
  'a v1 worker does not take it');
select results_eq($$ select workflow_id from durable.claim('new', array['default'], 10, interval '1 hour') $$,
  $$ values ('on-v2'::text) $$, 'a v2 worker does');

select durable.fork('orig', 0, 'unpinned');
select is((select version from durable.workflows where id = 'unpinned'), null,
  'without p_version the fork is not pinned');

select * from finish();
rollback;
