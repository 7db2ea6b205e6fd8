-- lease_limit reverted: no max_lease_timeout (lease timeouts are unbounded again).
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

alter table durable.settings
  drop constraint settings_default_lease_within_max,
  drop constraint settings_max_lease_range,
  drop column max_lease_timeout;
comment on table durable.settings is
  'One row of server-side settings: max_payload_bytes (largest input, output or error accepted, '
  'in bytes of jsonb) and default_lease_timeout (how long a worker may go without a heartbeat '
  'before its workflows are reclaimed). Change them with update durable.settings set ...';

commit;
