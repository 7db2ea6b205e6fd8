-- set_queue creates a queue or changes only the settings it is given (concurrency, paused):
-- null keeps a setting, concurrency 0 removes the limit.
begin;
select plan(7);

select durable.set_queue('mail');
select results_eq($$ select name, concurrency, paused from durable.queues where name = 'mail' $$,
  $$ values ('mail'::text, null::integer, false) $$, 'created without a limit, not paused');
select durable.set_queue('mail', 5, true);
select results_eq($$ select concurrency, paused from durable.queues where name = 'mail' $$,
  $$ values (5, true) $$, 'updated: limit 5, paused');
select durable.set_queue('mail', p_paused => false);
select results_eq($$ select concurrency, paused from durable.queues where name = 'mail' $$,
  $$ values (5, false) $$, 'resuming the queue keeps its limit (regression: it removed it)');
select durable.set_queue('mail', p_paused => true);
select results_eq($$ select concurrency, paused from durable.queues where name = 'mail' $$,
  $$ values (5, true) $$, 'pausing the queue keeps its limit');
select durable.set_queue('mail', 7);
select results_eq($$ select concurrency, paused from durable.queues where name = 'mail' $$,
  $$ values (7, true) $$, 'changing the limit keeps the pause');
select durable.set_queue('mail', 0, null);
select results_eq($$ select concurrency, paused from durable.queues where name = 'mail' $$,
  $$ values (null::integer, true) $$, 'concurrency 0 removes the limit; null paused keeps it');
select durable.set_queue('A.b_c:d-9');
select is((select count(*)::int from durable.queues), 3, 'default, mail and A.b_c:d-9 exist');

select * from finish();
rollback;
