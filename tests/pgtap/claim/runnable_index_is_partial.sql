-- The claim reads runnable rows through partial indexes that hold only runnable (pending,
-- waiting) or leased (running) rows, so finished history never slows a claim.
begin;
select plan(5);

select has_index('durable', 'workflows', 'workflows_runnable', array['queue', 'priority', 'run_at', 'seq'],
  'workflows_runnable is on (queue, priority, run_at, seq)');
select is(
  (select pg_get_expr(i.indpred, i.indrelid) from pg_index i
    where i.indexrelid = 'durable.workflows_runnable'::regclass),
  $$(status = ANY (ARRAY['pending'::text, 'waiting'::text]))$$,
  'workflows_runnable holds pending and waiting rows only');
select is(
  (select pg_get_expr(i.indpred, i.indrelid) from pg_index i
    where i.indexrelid = 'durable.workflows_leased'::regclass),
  $$(status = 'running'::text)$$,
  'workflows_leased holds running rows only');

-- finished rows are not in the index at all
insert into durable.workflows (id, name, queue, status, run_at, output, created_at, finished_at)
select 'old-' || g, 'wf', 'default', 'succeeded', now(), '1', now(), now()
  from generate_series(1, 200) g;
select durable.enqueue('wf', p_workflow_id => 'live');
analyze durable.workflows;
set local enable_seqscan = off;
set local enable_bitmapscan = off;
select is(
  (select count(*)::int from durable.workflows w
    where w.queue = 'default' and w.status in ('pending', 'waiting') and w.run_at <= now() + interval '1 day'),
  1, 'of 201 rows one is runnable');

create temp table plan_text (line text);
do $$
declare
  v_line text;
begin
  for v_line in
    explain select w.id from durable.workflows w
     where w.queue = 'default' and w.status in ('pending', 'waiting') and w.run_at <= now()
     order by w.priority desc, w.run_at limit 10 for update skip locked
  loop
    insert into plan_text values (v_line);
  end loop;
end
$$;
select ok((select bool_or(line like '%Index Scan using workflows_runnable%') from plan_text),
  'the claim''s query scans workflows_runnable');

select * from finish();
rollback;
