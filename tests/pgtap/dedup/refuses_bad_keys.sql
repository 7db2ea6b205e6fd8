-- DU011: an empty or over-200-character concurrency key or deduplication key, in enqueue and in
-- enqueue_batch; nothing is written.
begin;
select plan(6);

select throws_ok($$ select durable.enqueue('wf', p_concurrency_key => '') $$, 'DU011',
  'concurrency key must be 1 to 200 characters, or null', 'an empty concurrency key raises DU011');
select throws_ok($$ select durable.enqueue('wf', p_concurrency_key => repeat('k', 201)) $$, 'DU011', null,
  'a 201-character concurrency key raises DU011');
select throws_ok($$ select durable.enqueue('wf', p_dedup_key => '') $$, 'DU011',
  'deduplication key must be 1 to 200 characters, or null', 'an empty deduplication key raises DU011');
select throws_ok($$ select durable.enqueue('wf', p_dedup_key => repeat('k', 201)) $$, 'DU011', null,
  'a 201-character deduplication key raises DU011');
select throws_ok($$ select durable.enqueue_batch('[{"name": "wf", "dedup_key": ""}]') $$, 'DU011', null,
  'in a batch too');
select is((select count(*)::int from durable.workflows), 0, 'nothing was written');

select * from finish();
rollback;
