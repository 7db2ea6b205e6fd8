-- durable.retry_where retries the failed (by default; cancelled when asked) workflows matching
-- every filter, at most p_limit per call, as durable.retry does: a new attempt now, steps that
-- ended in error deleted (they run again), successful ones kept; p_dry_run counts.
begin;
select plan(11);
select durable_test.pin();
select durable.set_queue('rw_q');
select durable_test.make('rw-f1', 'failed', 'a', 'rw_q');
select durable_test.make('rw-c1', 'cancelled', 'a', 'rw_q');
select durable_test.make('rw-s1', 'succeeded', 'a', 'rw_q');
select durable_test.make('rw-p1', 'pending', 'a', 'rw_q');
insert into durable.steps (workflow_id, step_id, name, output, error, attempt, lease, created_at)
values ('rw-f1', 0, 'ok', '1', null, 1, 1, durable.now()),
       ('rw-f1', 1, 'bad', null, '{"m": "boom"}', 1, 1, durable.now());
select durable_test.advance(interval '1 hour');
select durable_test.make('rw-f2', 'failed', 'b', 'rw_q');
select durable_test.make('rw-f3', 'failed', 'b', 'rw_q');
select durable_test.advance(interval '1 hour');

select results_eq($$ select * from durable.retry_where(p_queue => 'rw_q', p_dry_run => true) $$,
  $$ values (3::bigint, false) $$, 'dry run: three failed ones (cancelled not by default)');
select results_eq($$ select * from durable.retry_where(p_queue => 'rw_q', p_name => 'a') $$,
  $$ values (1::bigint, false) $$, 'name a: the failed one');
select results_eq($$ select status, attempt, run_at, finished_at from durable.workflows where id = 'rw-f1' $$,
  $$ values ('pending'::text, 2, durable.now(), null::timestamptz) $$,
  'pending again, a new attempt, runnable now, unfinished');
select results_eq($$ select step_id, name from durable.steps where workflow_id = 'rw-f1' $$,
  $$ values (0, 'ok'::text) $$, 'the step that ended in error is gone, the successful one replays');
select is((select status from durable.workflows where id = 'rw-c1'), 'cancelled', 'the cancelled one stays');

select results_eq($$ select * from durable.retry_where(p_finished_after => durable_test.t0() + interval '30 minutes',
                                                        p_limit => 1) $$,
  $$ values (1::bigint, true) $$, 'finished after: one of the two later ones, a full batch');
select results_eq($$ select * from durable.retry_where(p_finished_after => durable_test.t0() + interval '30 minutes',
                                                        p_limit => 1) $$,
  $$ values (1::bigint, true) $$, 'the other');
select results_eq($$ select * from durable.retry_where(p_queue => 'rw_q', p_status => '{cancelled}',
                                                        p_finished_before => durable_test.t0() + interval '1 minute') $$,
  $$ values (1::bigint, false) $$, 'status cancelled, finished before: the cancelled one');
select set_eq($$ select id from durable.workflows where status = 'pending' and id like 'rw-%' $$,
  $$ values ('rw-f1'), ('rw-f2'), ('rw-f3'), ('rw-c1'), ('rw-p1') $$, 'every one asked for is pending');
select is((select status from durable.workflows where id = 'rw-s1'), 'succeeded', 'the succeeded one stays');
select results_eq($$ select * from durable.retry_where(p_queue => 'rw_q', p_status => '{failed,cancelled}') $$,
  $$ values (0::bigint, false) $$, 'nothing left to retry');

select * from finish();
rollback;
