-- DU015: a lease works only for the login whose worker holds it. Another login that has the
-- lease (guessed: leases come from a sequence) cannot checkpoint, fail a step, complete or fail
-- the workflow, one or in a batch; nothing is written. A wrong lease is still DU001 (a stale
-- worker of another login learns that it lost the lease, as before).
begin;
select plan(15);

create role durable_test_login_a login;
create role durable_test_login_b login;
grant durable_worker to durable_test_login_a, durable_test_login_b;
select durable.enqueue('wf', p_workflow_id => 'wi-lease-1');

set local session authorization durable_test_login_a;
select is((select workflow_id from durable.claim('wi-a')), 'wi-lease-1', 'login A claims as wi-a');
select results_eq($$ select recorded from durable.checkpoint('wi-lease-1',
                       (select lease from durable.heartbeat('wi-a')), 0, 's0', '0') $$,
  $$ values (true) $$, 'login A checkpoints with its lease');
reset session authorization;
select set_config('wi.lease', lease::text, true) from durable.workflows where id = 'wi-lease-1';

set local session authorization durable_test_login_b;
select durable.heartbeat('wi-b');
select throws_ok(format($$ select * from durable.checkpoint('wi-lease-1', %s, 1, 's1', '1') $$,
                        current_setting('wi.lease')),
  'DU015', 'workflow wi-lease-1 is held by a worker of another login',
  'login B cannot checkpoint with wi-a''s lease');
select throws_ok(format($$ select * from durable.checkpoint('wi-lease-1', %s, 1, 's1', null, '{"e": 1}') $$,
                        current_setting('wi.lease')),
  'DU015', null, 'login B cannot record a step error with wi-a''s lease');
select throws_ok(format($$ select * from durable.step_failed('wi-lease-1', %s, 1, 's1', '{"e": 1}', 3) $$,
                        current_setting('wi.lease')),
  'DU015', null, 'login B cannot report a failed step try with wi-a''s lease');
select throws_ok(format($$ select durable.complete('wi-lease-1', %s, '"stolen"') $$,
                        current_setting('wi.lease')),
  'DU015', 'workflow wi-lease-1 is held by a worker of another login',
  'login B cannot complete with wi-a''s lease');
select throws_ok(format($$ select * from durable.fail('wi-lease-1', %s, '{"e": 1}') $$,
                        current_setting('wi.lease')),
  'DU015', null, 'login B cannot fail with wi-a''s lease');
select throws_ok(format($$ select * from durable.complete_and_claim('wi-lease-1', %s, '"stolen"', 'wi-b') $$,
                        current_setting('wi.lease')),
  'DU015', null, 'login B cannot complete_and_claim with wi-a''s lease (its own worker id)');
select throws_ok(format($$ select * from durable.complete_and_claim('wi-lease-1', %s, '"stolen"', 'wi-b',
                                   p_step_id => 1, p_step_name => 's1') $$,
                        current_setting('wi.lease')),
  'DU015', null, 'login B cannot record the last step through complete_and_claim');
select throws_ok(format($$ select * from durable.complete_and_claim('wi-lease-1', %s, '"stolen"', 'wi-b', p_max => 0) $$,
                        current_setting('wi.lease')),
  'DU015', null, 'login B cannot complete_and_claim with p_max 0 either');
select throws_ok(format($$ select * from durable.complete_batch(array['wi-lease-1'], array[%s::bigint], array['"stolen"'::jsonb]) $$,
                        current_setting('wi.lease')),
  'DU015', 'workflow wi-lease-1 is held by a worker of another login',
  'login B cannot complete_batch with wi-a''s lease');
select throws_ok(format($$ select * from durable.fail_batch(array['wi-lease-1'], array[%s::bigint], array['{"e": 1}'::jsonb]) $$,
                        current_setting('wi.lease')),
  'DU015', null, 'login B cannot fail_batch with wi-a''s lease');
select throws_ok(format($$ select * from durable.checkpoint('wi-lease-1', %s, 1, 's1', '1') $$,
                        current_setting('wi.lease')::bigint + 1000),
  'DU001', null, 'a wrong lease from login B is still DU001');
reset session authorization;

select results_eq($$ select status, owner, lease::text, output from durable.workflows where id = 'wi-lease-1' $$,
  $$ values ('running', 'wi-a', current_setting('wi.lease'), null::jsonb) $$,
  'the workflow is untouched: running, held by wi-a with its lease');
select results_eq($$ select (select count(*)::int from durable.steps where workflow_id = 'wi-lease-1'),
                            (select count(*)::int from durable.errors where workflow_id = 'wi-lease-1') $$,
  $$ values (1, 0) $$, 'only A''s step is recorded, and no error');

select * from finish();
rollback;
