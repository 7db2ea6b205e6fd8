-- durable.fork starts a new workflow from another's recorded steps before position N: same
-- name, input, queue, priority, policies and concurrency key (not its dedup key), its steps
-- 0..N-1 copied as its own (output or error kept) and replayed by the claim, not the later
-- ones; pending now, attempt 1; it records where it came from (forked_from, forked_at).
-- Regression (failed before the fix): the fork's first claim returns steps [] (take_work: "a
-- workflow claimed for the first time has recorded nothing", claims = 1), so a worker runs the
-- copied steps again instead of replaying them.
begin;
select plan(9);
select durable_test.pin();
select durable.set_queue('fq');

select durable.enqueue('order', '{"n": 7}', p_queue => 'fq', p_workflow_id => 'orig', p_priority => 4,
                       p_max_attempts => 5, p_concurrency_key => 'acme', p_dedup_key => 'once');
select durable.claim('w1', array['fq'], 1, interval '1 hour');
select durable.checkpoint('orig', (select lease from durable.workflows where id = 'orig'), 0, 'reserve', '"r"');
select durable.checkpoint('orig', (select lease from durable.workflows where id = 'orig'), 1, 'charge', null, '{"m": "declined"}');
select durable.checkpoint('orig', (select lease from durable.workflows where id = 'orig'), 2, 'charge_again', '"c"');
select durable.checkpoint('orig', (select lease from durable.workflows where id = 'orig'), 3, 'ship', '"s"');
select durable.fail('orig', (select lease from durable.workflows where id = 'orig'), '{"m": "ship failed"}', false);
select durable_test.advance(interval '1 hour');

select is(durable.fork('orig', 3, 'fork-1'), 'fork-1', 'fork returns the new id');
select results_eq(
  $$ select name, input, queue, priority, max_attempts, concurrency_key, dedup_key, status, attempt, run_at, created_at, forked_from, forked_at
       from durable.workflows where id = 'fork-1' $$,
  $$ values ('order'::text, '{"n": 7}'::jsonb, 'fq'::text, 4, 5, 'acme'::text, null::text, 'pending'::text, 1,
             durable.now(), durable.now(), 'orig'::text, 3) $$,
  'same name, input, queue, priority, attempts and key; no dedup key; pending now; where it came from');
select results_eq(
  $$ select step_id, name, output, error from durable.steps where workflow_id = 'fork-1' order by step_id $$,
  $$ values (0, 'reserve'::text, '"r"'::jsonb, null::jsonb), (1, 'charge', null, '{"m": "declined"}'), (2, 'charge_again', '"c"', null) $$,
  'the steps before position 3 are copied with their outcomes, not step 3');
select results_eq($$ select forked_from, forked_at from durable.runs where id = 'fork-1' $$,
  $$ values ('orig'::text, 3) $$, 'durable.runs shows where it came from');
select results_eq(
  $$ select workflow_id, steps from durable.claim('w2', array['fq'], 1, interval '1 hour') $$,
  $$ values ('fork-1'::text, '[{"step_id": 0, "name": "reserve", "output": "r", "error": null}, {"step_id": 1, "name": "charge", "output": null, "error": {"m": "declined"}}, {"step_id": 2, "name": "charge_again", "output": "c", "error": null}]'::jsonb) $$,
  'its claim replays the copied steps');
select results_eq(
  $$ select recorded, output from durable.checkpoint('fork-1', (select lease from durable.workflows where id = 'fork-1'), 3, 'ship', '"s2"') $$,
  $$ values (true, '"s2"'::jsonb) $$, 'step 3 runs again and records its new outcome');

-- position 0: nothing copied; beyond the last step: all of them
select durable.fork('orig', 0, 'fork-0');
select is((select count(*)::int from durable.steps where workflow_id = 'fork-0'), 0, 'fork at 0 copies no step');
select durable.fork('orig', 100, 'fork-all');
select is((select count(*)::int from durable.steps where workflow_id = 'fork-all'), 4, 'fork past the end copies all 4');

-- a generated id
select isnt(durable.fork('orig', 1), null, 'without p_new_id an id is generated');

select * from finish();
rollback;
