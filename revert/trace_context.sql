-- trace_context reverted
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

drop function durable.check_trace_context(text);
alter table durable.workflows drop column trace_context;

commit;
