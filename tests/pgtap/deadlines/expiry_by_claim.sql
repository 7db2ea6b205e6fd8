-- When a workflow's deadline passes, the next claim of any worker (whatever its queues)
-- cancels it and its non-detached unfinished descendants: status cancelled, owner and lease
-- cleared, the workflow's error {"type": "DeadlineExceeded", ...}. Pending, running and
-- waiting workflows alike; nothing before the deadline; the claim hands out only what has not
-- expired. The worker that ran one learns it at its next checkpoint (DU002) or heartbeat.
begin;
\ir ../waiting_fixtures.sql
select plan(9);
select durable_test.pin();
select durable.set_queue('ex_q');
select durable.set_queue('ex_kids');
select durable.set_queue('ex_idle');
select durable.set_queue('ex_z');

select durable.enqueue('wf', p_queue => 'ex_q', p_workflow_id => 'ex-running', p_timeout => interval '1 hour');
select durable_test.claim_id('ex-running', 'worker-a', 'ex_q') as lr \gset
select durable.start_child('ex-running', :lr, 0, 'kid', p_child_id => 'ex-kid', p_queue => 'ex_kids');
select durable.enqueue('wf', p_queue => 'ex_q', p_workflow_id => 'ex-waiting', p_timeout => interval '1 hour');
select durable_test.claim_id('ex-waiting', 'worker-a', 'ex_q') as lw \gset
select results_eq(format($$ select parked from durable.sleep('ex-waiting', %s, 0, interval '1 day') $$, :lw),
  $$ values (true) $$, 'one run sleeps for a day');
-- nobody claims from ex_idle until the end
select durable.enqueue('wf', p_queue => 'ex_idle', p_workflow_id => 'ex-pending', p_timeout => interval '1 hour');
select durable.enqueue('wf', p_queue => 'ex_idle', p_workflow_id => 'ex-later', p_timeout => interval '2 hours');

select durable_test.advance(interval '59 minutes');
select durable.heartbeat('worker-a');
select is((select count(*)::int from durable.claim('worker-z', array['ex_z'])), 0,
  'a claim before the deadline finds nothing to do on its queue ...');
select results_eq($$ select id, status from durable.workflows order by id $$,
  $$ values ('ex-kid'::text, 'pending'::text), ('ex-later', 'pending'), ('ex-pending', 'pending'),
            ('ex-running', 'running'), ('ex-waiting', 'waiting') $$,
  '... and cancels nothing');

select durable_test.advance(interval '1 minute');
select is((select count(*)::int from durable.claim('worker-z', array['ex_z'])), 0,
  'a claim at the deadline, on a queue of its own ...');
select results_eq($$ select id, status from durable.workflows order by id $$,
  $$ values ('ex-kid'::text, 'cancelled'::text), ('ex-later', 'pending'), ('ex-pending', 'cancelled'),
            ('ex-running', 'cancelled'), ('ex-waiting', 'cancelled') $$,
  '... cancels the pending, running and waiting workflows whose deadline passed, and the child');
select ok((select bool_and(error ->> 'type' = 'DeadlineExceeded' and owner is null and lease is null
                           and owner_login is null and finished_at = durable_test.t0() + interval '1 hour')
             from durable.workflows where id in ('ex-running', 'ex-waiting', 'ex-pending')),
  'each with the error DeadlineExceeded, finished now, without owner or lease');
select throws_ok(format($$ select * from durable.checkpoint('ex-running', %s, 1, 's', '1') $$, :lr),
  'DU002', null, 'its worker learns it at its next checkpoint');
select is((select count(*)::int from durable.heartbeat('worker-a')), 0, 'or heartbeat');
select results_eq($$ select workflow_id from durable.claim('worker-y', array['ex_idle'], 10) $$,
  $$ values ('ex-later'::text) $$, 'a claim hands out only what has not expired');

select * from finish();
rollback;
