-- lease_limit: lease timeouts are bounded by durable.settings.max_lease_timeout.
--
-- A lease timeout is how long a dead worker's workflows wait before another worker reclaims
-- them. v0.1.0 accepted any positive interval ('1000 years'), so a worker that died holding
-- work could leave it stranded forever. The setting max_lease_timeout (default 1 hour, between
-- 1 second and 1 day) bounds what claim, heartbeat and complete_and_claim accept (DU011 over
-- it), and default_lease_timeout may not exceed it.
--
-- Existing data is brought within the bounds: a default lease timeout over 1 hour raises the
-- limit to it (at most 1 day, the default being lowered to 1 day when longer), and workers that
-- registered with a longer timeout get the limit (their rows expire at the latest one limit
-- after their last heartbeat).
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

alter table durable.settings
  add column max_lease_timeout interval not null default interval '1 hour';
update durable.settings
   set max_lease_timeout = least(greatest(default_lease_timeout, interval '1 hour'),
                                 interval '1 day'),
       default_lease_timeout = least(default_lease_timeout, interval '1 day')
 where default_lease_timeout > interval '1 hour';
alter table durable.settings
  add constraint settings_max_lease_range
    check (max_lease_timeout between interval '1 second' and interval '1 day'),
  add constraint settings_default_lease_within_max
    check (default_lease_timeout <= max_lease_timeout);
comment on column durable.settings.max_lease_timeout is
  'The longest lease timeout a worker may ask for (claim, heartbeat, complete_and_claim refuse '
  'longer ones with DU011), so that the work of a dead worker is always reclaimed. Between 1 '
  'second and 1 day, and at least default_lease_timeout.';
comment on table durable.settings is
  'One row of server-side settings: max_payload_bytes (largest input, output or error accepted, '
  'in bytes of jsonb), default_lease_timeout (how long a worker may go without a heartbeat '
  'before its workflows are reclaimed) and max_lease_timeout (the longest lease timeout a worker '
  'may ask for). Change them with update durable.settings set ...';

update durable.workers k
   set lease_timeout = s.max_lease_timeout,
       expires_at = least(k.expires_at, k.heartbeat_at + s.max_lease_timeout)
  from durable.settings s
 where k.lease_timeout > s.max_lease_timeout;

commit;
