-- The ids a shard generates (enqueue, enqueue_batch, fork: durable.uuidv7s) belong to one of
-- its logical shards, so the router sends every later call for them back to it.
begin;
select plan(6);

select is(durable.set_shard(1, 4), (select array_agg(k order by k) from generate_series(0, 255) k
                                      where k % 4 = 1),
  'set_shard(1, 4): the logical shards k with k % 4 = 1');

select ok((select bool_and(durable.shard_key(e.workflow_id) % 4 = 1)
             from generate_series(1, 50) g, durable.enqueue('w', to_jsonb(g)) e),
  'enqueue without an id: every id is one of the shard''s logical shards');

select ok((select bool_and(durable.shard_key(b.workflow_id) % 4 = 1)
             from durable.enqueue_batch((select jsonb_agg(jsonb_build_object('name', 'w'))
                                           from generate_series(1, 50))) b),
  'enqueue_batch without ids: every id is the shard''s');

select durable.set_shard(2, p_logical => '{9, 3, 3}');
select ok((select bool_and(durable.shard_key(e.workflow_id) in (3, 9))
             from generate_series(1, 50) g, durable.enqueue('w', to_jsonb(g)) e),
  'after logical shards moved: ids land on exactly the shard''s logical shards');
select ok((select count(distinct durable.shard_key(e.workflow_id)) = 2
             from generate_series(1, 50) g, durable.enqueue('w', to_jsonb(g)) e),
  'both of them are used');

select durable.set_shard(null);
select ok((select count(distinct durable.shard_key(e.workflow_id)) > 8
             from generate_series(1, 100) g, durable.enqueue('w', to_jsonb(g)) e),
  'not a shard: generated ids spread over the logical shards');

select * from finish();
rollback;
