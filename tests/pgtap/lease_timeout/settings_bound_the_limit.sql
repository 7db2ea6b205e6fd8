-- durable.settings.max_lease_timeout stays in a sane range (1 second to 1 day), and the
-- default lease timeout may not exceed it (23514, check_violation).
begin;
select plan(7);

select is((select max_lease_timeout from durable.settings), interval '1 hour', 'the default is 1 hour');
select throws_ok($$ update durable.settings set max_lease_timeout = interval '2 days' $$,
  '23514', null, 'a limit over 1 day is refused');
select throws_ok($$ update durable.settings set max_lease_timeout = interval '0' $$,
  '23514', null, 'a limit of 0 is refused');
select throws_ok($$ update durable.settings set max_lease_timeout = interval '10 seconds' $$,
  '23514', null, 'a limit under the default lease timeout (30 seconds) is refused');
select throws_ok($$ update durable.settings set default_lease_timeout = interval '2 hours' $$,
  '23514', null, 'a default lease timeout over the limit is refused');
select lives_ok($$ update durable.settings set max_lease_timeout = interval '1 day',
                                             default_lease_timeout = interval '2 hours' $$,
  'both within range are accepted');
select lives_ok($$ update durable.settings set max_lease_timeout = interval '1 second',
                                             default_lease_timeout = interval '1 second' $$,
  'the smallest limit is accepted');

select * from finish();
rollback;
