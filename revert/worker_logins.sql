-- worker_logins reverted: workers and workflows have no login again.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

alter table durable.workflows drop column owner_login;
alter table durable.workers drop column login;

commit;
