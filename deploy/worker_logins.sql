-- worker_logins: a worker id belongs to the login that registered it.
--
-- Worker ids are chosen by the workers, so without this one login could act for another's
-- workers: heartbeat under its id (and read its leases), release its work, claim as it. The
-- column durable.workers.login records the session_user that registered the worker; the
-- functions of `workers`, `claim`, `checkpoint`, `finish` and `guards` refuse calls for that
-- worker, and calls with the leases of its workflows, from any other login (DU015).
--
-- Rows registered before this change have no login: the first login that claims or heartbeats
-- under such an id adopts it (until then, its leases work as they did in v0.1.0).
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

alter table durable.workers add column login text;
comment on column durable.workers.login is
  'The login (session_user) that registered the worker: only that login may claim, heartbeat '
  'or release under this id, or use the leases of the workflows the worker holds. Null for a '
  'worker registered before v0.2.0, until a login claims or heartbeats under its id and adopts it.';

commit;
