-- sharding (issue 14): what a durable database needs to be one shard of many behind a PL/Proxy
-- router (sql/router.sql, made by tools/gen_router.py) or shard-aware workers
-- (python_client/durable/sharding.py):
--   durable.shard_key(id)    the routing rule: the logical shard (0..255) of a workflow id
--   durable.shard_info()     this shard's number and logical shards (no row: not a shard)
--   durable.set_shard(...)   makes this database shard n of a deployment (admin)
-- The rule (the same in the router, here and in Python's durable.sharding.shard_key):
--   1. an id that starts with a UUID in canonical lowercase form (generated ids, and the ids
--      start_child makes from them, <uuid>-<step>): the UUID's last byte;
--   2. a schedule's tick, sched:<name>:<YYYY-MM-DDTHH:MI:SSZ>: rule 3 applied to <name>, so the
--      ticks live where the router sends the schedule (durable.set_schedule, by name);
--   3. any other id: the first byte of its MD5.
-- The ids a shard generates (durable.uuidv7s: enqueue, enqueue_batch, fork) get a last byte
-- that is one of its logical shards, so they belong to it, whatever the router would pick.
--
-- Lock order: set_shard locks durable.shard_config's row (insert or update); no other lock.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

create function durable.shard_key(p_id text)
returns integer
language sql
immutable
strict
parallel safe
set search_path = pg_catalog, pg_temp
as $$
  select case
    when p_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'
      then pg_catalog.get_byte(pg_catalog.decode(pg_catalog.substr(p_id, 35, 2), 'hex'), 0)
    when p_id ~ '^sched:.+:[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$'
      then pg_catalog.get_byte(pg_catalog.decode(pg_catalog.md5(
             pg_catalog.substr(p_id, 7, pg_catalog.length(p_id) - 27)), 'hex'), 0)
    else pg_catalog.get_byte(pg_catalog.decode(pg_catalog.md5(p_id), 'hex'), 0)
  end
$$;
comment on function durable.shard_key(text) is
  'The logical shard (0..255) of workflow id p_id, the routing rule of a sharded deployment: '
  'an id starting with a canonical lowercase UUID: its last byte (generated ids and the '
  'children start_child names after them); sched:<name>:<tick>: the MD5 rule on <name>; any '
  'other id: the first byte of md5(p_id). Null for null. The router (sql/router.sql) and '
  'durable.sharding.shard_key (Python) compute the same. Any durable role may call it.';

create function durable.shard_info()
returns table (shard integer, logical integer[], logical_count integer)
language sql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
  select c.shard, c.logical, 256 from durable.shard_config c where c.one
$$;
comment on function durable.shard_info() is
  'This database as a shard: its number, the logical shards it owns (0..255, sorted) and how '
  'many logical shards there are (256). No row when it is not a shard. Any durable role may '
  'call it (the router and shard-aware clients build their maps from it).';

create function durable.set_shard(
  p_shard integer,
  p_shards integer default null,
  p_logical integer[] default null
)
returns integer[]
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_logical integer[];
begin
  if p_shard is null then
    delete from durable.shard_config;
    return null;
  end if;
  if p_shard < 0 or p_shard > 255 then
    raise exception 'p_shard must be 0..255, got %', p_shard
      using errcode = 'DU011';
  end if;
  if p_logical is null then
    if p_shards is null or p_shards < 1 or p_shards > 256 or p_shard >= p_shards then
      raise exception 'p_shards must be 1..256 and more than p_shard (%), got %', p_shard,
          coalesce(p_shards::text, 'null')
        using errcode = 'DU011',
              hint = 'Pass the number of shards, or the logical shards in p_logical.';
    end if;
    select pg_catalog.array_agg(k order by k) into v_logical
      from pg_catalog.generate_series(0, 255) k where k % p_shards = p_shard;
  else
    if p_shards is not null then
      raise exception 'pass p_shards or p_logical, not both'
        using errcode = 'DU011';
    end if;
    if pg_catalog.cardinality(p_logical) < 1 or pg_catalog.array_position(p_logical, null) is not null
       or not (0 <= all (p_logical) and 255 >= all (p_logical)) then
      raise exception 'p_logical must be a non-empty array of logical shards 0..255'
        using errcode = 'DU011';
    end if;
    select pg_catalog.array_agg(distinct k order by k) into v_logical
      from pg_catalog.unnest(p_logical) k;
  end if;
  insert into durable.shard_config as c (one, shard, logical, updated_at)
  values (true, p_shard, v_logical, pg_catalog.clock_timestamp())
  on conflict (one) do update
    set shard = excluded.shard, logical = excluded.logical, updated_at = excluded.updated_at;
  return v_logical;
end
$$;
comment on function durable.set_shard(integer, integer, integer[]) is
  'Makes this database shard p_shard (0..255) of a sharded deployment and returns the logical '
  'shards it owns: given p_shards (1..256, the number of physical shards), the logical shards '
  'k with k % p_shards = p_shard; or exactly p_logical (0..255, deduplicated, sorted), after '
  'logical shards were moved. From then on the ids it generates belong to those logical '
  'shards (durable.shard_key). p_shard null: no longer a shard. It moves no data: moving a '
  'logical shard is copying its workflows, then changing both shards and the router '
  '(README: Scaling past one Postgres). Errors: DU011 out of range, both or neither of '
  'p_shards and p_logical. Admin.';

commit;
