-- lease_limit: durable.settings.max_lease_timeout and its two constraints exist
select max_lease_timeout from durable.settings where false;
select 1 / (count(*) = 2)::int from pg_catalog.pg_constraint
 where conrelid = 'durable.settings'::regclass
   and conname in ('settings_max_lease_range', 'settings_default_lease_within_max');
