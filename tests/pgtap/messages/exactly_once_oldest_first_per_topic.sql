-- Each recv takes the oldest unconsumed message of its topic, and a message is taken once: two
-- recv at different steps get different messages; a recv called again at a recorded step
-- (a replay, or a new worker after a reclaim) returns the message it recorded and consumes no
-- other; topics do not mix; the message a step recorded stays consumed by that step.
begin;
\ir ../waiting_fixtures.sql
select plan(9);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'eo', p_lease_timeout => interval '10 seconds');
select durable_test.lease_of('eo') as lease \gset
select durable.send('eo', '"a1"', 'a') as a1 \gset
select durable_test.advance(interval '1 second');
select durable.send('eo', '"b1"', 'b') as b1 \gset
select durable_test.advance(interval '1 second');
select durable.send('eo', '"a2"', 'a') as a2 \gset
select durable.send('eo', '"a3"', 'a') as a3 \gset

select results_eq(format($$ select output ->> 'message' from durable.recv('eo', %s, 0, 'a') $$, :lease),
  $$ values ('a1'::text) $$, 'step 0 takes the oldest message of topic a');
select results_eq(format($$ select output ->> 'message' from durable.recv('eo', %s, 1, 'b') $$, :lease),
  $$ values ('b1'::text) $$, 'step 1 takes topic b''s');
select results_eq(format($$ select output ->> 'message' from durable.recv('eo', %s, 2, 'a') $$, :lease),
  $$ values ('a2'::text) $$, 'step 2 takes the next of topic a');
select results_eq(format($$ select output ->> 'message' from durable.recv('eo', %s, 0, 'a') $$, :lease),
  $$ values ('a1'::text) $$, 'step 0 again: the message it recorded, not another');

-- the lease is lost; another worker replays and goes on
select durable_test.advance(interval '11 seconds');
select durable_test.claim_id('eo', 'worker-b') as lease2 \gset
select results_eq(
  format($$ select output ->> 'message' from durable.recv('eo', %s, 2, 'a') $$, :lease2),
  $$ values ('a2'::text) $$, 'after a reclaim, step 2 again returns what it recorded');
select results_eq(format($$ select output ->> 'message' from durable.recv('eo', %s, 3, 'a') $$, :lease2),
  $$ values ('a3'::text) $$, 'step 3 takes the last one');
select results_eq(format($$ select parked from durable.recv('eo', %s, 4, 'a') $$, :lease2),
  $$ values (true) $$, 'step 4 finds none left and parks');

select results_eq($$ select id, consumed_step from durable.messages order by id $$,
  format($$ values (%s::bigint, 0), (%s, 1), (%s, 2), (%s, 3) $$, :a1, :b1, :a2, :a3),
  'each message consumed once, by the step that recorded it');
select results_eq(
  $$ select step_id, (output ->> 'message_id')::bigint from durable.steps where workflow_id = 'eo' order by step_id $$,
  format($$ values (0, %s::bigint), (1, %s), (2, %s), (3, %s) $$, :a1, :b1, :a2, :a3),
  'each step recorded the id of the message it consumed');

select * from finish();
rollback;
