-- trace_context (issue 13): durable.workflows.trace_context, the W3C traceparent of the trace
-- that enqueued the run (enqueue's p_trace_context, the item key trace_context of
-- enqueue_batch). The claim hands it to the worker, whose spans continue that trace, so a
-- request's trace goes on in the worker that runs what it enqueued (README: Tracing).
-- durable.check_trace_context is the format check enqueue and enqueue_batch call (DU011).
\if :{?role_prefix}
\else
\set role_prefix durable
\endif
\set durable_admin :role_prefix '_admin'
begin;
set local role :"durable_admin";

-- W3C Trace Context (https://www.w3.org/TR/trace-context/, 3.2 traceparent): version,
-- trace-id, parent-id and flags as lowercase hex, version ff and all-zero ids invalid
alter table durable.workflows
  add column trace_context text,
  add constraint workflows_trace_context check (
    trace_context ~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$'
    and left(trace_context, 2) <> 'ff'
    and substr(trace_context, 4, 32) <> '00000000000000000000000000000000'
    and substr(trace_context, 37, 16) <> '0000000000000000');
comment on column durable.workflows.trace_context is
  'The W3C traceparent (version-traceid-parentid-flags) of the trace that enqueued the run, '
  'handed to its workers by the claim so that their spans continue that trace; null: none.';

create function durable.check_trace_context(p_trace_context text)
returns void
language plpgsql
immutable
set search_path = pg_catalog, pg_temp
as $$
begin
  if p_trace_context is null then
    return;
  end if;
  if p_trace_context !~ '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$' then
    raise exception 'trace context % is not a W3C traceparent',
        pg_catalog.quote_literal(left(p_trace_context, 100))
      using errcode = 'DU011',
            hint = 'Pass version-traceid-parentid-flags in lowercase hex, e.g. '
                   '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 (W3C Trace '
                   'Context), or null.';
  end if;
  if left(p_trace_context, 2) = 'ff' then
    raise exception 'trace context %: version ff is invalid', p_trace_context
      using errcode = 'DU011', hint = 'W3C Trace Context versions are 00 to fe.';
  end if;
  if substr(p_trace_context, 4, 32) = '00000000000000000000000000000000'
     or substr(p_trace_context, 37, 16) = '0000000000000000' then
    raise exception 'trace context %: an all-zero trace id or parent id is invalid',
        p_trace_context
      using errcode = 'DU011', hint = 'Pass the traceparent of a recorded span, or null.';
  end if;
end
$$;
comment on function durable.check_trace_context(text) is
  'Raises DU011 unless p_trace_context is null or a W3C traceparent: '
  'version-traceid-parentid-flags, 2, 32, 16 and 2 lowercase hex digits, version not ff, ids '
  'not all zeros (https://www.w3.org/TR/trace-context/). Internal.';

commit;
