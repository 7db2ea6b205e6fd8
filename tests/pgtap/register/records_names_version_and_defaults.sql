-- durable.register records the worker's workflow names and version on its row, upserts the
-- declared defaults into durable.workflow_types, registers the worker like a heartbeat and
-- returns the lease timeout in effect. Refusals: DU012 (not an array of objects with a name
-- and known keys), DU011 (bad version, bad retry policy), DU004 (unknown queue), DU010 (no
-- worker id), and nothing is written then.
begin;
select plan(10);
select durable_test.pin();

select is(durable.register('rw', '[{"name": "b"}, {"name": "a", "max_attempts": 2}]', 'v7',
                           interval '10 seconds'),
  interval '10 seconds', 'returns the lease timeout in effect');
select results_eq($$ select workflow_names, version, lease_timeout from durable.workers where id = 'rw' $$,
  $$ values (array['a', 'b'], 'v7'::text, interval '10 seconds') $$,
  'the worker row has its names (sorted), version and lease timeout');
select results_eq($$ select name, queue, max_attempts, version, worker from durable.workflow_types order by name $$,
  $$ values ('a'::text, null::text, 2, 'v7'::text, 'rw'::text), ('b', null, 3, 'v7', 'rw') $$,
  'each workflow''s defaults are recorded (queue null: none declared; enqueue takes default, a '
  'child its parent''s)');

select throws_ok($$ select durable.register('rw', '{"name": "a"}') $$, 'DU012', null,
  'an object instead of an array raises DU012');
select throws_ok($$ select durable.register('rw', '[{"queue": "default"}]') $$, 'DU012', null,
  'an item without a name raises DU012');
select throws_ok($$ select durable.register('rw', '[{"name": "a", "priority": 1}]') $$, 'DU012', null,
  'an unknown key raises DU012');
select throws_ok($$ select durable.register('rw', '[]', '') $$, 'DU011', null,
  'an empty version raises DU011');
select throws_ok($$ select durable.register('rw', '[{"name": "a", "max_attempts": 0}]') $$, 'DU011', null,
  'a bad retry policy raises DU011');
select throws_ok($$ select durable.register(null, '[]') $$, 'DU010', null,
  'a null worker id raises DU010');
select results_eq($$ select name, max_attempts from durable.workflow_types order by name $$,
  $$ values ('a'::text, 2), ('b', 3) $$, 'the refused calls changed nothing');

select * from finish();
rollback;
