-- durable.set_shard and durable.shard_info: a database's identity as a shard; the refusals.
begin;
select plan(10);

select is_empty('select * from durable.shard_info()', 'not a shard: shard_info has no row');
select durable.set_shard(3, 8);
select results_eq('select shard, logical, logical_count from durable.shard_info()',
  $$ values (3, (select array_agg(k order by k) from generate_series(0, 255) k where k % 8 = 3), 256) $$,
  'shard_info: the number, the logical shards, 256');
select is(durable.set_shard(0, p_logical => '{5,1,5}'), '{1,5}'::integer[],
  'p_logical: deduplicated and sorted; the row is replaced');
select is((select count(*)::integer from durable.shard_config), 1, 'one row at most');

select throws_ok('select durable.set_shard(256, 4)', 'DU011', null, 'a shard number over 255: DU011');
select throws_ok('select durable.set_shard(4, 4)', 'DU011', null, 'a shard number not under p_shards: DU011');
select throws_ok('select durable.set_shard(0)', 'DU011', null, 'neither p_shards nor p_logical: DU011');
select throws_ok($$ select durable.set_shard(0, 2, '{1}') $$, 'DU011', null, 'both: DU011');
select throws_ok($$ select durable.set_shard(0, p_logical => '{256}') $$, 'DU011', null,
  'a logical shard over 255: DU011');
select durable.set_shard(null);
select is_empty('select * from durable.shard_info()', 'set_shard(null): no longer a shard');

select * from finish();
rollback;
