do $$
begin
  if has_function_privilege('public', 'durable.fence(text, bigint)', 'execute') then
    raise exception 'PUBLIC may still execute durable functions';
  end if;
  if not has_function_privilege('durable_worker', 'durable.claim(text, text[], integer, interval)', 'execute') then
    raise exception 'durable_worker may not claim';
  end if;
  if not has_table_privilege('durable_observer', 'durable.runs', 'select') then
    raise exception 'durable_observer may not read durable.runs';
  end if;
end
$$;
