-- durable.check_filters, the filter checks bulk operations and run listings share: each refusal
-- with its code, and the filters it lets through.
begin;
select plan(7);
select throws_ok($$ select durable.check_filters('{}', '{failed}', null, null, null, null, null) $$,
  'DU011', null, 'an empty status array');
select throws_ok($$ select durable.check_filters(array[null], '{failed}', null, null, null, null, null) $$,
  'DU011', null, 'a null status');
select throws_ok($$ select durable.check_filters('{running}', '{failed,cancelled}', null, null, null, null, null) $$,
  'DU011', 'status must be a non-empty array of {failed,cancelled}, got {running}', 'a status not allowed');
select throws_ok($$ select durable.check_filters(null, '{failed}', 'no-such-queue', null, null, null, null) $$,
  'DU004', 'unknown queue no-such-queue', 'an unknown queue');
select throws_ok($$ select durable.check_filters(null, '{failed}', null, '2030-01-02', '2030-01-01', null, null) $$,
  'DU011', null, 'an empty created range');
select throws_ok($$ select durable.check_filters(null, '{failed}', null, null, null, '2030-01-02', '2030-01-02') $$,
  'DU011', null, 'an empty finished range');
select lives_ok($$ select durable.check_filters('{failed}', '{failed,cancelled}', 'default', '2030-01-01', '2030-01-02',
                                                null, '2030-01-03') $$, 'valid filters pass');
select * from finish();
rollback;
