-- sharding: the functions exist with their signatures and search_path
select 1 / (count(*) = 3)::int from pg_catalog.pg_proc
 where oid in ('durable.shard_key(text)'::regprocedure, 'durable.shard_info()'::regprocedure,
               'durable.set_shard(integer, integer, integer[])'::regprocedure)
   and 'search_path=pg_catalog, pg_temp' = any (proconfig);
