select seq from durable.workflows where false;
select 1 / (count(*) = 1)::int from pg_catalog.pg_index i
 where i.indexrelid = 'durable.workflows_runnable'::regclass and i.indnatts = 4;
