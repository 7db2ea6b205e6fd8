\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
\set durable_worker :role_prefix '_worker'
\set durable_client :role_prefix '_client'
\set durable_observer :role_prefix '_observer'
\set durable_payload_reader :role_prefix '_payload_reader'
do $$
begin
  if pg_catalog.has_function_privilege('public', 'durable.fence(text, bigint)', 'execute') then
    raise exception 'PUBLIC may still execute durable functions';
  end if;
end
$$;
select 1 / pg_catalog.has_function_privilege(:'durable_worker',
  'durable.claim(text, text[], integer, interval)', 'execute')::int;
select 1 / pg_catalog.has_table_privilege(:'durable_observer', 'durable.runs_meta', 'select')::int;
select 1 / (not pg_catalog.has_table_privilege(:'durable_observer', 'durable.runs', 'select'))::int;
select 1 / pg_catalog.has_table_privilege(:'durable_payload_reader', 'durable.runs', 'select')::int;
