-- The ids that enqueue, enqueue_batch and fork generate are UUIDv7 text (36 lowercase
-- characters); those of one batch sort in the order of the batch (and of its insert), so new
-- rows go to the right edge of the id indexes. Given ids are kept as they are.
begin;
select plan(7);
select durable_test.pin();

create temp table one as select * from durable.enqueue('w', '{}');
select matches((select workflow_id from one),
  '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$',
  'enqueue generates a version 7 UUID as text');

create temp table batch as
select row_number() over () as n, b.*
  from durable.enqueue_batch(
         (select jsonb_agg(case when i % 10 = 0 then jsonb_build_object('name', 'w', 'workflow_id', 'given-' || i)
                                else jsonb_build_object('name', 'w') end order by i)
            from generate_series(1, 500) i)) b;
select is((select count(*)::int from batch where created), 500, 'a batch of 500 is created');
select is_empty(
  $$ select workflow_id from batch where workflow_id !~ '^given-'
        and workflow_id !~ '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' $$,
  'enqueue_batch generates version 7 UUIDs for items without an id');
select is((select count(*)::int from batch where workflow_id ~ '^given-'), 50,
  'the given ids are kept');
select is_empty(
  $$ select * from (select n, workflow_id, lag(workflow_id) over (order by n) as prev
                      from batch where workflow_id !~ '^given-') s
      where workflow_id <= prev $$,
  'the generated ids of a batch sort in the order of the batch');
select is_empty(
  $$ select * from (select w.id, w.seq, lag(w.id) over (order by w.seq) as prev
                      from durable.workflows w join batch b on b.workflow_id = w.id
                     where w.id !~ '^given-') s
      where id <= prev $$,
  'and in the order of the claim (seq): first in, first out');

select matches(durable.fork((select workflow_id from one), 0),
  '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$',
  'fork generates a version 7 UUID as text');

select * from finish();
rollback;
