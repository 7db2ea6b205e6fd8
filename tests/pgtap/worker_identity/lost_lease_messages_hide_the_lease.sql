-- No message, detail or hint of a refused call shows a lease the caller did not pass: DU001
-- from every function acting by lease (checkpoint, its error path, step_failed, complete, fail,
-- complete_and_claim) names the caller's own stale lease only, never the current one, which a
-- stale worker (or another login) could then use.
begin;
select plan(8);

create function pg_temp.refusal(p_sql text)
returns text
language plpgsql
as $$
declare
  v_message text;
  v_detail text;
  v_hint text;
begin
  execute p_sql;
  return 'no error';
exception when others then
  get stacked diagnostics v_message = message_text, v_detail = pg_exception_detail,
                          v_hint = pg_exception_hint;
  return sqlstate || ': ' || v_message || ' / ' || coalesce(v_detail, '') || ' / '
         || coalesce(v_hint, '');
end
$$;

select setval('durable.lease_seq', 987654320);
select * from durable_test.start(p_workflow_id => 'wi-msg');
select is((select lease from durable.workflows where id = 'wi-msg'), 987654321::bigint,
  'the current lease is 987654321');

create temp table refusals (fn text, said text);
insert into refusals values
  ('checkpoint', pg_temp.refusal($$ select * from durable.checkpoint('wi-msg', 123, 0, 's', '1') $$)),
  ('checkpoint error', pg_temp.refusal($$ select * from durable.checkpoint('wi-msg', 123, 0, 's', null, '{"e": 1}') $$)),
  ('step_failed', pg_temp.refusal($$ select * from durable.step_failed('wi-msg', 123, 0, 's', '{"e": 1}') $$)),
  ('complete', pg_temp.refusal($$ select durable.complete('wi-msg', 123, '1') $$)),
  ('fail', pg_temp.refusal($$ select * from durable.fail('wi-msg', 123, '{"e": 1}') $$)),
  ('complete_and_claim', pg_temp.refusal($$ select * from durable.complete_and_claim('wi-msg', 123, '1', 'worker-a') $$)),
  ('complete_and_claim step', pg_temp.refusal($$ select * from durable.complete_and_claim('wi-msg', 123, '1', 'worker-a', p_step_id => 0, p_step_name => 's') $$));

select is_empty($$ select fn, said from refusals where said not like 'DU001: %' $$,
  'every call is refused with DU001');
select is_empty($$ select fn, said from refusals where said like '%987654321%' $$,
  'no refusal shows the current lease');
select is((select said from refusals where fn = 'checkpoint'),
  'DU001: lease 123 on workflow wi-msg is lost (status running) / {"lease": "123", "reason": "lease_lost", "status": "running", "workflow_id": "wi-msg"} / Another worker claimed it, or it was released or finished: stop executing it.',
  'checkpoint''s DU001 names the caller''s lease and the status, not the current lease');

-- released, then claimed again: the old lease still learns nothing about the new one
select durable.release('worker-a');
select lease from durable.claim('worker-b');
select ok(pg_temp.refusal($q$ select * from durable.checkpoint('wi-msg', 987654321, 0, 's', '1') $q$)
            not like '%987654322%',
  'the previous lease after a reclaim does not show the new lease');
select is(pg_temp.refusal($$ select * from durable.checkpoint('wi-msg', 987654321, 0, 's', '1') $$),
  'DU001: lease 987654321 on workflow wi-msg is lost (status running) / {"lease": "987654321", "reason": "lease_lost", "status": "running", "workflow_id": "wi-msg"} / Another worker claimed it, or it was released or finished: stop executing it.',
  'after a reclaim, DU001 shows only the caller''s old lease');
select is((select count(*)::int from durable.steps), 0, 'nothing was recorded');
select is((select count(*)::int from durable.errors), 0, 'no error was logged');

select * from finish();
rollback;
