-- A worker whose heartbeat was late by more than its lease timeout, holding nothing, has its
-- row forgotten by another worker's heartbeat; when it comes back (heartbeat or claim) its
-- row gets its registered names and version back, so it never claims other names or leaves a
-- run unpinned. Regression (chaos run, reproduced here): the recreated row had no names and no
-- version; its claim took a run unpinned, and a worker of another version replayed it.
begin;
select plan(6);
select durable_test.pin();

select durable.set_queue('fr_q');
select durable.register('fr-a', '[{"name": "versioned_flow", "queue": "fr_q"}]', 'v1', interval '1 second');
select durable.register('fr-b', '[{"name": "versioned_flow", "queue": "fr_q"}]', 'v2', interval '1 second');
select durable_test.advance(interval '2 seconds');
select * from durable.heartbeat('fr-b', interval '1 second');   -- forgets fr-a's row
select is((select count(*)::int from durable.workers where id = 'fr-a'), 0, 'fr-a''s row was forgotten');
select * from durable.heartbeat('fr-a', interval '1 second');   -- fr-a was only late
select results_eq($$ select workflow_names, version from durable.workers where id = 'fr-a' $$,
  $$ values (array['versioned_flow'], 'v1'::text) $$, 'its row is back with its registration');

select durable.enqueue('versioned_flow', '[1]', p_workflow_id => 'fr-run');
select durable.enqueue('other_flow', p_queue => 'fr_q', p_workflow_id => 'fr-other');
select results_eq($$ select workflow_id from durable.claim('fr-a', array['fr_q'], 5, interval '1 second') $$,
  $$ values ('fr-run'::text) $$, 'it claims only its names');
select is((select version from durable.workflows where id = 'fr-run'), 'v1', 'and pins the run to its version');

-- the same when the late worker's first call back is a claim
select durable_test.advance(interval '2 seconds');
select * from durable.heartbeat('fr-b', interval '1 second');   -- forgets fr-a's row again
select durable.release('fr-a');
select durable.enqueue('versioned_flow', '[2]', p_workflow_id => 'fr-run-2');
select results_eq($$ select workflow_id from durable.claim('fr-a', array['fr_q'], 5, interval '1 second') $$,
  $$ values ('fr-run'::text), ('fr-run-2') $$, 'a claim that recreates the row takes only its names');
select is((select version from durable.workflows where id = 'fr-run-2'), 'v1',
  'and pins what it takes to its version');

select * from finish();
rollback;
