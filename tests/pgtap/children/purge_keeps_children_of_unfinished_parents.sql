-- durable.purge keeps a finished child whose parent is unfinished: the parent may still await
-- it, and await_children of a purged child would be DU016 (not a child) when the parent
-- resumes. Found by the review of retention (issue 11).
begin;
\ir ../waiting_fixtures.sql
select plan(3);
select durable_test.pin();

select * from durable_test.start(p_workflow_id => 'pk');
select durable.start_child('pk', durable_test.lease_of('pk'), 0, 'kid', p_child_id => 'pk-kid', p_queue => 'default');
select * from durable.await_children('pk', durable_test.lease_of('pk'), 1, array['pk-kid']);
select durable_test.claim_id('pk-kid', 'worker-k', 'default') as lease \gset
select durable.complete('pk-kid', :lease, '1');
select durable_test.advance(interval '2 days');

select is(durable.purge(interval '1 day'), 0::bigint, 'the finished child of a waiting parent is kept');
select durable_test.claim_id('pk', 'worker-k', 'default') as lease \gset
select is((select parked from durable.await_children('pk', :lease, 1, array['pk-kid'])), false,
  'and its parent, resumed, gets its outcome');
select durable.complete('pk', :lease, '2');
select durable_test.advance(interval '2 days');
select is(durable.purge(interval '1 day'), 2::bigint, 'once the parent finished, both go');

select * from finish();
rollback;
