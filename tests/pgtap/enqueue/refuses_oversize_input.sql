-- DU008: an input larger than durable.settings.max_payload_bytes is refused before anything
-- is written.
begin;
select plan(4);

update durable.settings set max_payload_bytes = 2048;

select throws_like(
  $$ select * from durable.enqueue('big', jsonb_build_object('s', repeat('x', 5000) || md5('a'))) $$,
  '%over the limit of 2048 bytes', 'an input over the limit raises DU008 (message)');
select throws_ok(
  $$ select * from durable.enqueue('big', jsonb_build_object('s', repeat(md5('b'), 100))) $$,
  'DU008', null, 'an input over the limit raises DU008');
select is((select count(*)::int from durable.workflows), 0, 'nothing was written');

select lives_ok(
  $$ select * from durable.enqueue('small', jsonb_build_object('s', repeat(md5('c'), 20))) $$,
  'an input under the limit is accepted');

select * from finish();
rollback;
