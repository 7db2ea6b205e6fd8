-- DU001 and DU002 carry a DETAIL that is a JSON object, so a driver in any language tells why a
-- lease was refused without parsing the message: {"reason", "workflow_id", "lease" (the caller's,
-- as a string), "status" (now), "deadline" (deadline_passed only)}. The SQLSTATEs and messages are
-- unchanged; every function acting by lease (checkpoint, step_failed, complete, fail,
-- complete_and_claim, the waits) raises through durable.fence, so all carry it.
begin;
\ir ../waiting_fixtures.sql
select plan(16);
select durable_test.pin();

-- sqlstate, and the DETAIL parsed as jsonb (null when there is none)
create function pg_temp.refusal(p_sql text, out state text, out detail jsonb, out message text)
language plpgsql
as $$
declare
  v_detail text;
begin
  execute p_sql;
  state := 'no error';
exception when others then
  get stacked diagnostics v_detail = pg_exception_detail, message = message_text;
  state := sqlstate;
  detail := nullif(v_detail, '')::jsonb;
end
$$;

-- lease lost: a stale lease on a running workflow
select durable.enqueue('wf', p_workflow_id => 'fd-run');
select durable_test.claim_id('fd-run') as lease \gset
select results_eq(
  format($$ select state, detail from pg_temp.refusal('select * from durable.checkpoint(''fd-run'', %s, 0, ''s'', ''1'')') $$, :lease - 1),
  format($$ values ('DU001', '{"reason": "lease_lost", "workflow_id": "fd-run", "lease": "%s", "status": "running"}'::jsonb) $$, :lease - 1),
  'checkpoint with a stale lease: DU001, detail lease_lost with the caller''s lease and the status');
select is((pg_temp.refusal(format($$ select * from durable.checkpoint('fd-run', %s, 0, 's', '1') $$, :lease - 1))).message,
  format('lease %s on workflow fd-run is lost (status running)', :lease - 1),
  'the message is unchanged');
select is((pg_temp.refusal(format($$ select * from durable.step_failed('fd-run', %s, 0, 's', '{"e": 1}') $$, :lease - 1))).detail ->> 'reason',
  'lease_lost', 'step_failed: lease_lost');
select is((pg_temp.refusal(format($$ select * from durable.fail('fd-run', %s, '{"e": 1}') $$, :lease - 1))).detail ->> 'reason',
  'lease_lost', 'fail: lease_lost');
select is((pg_temp.refusal(format($$ select * from durable.sleep('fd-run', %s, 0, interval '1 hour') $$, :lease - 1))).detail ->> 'reason',
  'lease_lost', 'sleep (a wait): lease_lost');
select is((pg_temp.refusal(format($$ select * from durable.complete_and_claim('fd-run', %s, '1', 'w') $$, :lease - 1))).detail ->> 'reason',
  'lease_lost', 'complete_and_claim: lease_lost');

-- lease lost: the run finished, its lease is gone
select durable.complete('fd-run', :lease, '1');
select results_eq(
  format($$ select state, detail from pg_temp.refusal('select durable.complete(''fd-run'', %s, ''1'')') $$, :lease),
  format($$ values ('DU001', '{"reason": "lease_lost", "workflow_id": "fd-run", "lease": "%s", "status": "succeeded"}'::jsonb) $$, :lease),
  'complete of a finished run: DU001, status succeeded');

-- cancelled
select durable.enqueue('wf', p_workflow_id => 'fd-cancel');
select durable_test.claim_id('fd-cancel') as lease \gset
select durable.cancel('fd-cancel');
select results_eq(
  format($$ select state, detail from pg_temp.refusal('select * from durable.checkpoint(''fd-cancel'', %s, 0, ''s'', ''1'')') $$, :lease),
  format($$ values ('DU002', '{"reason": "cancelled", "workflow_id": "fd-cancel", "lease": "%s", "status": "cancelled"}'::jsonb) $$, :lease),
  'checkpoint of a cancelled run: DU002, detail cancelled');
select is((pg_temp.refusal(format($$ select durable.complete('fd-cancel', %s, '1') $$, :lease))).detail ->> 'reason',
  'cancelled', 'complete: cancelled');
select is((pg_temp.refusal(format($$ select * from durable.fail('fd-cancel', %s, '{"e": 1}') $$, :lease))).detail ->> 'reason',
  'cancelled', 'fail: cancelled');
select is((pg_temp.refusal(format($$ select * from durable.recv('fd-cancel', %s, 0) $$, :lease))).detail ->> 'reason',
  'cancelled', 'recv (a wait): cancelled');

-- deadline passed (not yet cancelled by a claim or heartbeat)
select durable.enqueue('wf', p_workflow_id => 'fd-late', p_timeout => interval '1 hour');
select durable_test.claim_id('fd-late') as lease \gset
select durable_test.advance(interval '1 hour');
select results_eq(
  format($$ select state, detail from pg_temp.refusal('select * from durable.checkpoint(''fd-late'', %s, 0, ''s'', ''1'')') $$, :lease),
  format($$ values ('DU002', jsonb_build_object('reason', 'deadline_passed', 'workflow_id', 'fd-late', 'lease', '%s',
                                                'status', 'running', 'deadline', durable_test.t0() + interval '1 hour')) $$, :lease),
  'checkpoint past the deadline: DU002, detail deadline_passed with the deadline');
select is(((pg_temp.refusal(format($$ select * from durable.step_failed('fd-late', %s, 0, 's', '{"e": 1}') $$, :lease))).detail ->> 'deadline')::timestamptz,
  durable_test.t0() + interval '1 hour', 'step_failed: the deadline reads back as a timestamptz');
select is((pg_temp.refusal(format($$ select durable.set_event('fd-late', %s, 0, 'k', '1') $$, :lease))).detail ->> 'reason',
  'deadline_passed', 'set_event (a wait step): deadline_passed');

-- the lease is a JSON string: a bigint past 2^53 keeps its digits through any JSON parser
select is((pg_temp.refusal($$ select * from durable.checkpoint('fd-late', 9007199254740993, 0, 's', '1') $$)).detail -> 'lease',
  to_jsonb('9007199254740993'::text), 'the caller''s lease is a JSON string with every digit');

-- other refusals keep no such detail
select is((pg_temp.refusal($$ select * from durable.checkpoint('fd-nobody', 1, 0, 's', '1') $$)).detail,
  null, 'DU003 (unknown workflow) has no detail');

select * from finish();
rollback;
