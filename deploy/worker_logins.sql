-- worker_logins: a worker id belongs to the login that registered it.
--
-- Worker ids are chosen by the workers, so without this one login could act for another's
-- workers: heartbeat under its id (and read its leases), release its work, claim as it. The
-- column durable.workers.login records the session_user that registered the worker; the
-- functions of `workers`, `claim`, `checkpoint`, `finish` and `guards` refuse calls for that
-- worker, and calls with the leases of its workflows, from any other login (DU015).
--
-- Checking a lease against the workers table would cost every checkpoint an index scan of
-- another relation (about 4% more server instructions per 3-step workflow), so a claim also
-- writes the login on the workflow row, durable.workflows.owner_login, where the statement that
-- matches the lease reads it for nothing.
--
-- Rows registered (and workflows claimed) before this change have no login: the first login
-- that claims or heartbeats under such a worker id adopts the worker and its running workflows
-- (until then, their leases work as they did in v0.1.0).
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

alter table durable.workflows add column owner_login text;
comment on column durable.workflows.owner_login is
  'While running: the login of the worker that holds the lease (durable.workers.login of owner), '
  'written by the claim; only that login may use the lease. Null for a workflow claimed before '
  'v0.2.0 until its worker is adopted. Not meaningful in other statuses.';

commit;
