-- listing: the functions exist with their signatures (regprocedure raises when one is missing)
select 'durable.list_runs(text[], text, text, timestamptz, timestamptz, timestamptz, timestamptz, jsonb, text, text, timestamptz, integer)'::regprocedure,
       'durable.list_runs_meta(text[], text, text, timestamptz, timestamptz, timestamptz, timestamptz, text, text, timestamptz, integer)'::regprocedure,
       'durable.check_list(text[], text, timestamptz, timestamptz, timestamptz, timestamptz, timestamptz, text, integer)'::regprocedure,
       'durable.list_runs_where(boolean[])'::regprocedure,
       'durable.index_inputs(boolean)'::regprocedure;
