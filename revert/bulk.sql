-- bulk reverted: no retention settings, batched purge, housekeeping or bulk operations.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

drop function durable.retry_where(text, text, text[], timestamptz, timestamptz, timestamptz,
                                  timestamptz, integer, boolean);
drop function durable.cancel_where(text, text, text[], timestamptz, timestamptz, integer,
                                   boolean);
drop function durable.purge_where(text, text, text[], timestamptz, timestamptz, timestamptz,
                                  timestamptz, integer, boolean);
drop function durable.housekeep(text);
drop function durable.purge_batch(interval, integer);
drop function durable.purge_some(text[], timestamptz, integer, text, text, timestamptz,
                                 timestamptz, timestamptz);
drop function durable.check_bulk(text[], text[], text, text, timestamptz, timestamptz,
                                 timestamptz, timestamptz, integer);
drop function durable.check_filters(text[], text[], text, timestamptz, timestamptz, timestamptz,
                                    timestamptz);
drop index durable.workflows_finished;
alter table durable.settings
  drop constraint settings_purge_batch_range,
  drop constraint settings_retain_failed_range,
  drop constraint settings_retain_succeeded_range,
  drop column purge_batch,
  drop column retain_failed,
  drop column retain_succeeded;

commit;
