-- enqueue_batch with dedup_key: a key given twice for one queue in the batch, or pending
-- already, refuses the whole batch with DU019 and writes nothing; distinct keys, or one key in
-- two queues, are accepted.
begin;
select plan(6);
select durable_test.pin();
select durable.set_queue('other');

select throws_ok($$ select durable.enqueue_batch('[{"name": "wf", "dedup_key": "k"}, {"name": "wf", "dedup_key": "k"}]') $$,
  'DU019', 'deduplication key k is given twice for queue default in one batch',
  'a key twice in one batch raises DU019');
select is((select count(*)::int from durable.workflows), 0, 'and writes nothing');

select durable.enqueue('wf', p_workflow_id => 'p1', p_dedup_key => 'busy');
select throws_ok($$ select durable.enqueue_batch('[{"name": "wf", "dedup_key": "free"}, {"name": "wf", "dedup_key": "busy"}]') $$,
  'DU019', 'workflow p1 with deduplication key busy is enqueued in queue default and not started yet',
  'a key pending already raises DU019 naming the pending run');
select is((select count(*)::int from durable.workflows), 1, 'and writes nothing (only p1 exists)');

select is((select count(*)::int from durable.enqueue_batch(
  '[{"name": "wf", "dedup_key": "a"}, {"name": "wf", "dedup_key": "b"}, {"name": "wf", "dedup_key": "a", "queue": "other"}, {"name": "wf"}]'))
  , 4, 'distinct keys, and a key in two queues, are accepted');
select results_eq($$ select queue, dedup_key from durable.workflows where dedup_key is not null order by dedup_key, queue $$,
  $$ values ('default'::text, 'a'::text), ('other', 'a'), ('default', 'b'), ('default', 'busy') $$,
  'the keys are stored');

select * from finish();
rollback;
