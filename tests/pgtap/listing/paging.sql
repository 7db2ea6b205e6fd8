-- durable.list_runs pages by key: the page after a run starts right after it in the order
-- (created_at desc, id desc), given its id alone or its created_at too; runs enqueued while a
-- client pages do not shift the pages after the first; equal created_at are ordered by id.
begin;
select plan(7);
select durable_test.pin();
select durable.set_queue('lp');

-- p1 .. p4 a second apart, then p5a and p5b at the same instant
select durable.enqueue('w', 'null', 'lp', 'p1');
select durable_test.advance(interval '1 second');
select durable.enqueue('w', 'null', 'lp', 'p2');
select durable_test.advance(interval '1 second');
select durable.enqueue('w', 'null', 'lp', 'p3');
select durable_test.advance(interval '1 second');
select durable.enqueue('w', 'null', 'lp', 'p4');
select durable_test.advance(interval '1 second');
select durable.enqueue_batch('[{"name": "w", "queue": "lp", "workflow_id": "p5a"},
                               {"name": "w", "queue": "lp", "workflow_id": "p5b"}]');

select results_eq($$ select id from durable.list_runs(p_queue => 'lp', p_limit => 3) $$,
  $$ values ('p5b'), ('p5a'), ('p4') $$, 'first page: newest first, ties by id desc');
select results_eq(
  $$ select id from durable.list_runs(p_queue => 'lp', p_limit => 3, p_before_id => 'p4') $$,
  $$ values ('p3'), ('p2'), ('p1') $$, 'the page after p4');
select results_eq(
  $$ select id from durable.list_runs(p_queue => 'lp', p_limit => 3, p_before_id => 'p5b') $$,
  $$ values ('p5a'), ('p4'), ('p3') $$, 'a page starting inside a tie');
select results_eq(
  $$ select id from durable.list_runs(p_queue => 'lp', p_before_id => 'gone',
       p_before_created_at => (select created_at from durable.workflows where id = 'p3')) $$,
  $$ values ('p2'), ('p1') $$, 'with its created_at, the cursor needs no row (a purged one)');

-- new runs arrive while a client pages: the next page is the same
select durable_test.advance(interval '1 second');
select durable.enqueue('w', 'null', 'lp', 'p6');
select durable.enqueue('w', 'null', 'lp', 'p0-late');
select results_eq(
  $$ select id from durable.list_runs(p_queue => 'lp', p_limit => 3, p_before_id => 'p4') $$,
  $$ values ('p3'), ('p2'), ('p1') $$, 'runs enqueued meanwhile do not shift the next page');
select results_eq($$ select id from durable.list_runs(p_queue => 'lp', p_limit => 2) $$,
  $$ values ('p6'), ('p0-late') $$, 'they are on the first page');
select is_empty($$ select id from durable.list_runs(p_queue => 'lp', p_before_id => 'p1') $$,
  'nothing after the oldest');

select * from finish();
rollback;
