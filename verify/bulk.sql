-- bulk: the retention settings, the index of finished rows and the functions exist
select retain_succeeded, retain_failed, purge_batch from durable.settings where false;
select 1 / (count(*) = 1)::int from pg_catalog.pg_indexes
 where schemaname = 'durable' and indexname = 'workflows_finished';
select 'durable.check_filters(text[], text[], text, timestamptz, timestamptz, timestamptz, timestamptz)'::regprocedure,
       'durable.check_bulk(text[], text[], text, text, timestamptz, timestamptz, timestamptz, timestamptz, integer)'::regprocedure,
       'durable.purge_some(text[], timestamptz, integer, text, text, timestamptz, timestamptz, timestamptz)'::regprocedure,
       'durable.purge_batch(interval, integer)'::regprocedure,
       'durable.housekeep(text)'::regprocedure,
       'durable.purge_where(text, text, text[], timestamptz, timestamptz, timestamptz, timestamptz, integer, boolean)'::regprocedure,
       'durable.cancel_where(text, text, text[], timestamptz, timestamptz, integer, boolean)'::regprocedure,
       'durable.retry_where(text, text, text[], timestamptz, timestamptz, timestamptz, timestamptz, integer, boolean)'::regprocedure;
