-- An interval parameter takes a plain number of seconds as text (README, Node pitfalls: a driver
-- sends 2.5 as '2.5', Postgres reads a number without a unit as seconds), and a float through
-- make_interval(secs => ...) for drivers that type their parameters (pgx, JDBC).
begin;
select plan(4);
select durable_test.pin();

-- a parameter sent untyped (as node-postgres sends a number) with the function's cast
prepare start_in(text, text) as
  select workflow_id from durable.enqueue('wf', p_workflow_id => $1, p_delay => $2::interval,
                                          p_timeout => $2::interval);
execute start_in('ip-1', '2.5');
select results_eq($$ select run_at - durable.now(), deadline - run_at from durable.workflows where id = 'ip-1' $$,
  $$ values (interval '2.5 seconds', interval '2.5 seconds') $$,
  'p_delay and p_timeout of ''2.5'': 2.5 seconds');
execute start_in('ip-2', '90');
select is((select run_at - durable.now() from durable.workflows where id = 'ip-2'), interval '90 seconds',
  '''90'': 90 seconds, not 90 minutes or days');

-- typed drivers: a double precision parameter through make_interval
prepare start_typed(text, double precision) as
  select workflow_id from durable.enqueue('wf', p_workflow_id => $1,
                                          p_delay => make_interval(secs => $2));
execute start_typed('ip-3', 0.25);
select is((select run_at - durable.now() from durable.workflows where id = 'ip-3'), interval '0.25 seconds',
  'make_interval(secs => 0.25): a quarter second');

-- a negative number is refused as a negative interval is
select throws_ok($$ execute start_in('ip-4', '-1') $$, 'DU011', null, '''-1'': DU011 as any negative delay');

select * from finish();
rollback;
