-- listing: drops the listing functions and the input index (when durable.index_inputs built it)
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

drop function durable.list_runs(text[], text, text, timestamptz, timestamptz, timestamptz,
                                timestamptz, jsonb, text, text, timestamptz, integer);
drop function durable.list_runs_meta(text[], text, text, timestamptz, timestamptz, timestamptz,
                                     timestamptz, text, text, timestamptz, integer);
drop function durable.list_runs_where(boolean[]);
drop function durable.check_list(text[], text, timestamptz, timestamptz, timestamptz,
                                 timestamptz, timestamptz, text, integer);
drop function durable.index_inputs(boolean);
drop index if exists durable.workflows_input;

commit;
