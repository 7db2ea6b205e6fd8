-- schedules (issue 11): cron schedules in SQL. Placeholder: the change is being written.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

commit;
