-- durable.list_runs_meta: the rows of durable.runs_meta (no input, output or error; error_type
-- kept), with the filters and paging of list_runs; the observer may call it but not
-- list_runs, and has no input filter; the client, worker and payload reader may call both.
begin;
select plan(7);
select durable_test.pin();
select durable.set_queue('lm');
select durable.enqueue('w', '[{"secret": "s-1"}]', 'lm', 'm1');
select durable_test.advance(interval '1 second');
select durable.enqueue('w', '[{"secret": "s-2"}]', 'lm', 'm2');
select durable_test.set_status('m1', 'running');
select durable.fail('m1', (select lease from durable.workflows where id = 'm1'),
                    '{"type": "CardDeclined", "message": "no"}', false);

select results_eq(
  $$ select id, status, error_type from durable.list_runs_meta(p_queue => 'lm') $$,
  $$ values ('m2'::text, 'pending'::text, null::text), ('m1', 'failed', 'CardDeclined') $$,
  'rows of runs_meta, newest first, with error_type');
select results_eq(
  $$ select id from durable.list_runs_meta(p_queue => 'lm', p_before_id => 'm2') $$,
  $$ values ('m1') $$, 'the same paging');
select is(
  (select array_agg(a.attname::text order by a.attnum)
     from pg_attribute a
    where a.attrelid = 'durable.runs_meta'::regclass and a.attnum > 0 and not a.attisdropped
      and a.attname in ('input', 'output', 'error')),
  null, 'runs_meta (its row type) has no payload columns');
select is(
  (select count(*)::int from pg_proc p
    where p.oid = 'durable.list_runs_meta'::regproc
      and 'p_input' = any (p.proargnames)),
  0, 'list_runs_meta takes no input filter');

set local role durable_observer;
select results_eq($$ select id from durable.list_runs_meta(p_queue => 'lm') $$,
  $$ values ('m2'), ('m1') $$, 'the observer lists runs without payloads');
select throws_ok($$ select * from durable.list_runs(p_input => '[{"secret": "s-1"}]') $$,
  '42501', null, 'the observer may not call list_runs (its input filter reveals inputs)');
reset role;
set local role durable_client;
select results_eq($$ select id, input from durable.list_runs(p_input => '[{"secret": "s-2"}]') $$,
  $$ values ('m2'::text, '[{"secret": "s-2"}]'::jsonb) $$, 'the client lists runs with their input');
reset role;

select * from finish();
rollback;
