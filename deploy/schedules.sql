-- schedules (issue 11): cron schedules in SQL, with no dependency on pg_cron.
--
-- A schedule is a row of durable.schedules: a cron expression evaluated in a time zone, the
-- workflow (name, input, queue) each tick starts, whether it is enabled, and what to do with
-- ticks missed while nothing materialized them ('skip', 'once', 'all'). Its next tick is stored
-- (next_tick); durable.materialize_schedules, called by workers (or pg_cron, or psql), turns due
-- ticks into workflows through durable.enqueue with a deterministic id,
--   'sched:' || name || ':' || the tick in UTC ('2030-01-01T00:00:00Z'),
-- so each tick runs once whoever materializes it and however often.
--
-- Cron: POSIX crontab fields (minute hour day-of-month month day-of-week) with Vixie cron's
-- syntax and rules: `*`, numbers, ranges `a-b`, steps `*/n`, `a-b/n` (and `a/n`: a to the
-- field's end), lists, month and day names (jan..dec, sun..sat), day-of-week 0-7 (0 and 7 are
-- Sunday); when day-of-month and day-of-week are both restricted (neither field starts with
-- `*`), a day matches when either does; @yearly @annually @monthly @weekly @daily @midnight
-- @hourly. An optional sixth field in front gives seconds (0-59), as in robfig/cron and
-- Spring; without it ticks fall on second 0.
--
-- Time zones and daylight saving (Vixie cron's rules): ticks are local times of the schedule's
-- zone. A schedule with fixed hours (its hour field is not every hour) fires a local time that a
-- jump forward skips once, at the first instant after the jump, and a local time that a jump
-- back repeats once, at its first occurrence. A schedule whose hour field is every hour
-- (`*`, @hourly) follows real time: nothing in the skipped hour (it did not happen), and the
-- repeated hour runs again (it is another real hour).
--
-- Locks: materialize_schedules locks due schedule rows FOR UPDATE SKIP LOCKED in next_tick
-- order (a row another session holds is skipped, not waited for), then inserts workflows as
-- durable.enqueue does (the new rows; the queue row for key share). set_schedule,
-- pause_schedule, resume_schedule, trigger_schedule and drop_schedule lock the one schedule row
-- (waiting for a materializer holding it: milliseconds).
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

create table durable.schedules (
  name text primary key,
  cron text not null,
  fields bigint[] not null,
  time_zone text not null default 'UTC',
  workflow_name text not null,
  input jsonb not null default 'null',
  queue text,
  enabled boolean not null default true,
  missed text not null default 'skip',
  grace interval not null default interval '1 minute',
  next_tick timestamptz,
  last_tick timestamptz,
  last_workflow_id text,
  last_error text,
  created_at timestamptz not null default durable.now(),
  updated_at timestamptz not null default durable.now(),
  constraint schedules_name_length check (length(name) between 1 and 150),
  constraint schedules_missed check (missed in ('skip', 'once', 'all')),
  constraint schedules_grace check (grace >= interval '0' and grace <= interval '1 day'),
  constraint schedules_fields check (cardinality(fields) = 8),
  constraint schedules_next_tick check (next_tick is not null or not enabled)
);
create index schedules_due on durable.schedules (next_tick) where enabled;
comment on table durable.schedules is
  'Cron schedules: each tick of cron (in time_zone) starts workflow workflow_name with input on '
  'queue (null: the registered default) while enabled, as workflow sched:<name>:<tick in UTC>. '
  'fields is cron parsed by durable.cron_parse; next_tick the next tick to materialize; ticks '
  'materialized more than grace after their time are missed and follow missed (skip, once, '
  'all). Change with durable.set_schedule, pause_schedule, resume_schedule, drop_schedule.';

-- cron parsing -------------------------------------------------------------------------------

create function durable.cron_field(p_field text, p_what text, p_min integer, p_max integer,
                                   p_names text[], p_name_base integer)
returns bigint
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_item text;
  v_match text[];
  v_lo integer;
  v_hi integer;
  v_step integer;
  v_mask bigint := 0;
  v_part text;
  v_value integer;
  v_bounds integer[];
begin
  foreach v_item in array pg_catalog.string_to_array(p_field, ',') loop
    v_match := pg_catalog.regexp_match(v_item,
                 '^(\*|([a-z0-9]{1,3})(?:-([a-z0-9]{1,3}))?)(?:/([0-9]{1,3}))?$');
    if v_match is null then
      raise exception 'cron %: % is not *, a value, a range a-b or one of them with /step', p_what,
          pg_catalog.quote_literal(v_item)
        using errcode = 'DU011',
              hint = 'Write items like 5, 1-5, */15 or 0-30/10, separated by commas (no spaces).';
    end if;
    v_bounds := array[]::integer[];
    foreach v_part in array array[v_match[2], v_match[3]] loop
      if v_part is null then
        continue;
      end if;
      if v_part ~ '^[0-9]+$' then
        v_value := v_part::integer;
      else
        v_value := pg_catalog.array_position(p_names, v_part);
        if v_value is null then
          raise exception 'cron %: unknown name %', p_what, pg_catalog.quote_literal(v_part)
            using errcode = 'DU011',
                  hint = case when p_names = '{}' then 'This field takes numbers only.'
                              else 'Names: ' || pg_catalog.array_to_string(p_names, ' ') || '.' end;
        end if;
        v_value := v_value - 1 + p_name_base;
      end if;
      if v_value < p_min or v_value > p_max then
        raise exception 'cron %: % is out of range %-%', p_what, v_value, p_min, p_max
          using errcode = 'DU011';
      end if;
      v_bounds := v_bounds || v_value;
    end loop;
    if v_match[1] = '*' then
      v_lo := p_min;
      v_hi := p_max;
    elsif v_match[3] is not null then
      v_lo := v_bounds[1];
      v_hi := v_bounds[2];
      if v_lo > v_hi then
        raise exception 'cron %: range %-% runs backwards', p_what, v_lo, v_hi
          using errcode = 'DU011', hint = 'Write the smaller value first, or a list: 5,6,0.';
      end if;
    elsif v_match[4] is not null then
      v_lo := v_bounds[1];  -- a/step: from a to the end of the field
      v_hi := p_max;
    else
      v_lo := v_bounds[1];
      v_hi := v_bounds[1];
    end if;
    v_step := coalesce(v_match[4]::integer, 1);
    if v_step < 1 or v_step > p_max - p_min + 1 then
      raise exception 'cron %: step % is out of range 1-%', p_what, v_step, p_max - p_min + 1
        using errcode = 'DU011';
    end if;
    for v_value in v_lo .. v_hi by v_step loop
      v_mask := v_mask | (1::bigint << v_value);
    end loop;
  end loop;
  return v_mask;
end
$$;
comment on function durable.cron_field(text, text, integer, integer, text[], integer) is
  'The bit mask (bit v for value v) of one cron field p_field named p_what, with values '
  'p_min..p_max and names p_names (the first worth p_name_base). Raises DU011. Internal.';

create function durable.cron_parse(p_cron text)
returns bigint[]
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_expr text := pg_catalog.lower(pg_catalog.btrim(p_cron));
  v_fields text[];
  v_dow bigint;
begin
  if v_expr is null or v_expr = '' then
    raise exception 'cron expression must not be null or empty'
      using errcode = 'DU010', hint = 'Pass five fields, for example ''*/5 * * * *''.';
  end if;
  if pg_catalog.length(v_expr) > 200 then
    raise exception 'cron expression is % characters long, the limit is 200',
        pg_catalog.length(v_expr)
      using errcode = 'DU011';
  end if;
  if pg_catalog.left(v_expr, 1) = '@' then
    v_expr := case v_expr
                when '@yearly' then '0 0 1 1 *'
                when '@annually' then '0 0 1 1 *'
                when '@monthly' then '0 0 1 * *'
                when '@weekly' then '0 0 * * 0'
                when '@daily' then '0 0 * * *'
                when '@midnight' then '0 0 * * *'
                when '@hourly' then '0 * * * *'
              end;
    if v_expr is null then
      raise exception 'unknown cron name %', pg_catalog.quote_literal(p_cron)
        using errcode = 'DU011',
              hint = 'Names: @yearly @annually @monthly @weekly @daily @midnight @hourly.';
    end if;
  end if;
  v_fields := pg_catalog.regexp_split_to_array(v_expr, '\s+');
  if pg_catalog.cardinality(v_fields) = 5 then
    v_fields := array['0'] || v_fields;
  elsif pg_catalog.cardinality(v_fields) <> 6 then
    raise exception 'cron expression % has % fields, expected 5 (or 6 with seconds first)',
        pg_catalog.quote_literal(p_cron), pg_catalog.cardinality(v_fields)
      using errcode = 'DU011',
            hint = 'Fields: minute hour day-of-month month day-of-week, e.g. ''30 2 * * 1-5''.';
  end if;
  v_dow := durable.cron_field(v_fields[6], 'day of week', 0, 7,
                              '{sun,mon,tue,wed,thu,fri,sat}', 0);
  if (v_dow >> 7) & 1 = 1 then
    v_dow := (v_dow | 1) & ~(1::bigint << 7);  -- 7 is Sunday, as 0
  end if;
  return array[
    durable.cron_field(v_fields[1], 'second', 0, 59, '{}', 0),
    durable.cron_field(v_fields[2], 'minute', 0, 59, '{}', 0),
    durable.cron_field(v_fields[3], 'hour', 0, 23, '{}', 0),
    durable.cron_field(v_fields[4], 'day of month', 1, 31, '{}', 0),
    durable.cron_field(v_fields[5], 'month', 1, 12,
                       '{jan,feb,mar,apr,may,jun,jul,aug,sep,oct,nov,dec}', 1),
    v_dow,
    -- Vixie cron: a day-of-month or day-of-week field that starts with * is unrestricted, and
    -- then a day must match both; when both are restricted, either
    case when pg_catalog.left(v_fields[4], 1) = '*' then 1 else 0 end,
    case when pg_catalog.left(v_fields[6], 1) = '*' then 1 else 0 end];
end
$$;
comment on function durable.cron_parse(text) is
  'Parses cron expression p_cron (5 fields, 6 with seconds first, or an @name) into bit masks '
  '{second, minute, hour, day of month, month, day of week, day-of-month starred, '
  'day-of-week starred}. Raises DU010 (empty) or DU011 (bad field, value, range, step or name). '
  'Internal.';

-- cron evaluation ----------------------------------------------------------------------------

create function durable.cron_match(p_fields bigint[], p_from timestamp, p_until timestamp)
returns timestamp
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_t timestamp := pg_catalog.date_trunc('second', p_from)
                   + case when pg_catalog.date_trunc('second', p_from) < p_from
                          then interval '1 second' else interval '0' end;
  v_end timestamp := p_from + interval '30 years';
  v_dom boolean;
  v_dow boolean;
begin
  if not pg_catalog.isfinite(p_from) then
    return null;
  end if;
  loop
    if v_t >= v_end or v_t >= p_until then
      return null;
    end if;
    if (p_fields[5] >> extract(month from v_t)::integer) & 1 = 0 then
      v_t := pg_catalog.date_trunc('month', v_t) + interval '1 month';
      continue;
    end if;
    v_dom := (p_fields[4] >> extract(day from v_t)::integer) & 1 = 1;
    v_dow := (p_fields[6] >> extract(dow from v_t)::integer) & 1 = 1;
    if not (case when p_fields[7] = 1 or p_fields[8] = 1 then v_dom and v_dow
                 else v_dom or v_dow end) then
      v_t := pg_catalog.date_trunc('day', v_t) + interval '1 day';
      continue;
    end if;
    if (p_fields[3] >> extract(hour from v_t)::integer) & 1 = 0 then
      v_t := pg_catalog.date_trunc('hour', v_t) + interval '1 hour';
      continue;
    end if;
    if (p_fields[2] >> extract(minute from v_t)::integer) & 1 = 0 then
      v_t := pg_catalog.date_trunc('minute', v_t) + interval '1 minute';
      continue;
    end if;
    if (p_fields[1] >> pg_catalog.floor(extract(second from v_t))::integer) & 1 = 0 then
      v_t := v_t + interval '1 second';
      continue;
    end if;
    return v_t;
  end loop;
end
$$;
comment on function durable.cron_match(bigint[], timestamp, timestamp) is
  'The first local (wall clock) time at or after p_from and before p_until (null: no bound) '
  'that cron fields p_fields (durable.cron_parse) match, looking at most 30 years ahead; null '
  'when there is none. Internal.';

create function durable.tz_offset(p_time_zone text, p_at timestamptz)
returns interval
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select (p_at at time zone p_time_zone) - (p_at at time zone 'UTC')
$$;
comment on function durable.tz_offset(text, timestamptz) is
  'The UTC offset of time zone p_time_zone at instant p_at. Internal.';

create function durable.tz_transition(p_time_zone text, p_from timestamptz, p_to timestamptz)
returns timestamptz
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_offset interval := durable.tz_offset(p_time_zone, p_from);
  v_lo timestamptz := p_from;
  v_hi timestamptz;
  v_mid timestamptz;
begin
  -- probe a day at a time (zones change their offset months apart), then bisect to the second
  loop
    v_hi := least(v_lo + interval '1 day', p_to);
    if v_hi <= v_lo then
      return null;
    end if;
    exit when durable.tz_offset(p_time_zone, v_hi) <> v_offset;
    if v_hi >= p_to then
      return null;
    end if;
    v_lo := v_hi;
  end loop;
  while v_hi - v_lo > interval '1 second' loop
    v_mid := pg_catalog.date_trunc('second', v_lo + (v_hi - v_lo) / 2);
    if v_mid <= v_lo then
      v_mid := v_lo + interval '1 second';
    end if;
    if durable.tz_offset(p_time_zone, v_mid) <> v_offset then
      v_hi := v_mid;
    else
      v_lo := v_mid;
    end if;
  end loop;
  return v_hi;
end
$$;
comment on function durable.tz_transition(text, timestamptz, timestamptz) is
  'The first instant in (p_from, p_to] (to the second) at which time zone p_time_zone''s UTC '
  'offset differs from its offset at p_from, or null. Changes are looked for a day apart: two '
  'changes within one day are not seen. Internal.';

create function durable.cron_next_tick(p_fields bigint[], p_time_zone text, p_after timestamptz)
returns timestamptz
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
  -- hour field every hour: the schedule follows real time across a change of offset
  v_real_time boolean := p_fields[3] = (1::bigint << 24) - 1;
  v_y timestamptz := pg_catalog.date_trunc('second', p_after) + interval '1 second';
  v_offset interval;
  v_local timestamp;
  v_tick timestamptz;
  v_change timestamptz;
  v_before timestamp;
  v_after timestamp;
begin
  -- v_y walks through stretches of constant offset: in each, local time = instant + offset
  for i in 1 .. 1000 loop
    v_offset := durable.tz_offset(p_time_zone, v_y);
    v_local := durable.cron_match(p_fields, (v_y at time zone 'UTC') + v_offset, null);
    if v_local is null then
      return null;
    end if;
    v_tick := (v_local - v_offset) at time zone 'UTC';
    v_change := durable.tz_transition(p_time_zone, v_y, v_tick);
    if v_change is null then
      return v_tick;
    end if;
    -- the offset changes at v_change, before the tick: the local clock jumps from v_before to
    -- v_after (forward: the local times between never happen; back: they happen again)
    v_before := (v_change at time zone 'UTC') + v_offset;
    v_after := (v_change at time zone 'UTC') + durable.tz_offset(p_time_zone, v_change);
    if v_real_time then
      v_y := v_change;
    elsif v_after > v_before then
      -- a local time the jump skips fires once, at the first instant after the jump
      if durable.cron_match(p_fields, v_before, v_after) is not null then
        return v_change;
      end if;
      v_y := v_change;
    else
      -- a repeated local time fired at its first occurrence: go on from where the clock was
      v_y := v_change + (v_before - v_after);
    end if;
  end loop;
  return null;
end
$$;
comment on function durable.cron_next_tick(bigint[], text, timestamptz) is
  'The first tick of cron fields p_fields (durable.cron_parse) in time zone p_time_zone strictly '
  'after p_after, with the daylight-saving rules of durable.cron_next; null when there is none '
  'within 30 years. Internal.';

create function durable.cron_last_tick(p_fields bigint[], p_time_zone text, p_from timestamptz,
                                       p_to timestamptz)
returns timestamptz
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
declare
  v_window interval := interval '1 minute';
  v_start timestamptz;
  v_tick timestamptz;
  v_next timestamptz;
begin
  if p_from > p_to then
    return null;
  end if;
  -- look back from p_to in doubling windows, so that a long gap costs few ticks
  loop
    v_start := greatest(p_to - v_window, p_from);
    v_tick := durable.cron_next_tick(p_fields, p_time_zone, v_start - interval '1 microsecond');
    exit when v_tick <= p_to;
    if v_start = p_from then
      return null;
    end if;
    v_window := v_window * 2;
  end loop;
  loop
    v_next := durable.cron_next_tick(p_fields, p_time_zone, v_tick);
    exit when v_next is null or v_next > p_to;
    v_tick := v_next;
  end loop;
  return v_tick;
end
$$;
comment on function durable.cron_last_tick(bigint[], text, timestamptz, timestamptz) is
  'The last tick of cron fields p_fields in time zone p_time_zone in [p_from, p_to], or null. '
  'Internal.';

create function durable.check_time_zone(p_time_zone text)
returns void
language plpgsql
stable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_time_zone is null or p_time_zone = '' then
    raise exception 'time zone must not be null or empty'
      using errcode = 'DU010', hint = 'Pass a name such as ''UTC'' or ''Europe/Berlin''.';
  end if;
  -- pg_timezone_names reads every zone file (about 50 ms): first the names known good, UTC and
  -- those of the schedules (checked when they were set)
  if p_time_zone = 'UTC'
     or exists (select 1 from durable.schedules s where s.time_zone = p_time_zone) then
    return;
  end if;
  if not exists (select 1 from pg_catalog.pg_timezone_names z where z.name = p_time_zone) then
    raise exception 'unknown time zone %', pg_catalog.quote_literal(p_time_zone)
      using errcode = 'DU011',
            hint = 'Use a name of pg_timezone_names (IANA), such as ''UTC'' or '
                   '''America/New_York''; abbreviations and offsets are not accepted.';
  end if;
end
$$;
comment on function durable.check_time_zone(text) is
  'Raises DU010 when p_time_zone is null or empty, DU011 when it is not a name of '
  'pg_timezone_names. Internal.';

create function durable.cron_next(p_cron text, p_time_zone text default 'UTC',
                                  p_after timestamptz default null)
returns timestamptz
language plpgsql
stable
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if not pg_catalog.isfinite(p_after) then
    raise exception 'after must be a finite time, got %', p_after
      using errcode = 'DU011', hint = 'Pass null for now.';
  end if;
  perform durable.check_time_zone(p_time_zone);
  return durable.cron_next_tick(durable.cron_parse(p_cron), p_time_zone,
                                coalesce(p_after, durable.now()));
end
$$;
comment on function durable.cron_next(text, text, timestamptz) is
  'The first tick of cron expression p_cron in time zone p_time_zone (a name of '
  'pg_timezone_names, default UTC) strictly after p_after (default durable.now()), as a '
  'timestamptz; null when it never fires within 30 years (''0 0 30 2 *''). Cron is POSIX '
  'crontab with Vixie cron''s syntax and rules: minute hour day-of-month month day-of-week, '
  'each *, n, a-b, */s, a-b/s, a/s (a to the end) or a comma list of them; month names jan-dec, '
  'day names sun-sat, day-of-week 0-7 (0 and 7 Sunday); when day-of-month and day-of-week are '
  'both restricted (neither starts with *) a day matches when either does; @yearly @annually '
  '@monthly @weekly @daily @midnight @hourly; an optional sixth field in front is seconds '
  '(robfig/cron, Spring), else ticks fall on second 0. Daylight saving (Vixie cron): with fixed '
  'hours, a local time a jump forward skips fires once at the first instant after the jump, and '
  'a local time a jump back repeats fires once, at its first occurrence; with every hour (* in '
  'the hour field) ticks follow real time (none in the skipped hour, the repeated hour runs '
  'again). Errors: DU010 empty expression or time zone, DU011 bad expression, unknown time '
  'zone or an infinite p_after.';

-- schedules ----------------------------------------------------------------------------------

create function durable.schedule_tick_id(p_name text, p_tick timestamptz)
returns text
language sql
immutable
set search_path = pg_catalog, pg_temp
as $$
  select 'sched:' || p_name || ':'
         || pg_catalog.to_char(p_tick at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
$$;
comment on function durable.schedule_tick_id(text, timestamptz) is
  'The workflow id of schedule p_name''s tick p_tick: sched:<name>:<tick in UTC, ISO 8601 to '
  'the second>. Internal.';

create function durable.set_schedule(
  p_name text,
  p_cron text default null,
  p_workflow_name text default null,
  p_input jsonb default null,
  p_queue text default null,
  p_time_zone text default null,
  p_missed text default null,
  p_enabled boolean default null,
  p_grace interval default null
)
returns table (created boolean, next_tick timestamptz)
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := durable.now();
  v_old durable.schedules;
  v_cron text;
  v_tz text;
  v_fields bigint[];
  v_enabled boolean;
  v_next timestamptz;
begin
  if p_name is null or p_name = '' then
    raise exception 'schedule name must not be null or empty'
      using errcode = 'DU010';
  end if;
  if pg_catalog.length(p_name) > 150 then
    raise exception 'schedule name is % characters long, the limit is 150',
        pg_catalog.length(p_name)
      using errcode = 'DU011', hint = 'Its workflows'' ids are sched:<name>:<tick>.';
  end if;
  select * into v_old from durable.schedules s where s.name = p_name for update;
  if v_old.name is null and (p_cron is null or p_workflow_name is null) then
    raise exception 'a new schedule needs a cron expression and a workflow name'
      using errcode = 'DU010',
            hint = 'Pass p_cron and p_workflow_name; null keeps a setting of an existing schedule.';
  end if;
  if p_workflow_name = '' then
    raise exception 'workflow name must not be empty' using errcode = 'DU010';
  end if;
  if pg_catalog.length(p_workflow_name) > 200 then
    raise exception 'workflow name is % characters long, the limit is 200',
        pg_catalog.length(p_workflow_name)
      using errcode = 'DU011';
  end if;
  if p_queue is not null and not exists (select 1 from durable.queues q where q.name = p_queue) then
    raise exception 'unknown queue %', p_queue
      using errcode = 'DU004', hint = 'Create it first with select durable.set_queue(...).';
  end if;
  if p_missed not in ('skip', 'once', 'all') then
    raise exception 'missed must be skip, once or all, got %', pg_catalog.quote_literal(p_missed)
      using errcode = 'DU011',
            hint = 'skip: drop missed ticks; once: one run for them; all: a run for each.';
  end if;
  if p_grace < interval '0' or p_grace > interval '1 day' then
    raise exception 'grace must be between 0 and 1 day, got %', p_grace
      using errcode = 'DU011';
  end if;
  perform durable.check_payload(p_input, 'input');
  v_cron := coalesce(p_cron, v_old.cron);
  v_tz := coalesce(p_time_zone, v_old.time_zone, 'UTC');
  perform durable.check_time_zone(v_tz);
  v_fields := durable.cron_parse(v_cron);
  v_enabled := coalesce(p_enabled, v_old.enabled, true);
  -- the next tick: kept, unless the cron, the zone or the pause changed (ticks while paused are
  -- not missed: they did not happen)
  if v_old.name is not null and v_cron = v_old.cron and v_tz = v_old.time_zone
     and v_old.enabled and v_old.next_tick is not null then
    v_next := v_old.next_tick;
  else
    v_next := durable.cron_next_tick(v_fields, v_tz, v_now);
  end if;
  if v_next is null then
    raise exception 'cron expression % never fires', pg_catalog.quote_literal(v_cron)
      using errcode = 'DU011', hint = 'Check the day of month against the months (30 2: never).';
  end if;

  insert into durable.schedules as s
         (name, cron, fields, time_zone, workflow_name, input, queue, enabled, missed, grace,
          next_tick, created_at, updated_at)
  values (p_name, v_cron, v_fields, v_tz, coalesce(p_workflow_name, v_old.workflow_name),
          coalesce(p_input, v_old.input, 'null'), coalesce(p_queue, v_old.queue), v_enabled,
          coalesce(p_missed, v_old.missed, 'skip'),
          coalesce(p_grace, v_old.grace, interval '1 minute'),
          case when v_enabled then v_next end, v_now, v_now)
  on conflict (name) do update
     set cron = excluded.cron, fields = excluded.fields, time_zone = excluded.time_zone,
         workflow_name = excluded.workflow_name, input = excluded.input, queue = excluded.queue,
         enabled = excluded.enabled, missed = excluded.missed, grace = excluded.grace,
         next_tick = excluded.next_tick, updated_at = excluded.updated_at;
  return query select v_old.name is null, case when v_enabled then v_next end;
end
$$;
comment on function durable.set_schedule(text, text, text, jsonb, text, text, text, boolean, interval) is
  'Creates schedule p_name (1..150 characters) or changes only the settings given (null keeps '
  'one): each tick of cron expression p_cron (see durable.cron_next) in time zone p_time_zone '
  '(default UTC) starts workflow p_workflow_name with p_input (default null) on p_queue '
  '(default: the workflow''s registered queue, else default) as workflow '
  'sched:<name>:<tick in UTC, YYYY-MM-DDTHH:MI:SSZ>, once, whoever materializes it '
  '(durable.materialize_schedules). A tick materialized more than p_grace (0 to 1 day, default '
  '1 minute) after its time was missed (no materializer ran): p_missed skip (default) drops '
  'missed ticks, once starts one run for them (the latest), all starts one per missed tick (at '
  'most 1000 per call, oldest first). p_enabled false pauses it. Returns created (a new '
  'schedule) and its next tick, which is kept unless the cron, the zone or the pause changed. '
  'Errors: DU004 unknown queue, DU008 input too large, DU010 missing name, cron or workflow name '
  '(for a new schedule), DU011 bad cron, unknown time zone, bad missed or grace, a cron that '
  'never fires, names too long.';

create function durable.lock_schedule(p_name text)
returns durable.schedules
language plpgsql
set search_path = pg_catalog, pg_temp
as $$
declare
  v_row durable.schedules;
begin
  if p_name is null or p_name = '' then
    raise exception 'schedule name must not be null or empty' using errcode = 'DU010';
  end if;
  select * into v_row from durable.schedules s where s.name = p_name for update;
  if v_row.name is null then
    raise exception 'unknown schedule %', p_name
      using errcode = 'DU017', hint = 'Create it with durable.set_schedule(...).';
  end if;
  return v_row;
end
$$;
comment on function durable.lock_schedule(text) is
  'Locks and returns schedule p_name; raises DU010 (null or empty name) or DU017 (unknown '
  'schedule). Internal.';

create function durable.pause_schedule(p_name text)
returns text
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  perform durable.lock_schedule(p_name);
  update durable.schedules s set enabled = false, next_tick = null, updated_at = durable.now()
   where s.name = p_name and s.enabled;
  return 'paused';
end
$$;
comment on function durable.pause_schedule(text) is
  'Pauses schedule p_name: no tick is materialized until durable.resume_schedule (runs already '
  'started go on; durable.trigger_schedule still works). Idempotent; returns ''paused''. '
  'Errors: DU010 null or empty name, DU017 unknown schedule.';

create function durable.resume_schedule(p_name text)
returns timestamptz
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_row durable.schedules := durable.lock_schedule(p_name);
  v_now timestamptz := durable.now();
begin
  if v_row.enabled then
    return v_row.next_tick;
  end if;
  -- the ticks while it was paused are not missed ticks: it resumes with the next one
  update durable.schedules s
     set enabled = true, next_tick = durable.cron_next_tick(s.fields, s.time_zone, v_now),
         updated_at = v_now
   where s.name = p_name
  returning s.next_tick into v_row.next_tick;
  return v_row.next_tick;
end
$$;
comment on function durable.resume_schedule(text) is
  'Resumes paused schedule p_name from its first tick after now (the ticks while it was paused '
  'are not run, whatever its missed policy) and returns that tick; a running schedule is left '
  'as it is (its next tick is returned). Errors: DU010 null or empty name, DU017 unknown '
  'schedule.';

create function durable.trigger_schedule(p_name text)
returns text
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_row durable.schedules := durable.lock_schedule(p_name);
  v_now timestamptz := durable.now();
  v_id text := 'sched:' || p_name || ':trigger:'
               || pg_catalog.to_char(v_now at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
begin
  perform durable.enqueue(v_row.workflow_name, v_row.input, v_row.queue, v_id);
  update durable.schedules s set last_workflow_id = v_id where s.name = p_name;
  return v_id;
end
$$;
comment on function durable.trigger_schedule(text) is
  'Starts schedule p_name''s workflow now, once, paused or not, outside its ticks (the next tick '
  'is unchanged), as workflow sched:<name>:trigger:<now in UTC to the microsecond>, and returns '
  'its id. Errors: those of durable.enqueue (DU004, DU006, DU008), DU010 null or empty name, '
  'DU017 unknown schedule.';

create function durable.drop_schedule(p_name text)
returns boolean
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_name is null or p_name = '' then
    raise exception 'schedule name must not be null or empty' using errcode = 'DU010';
  end if;
  delete from durable.schedules s where s.name = p_name;
  return found;
end
$$;
comment on function durable.drop_schedule(text) is
  'Deletes schedule p_name (its runs stay); true when it existed, false otherwise. Errors: '
  'DU010 null or empty name.';

create function durable.materialize_schedules(p_limit integer default 1000)
returns integer
language plpgsql
security definer
set search_path = pg_catalog, pg_temp
as $$
declare
  v_now timestamptz := durable.now();
  v_left integer := p_limit;
  v_started integer := 0;
  v_row record;
  v_cut timestamptz;
  v_tick timestamptz;
  v_ticks timestamptz[];
  v_id text;
  v_created boolean;
  v_count integer;
  v_last_tick timestamptz;
  v_last_id text;
  v_error text;
begin
  if p_limit is null then
    raise exception 'limit must not be null' using errcode = 'DU010';
  end if;
  if p_limit < 1 or p_limit > 10000 then
    raise exception 'limit must be between 1 and 10000, got %', p_limit
      using errcode = 'DU011';
  end if;
  for v_row in
    select s.name, s.fields, s.time_zone, s.workflow_name, s.input, s.queue, s.missed, s.grace,
           s.next_tick, s.last_tick, s.last_workflow_id
      from durable.schedules s
     where s.enabled and s.next_tick <= v_now
     order by s.next_tick, s.name
       for update skip locked
  loop
    exit when v_left <= 0;
    -- the ticks to run, oldest first: missed ones (older than the grace) by the policy, then
    -- every tick on time; v_tick ends as the first tick not run
    v_ticks := '{}';
    v_cut := v_now - v_row.grace;
    v_tick := v_row.next_tick;
    if v_tick < v_cut and v_row.missed = 'once' then
      v_ticks := array[durable.cron_last_tick(v_row.fields, v_row.time_zone, v_tick,
                                              v_cut - interval '1 microsecond')];
      v_tick := durable.cron_next_tick(v_row.fields, v_row.time_zone,
                                       v_cut - interval '1 microsecond');
    elsif v_tick < v_cut and v_row.missed = 'skip' then
      v_tick := durable.cron_next_tick(v_row.fields, v_row.time_zone,
                                       v_cut - interval '1 microsecond');
    end if;
    while v_tick <= v_now and pg_catalog.cardinality(v_ticks) < least(v_left, 1000) loop
      v_ticks := v_ticks || v_tick;
      v_tick := durable.cron_next_tick(v_row.fields, v_row.time_zone, v_tick);
    end loop;

    v_last_tick := v_row.last_tick;
    v_last_id := v_row.last_workflow_id;
    v_error := null;
    v_count := 0;
    begin
      foreach v_last_tick in array v_ticks loop
        v_last_id := durable.schedule_tick_id(v_row.name, v_last_tick);
        select e.created into v_created
          from durable.enqueue(v_row.workflow_name, v_row.input, v_row.queue, v_last_id) e;
        if v_created then
          v_count := v_count + 1;
        end if;
      end loop;
    exception when others then
      -- this schedule's ticks of this call are undone and tried again at the next call
      get stacked diagnostics v_error = message_text;
      v_error := pg_catalog.left(sqlstate || ': ' || v_error, 1000);
    end;
    if v_error is null then
      v_started := v_started + v_count;
      v_left := v_left - v_count;
      update durable.schedules s
         set next_tick = v_tick, last_tick = v_last_tick, last_workflow_id = v_last_id,
             last_error = null
       where s.name = v_row.name;
    else
      update durable.schedules s set last_error = v_error where s.name = v_row.name;
    end if;
  end loop;
  return v_started;
end
$$;
comment on function durable.materialize_schedules(integer) is
  'Starts the due ticks of every enabled schedule as workflows (durable.enqueue with id '
  'sched:<name>:<tick in UTC>, so a tick runs once however many sessions materialize it) and '
  'returns how many workflows it started, at most p_limit (1..10000, default 1000; a schedule '
  'with more ticks due goes on at the next call). A tick later than its schedule''s grace is '
  'missed and follows the schedule''s policy (skip, once, all: durable.set_schedule). Safe in '
  'any number of sessions at once: it locks due schedules FOR UPDATE SKIP LOCKED (one held by '
  'another session is left to it) and needs nothing held by its caller; call it in a '
  'transaction of its own (it keeps the schedules locked until commit), every few seconds (the '
  'Python worker calls it with each heartbeat) or from pg_cron. A schedule whose workflow '
  'cannot be enqueued (unknown queue, input too large, id taken) keeps that tick, shows the '
  'error in durable.schedule_status.last_error, and is tried again at the next call. Errors: '
  'DU010 null limit, DU011 limit out of range.';

create view durable.schedule_status as
select s.name, s.cron, s.time_zone, s.workflow_name, s.queue, s.enabled, s.missed, s.grace,
       s.next_tick, s.next_tick <= durable.now() as due, s.last_tick, s.last_workflow_id,
       w.status as last_status, s.last_error, s.created_at, s.updated_at
  from durable.schedules s
  left join durable.workflows w on w.id = s.last_workflow_id;
comment on view durable.schedule_status is
  'One row per schedule, without its input: cron, time zone, workflow name, queue (null: the '
  'registered default), enabled, missed policy, grace; next_tick (null while paused) and due '
  '(it has passed: a materializer will start it); the last tick started, the last workflow '
  'started (tick or trigger) and its status; last_error, when the last materialization of it '
  'failed.';

commit;
