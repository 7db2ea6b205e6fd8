-- schema: the durable schema, owned by durable_admin. Every later change creates its objects
-- as durable_admin (set local role), so the owner of every table and function is that role and
-- SECURITY DEFINER functions run with its rights and no more.
begin;

create schema durable authorization durable_admin;
revoke all on schema durable from public;
comment on schema durable is
  'Durable workflows with Postgres as the orchestrator: enqueue, claim, checkpoint, finish. '
  'Use the functions; the tables belong to durable_admin.';

commit;
