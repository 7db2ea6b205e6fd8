-- set_queue creates a queue or replaces its settings (concurrency, paused).
begin;
select plan(4);

select durable.set_queue('mail');
select results_eq($$ select name, concurrency, paused from durable.queues where name = 'mail' $$,
  $$ values ('mail'::text, null::integer, false) $$, 'created without a limit, not paused');
select durable.set_queue('mail', 5, true);
select results_eq($$ select concurrency, paused from durable.queues where name = 'mail' $$,
  $$ values (5, true) $$, 'updated: limit 5, paused');
select durable.set_queue('mail', null, null);
select results_eq($$ select concurrency, paused from durable.queues where name = 'mail' $$,
  $$ values (null::integer, false) $$, 'null concurrency removes the limit, null paused means not paused');
select durable.set_queue('A.b_c:d-9');
select is((select count(*)::int from durable.queues), 3, 'default, mail and A.b_c:d-9 exist');

select * from finish();
rollback;
