-- send with an idempotency key: the same key for the same destination returns the first
-- message's id and writes nothing; the same key for another destination is another message;
-- without a key every send is a message. A send commits or rolls back with its caller.
begin;
\ir ../waiting_fixtures.sql
select plan(6);
select durable_test.pin();

select durable.enqueue('wf', p_workflow_id => 'ik-1');
select durable.enqueue('wf', p_workflow_id => 'ik-2');
select durable.send('ik-1', '"first"', 'pay', 'key-1') as first \gset
select is(durable.send('ik-1', '"second"', 'pay', 'key-1'), :first::bigint,
  'the same key again returns the first message''s id');
select is(durable.send('ik-1', '"third"', 'other', 'key-1'), :first::bigint,
  'whatever its topic');
select results_eq($$ select message, idempotency_key from durable.messages where workflow_id = 'ik-1' $$,
  $$ values ('"first"'::jsonb, 'key-1'::text) $$, 'one message was written, the first');
select isnt(durable.send('ik-2', '"x"', 'pay', 'key-1'), :first::bigint,
  'the same key for another destination is another message');
select isnt(durable.send('ik-1', '"y"', 'pay'), durable.send('ik-1', '"y"', 'pay'),
  'without a key, two sends are two messages');
select results_eq($$ select workflow_id, count(*)::int from durable.messages group by 1 order by 1 $$,
  $$ values ('ik-1'::text, 3), ('ik-2', 1) $$, 'four messages in all');

select * from finish();
rollback;
