-- shard_tables (issue 14): durable.shard_config, the one row that makes a durable database a
-- shard of a sharded deployment: its shard number and the logical shards it owns. Workflow ids
-- map to 256 logical shards (durable.shard_key, in sharding.sql); each logical shard lives on
-- one physical shard, so shards are added by moving logical shards. Empty (the default): the
-- database is not a shard, and nothing changes. durable.uuidv7s reads it (guards.sql): the ids
-- a shard generates belong to one of its logical shards, so they route back to it.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

create table durable.shard_config (
  one boolean primary key default true constraint shard_config_one_row check (one),
  shard integer not null constraint shard_config_shard check (shard between 0 and 255),
  logical integer[] not null constraint shard_config_logical check (
    cardinality(logical) between 1 and 256
    and array_position(logical, null) is null
    and 0 <= all (logical) and 255 >= all (logical)),
  updated_at timestamptz not null default pg_catalog.now()
);
comment on table durable.shard_config is
  'One row when this database is a shard of a sharded deployment (durable.set_shard): shard is '
  'its number (0..255), logical the logical shards (0..255, durable.shard_key of an id) it '
  'owns; the ids it generates belong to them. No row: not a shard.';

commit;
