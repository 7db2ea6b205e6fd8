-- transitions: which status may follow which, in one place.
--
--   pending   -> running (claim), cancelled
--   running   -> pending (release, retry scheduled), waiting, succeeded, failed, cancelled
--   waiting   -> running (claim after the wake time), pending, cancelled
--   failed    -> pending (durable.retry)
--   cancelled -> pending (durable.retry)
--   succeeded -> nothing
--
-- A reclaim keeps status running and only changes owner and lease, so it is not a transition.
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

create or replace function durable.transition_allowed(p_from text, p_to text)
returns boolean
language plpgsql
immutable
set search_path = ''
as $$
begin
  -- plpgsql, not sql: a SQL function with a SET clause is planned on every call, and the
  -- trigger below calls this on every status change
  return (p_from, p_to) in (
    ('pending', 'running'), ('pending', 'cancelled'),
    ('running', 'pending'), ('running', 'waiting'), ('running', 'succeeded'),
    ('running', 'failed'), ('running', 'cancelled'),
    ('waiting', 'running'), ('waiting', 'pending'), ('waiting', 'cancelled'),
    ('failed', 'pending'), ('cancelled', 'pending'));
end
$$;
comment on function durable.transition_allowed(text, text) is
  'True when a workflow may go from status p_from to status p_to: the state machine''s edges.';

create or replace function durable.check_transition()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  if not durable.transition_allowed(old.status, new.status) then
    raise exception 'workflow % cannot go from % to %', old.id, old.status, new.status
      using errcode = 'DU007',
            hint = 'See durable.transition_allowed for the statuses that may follow each other.';
  end if;
  return new;
end
$$;
comment on function durable.check_transition() is
  'Trigger function: refuses (DU007) a status change that durable.transition_allowed does not list.';

create or replace trigger workflows_transition
  before update of status on durable.workflows
  for each row
  when (old.status is distinct from new.status)
  execute function durable.check_transition();
comment on trigger workflows_transition on durable.workflows is
  'Enforces the state machine on every status change.';

commit;
