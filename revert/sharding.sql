-- sharding reverted
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

drop function durable.set_shard(integer, integer, integer[]);
drop function durable.shard_info();
drop function durable.shard_key(text);

commit;
