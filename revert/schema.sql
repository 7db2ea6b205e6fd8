-- schema (v0.2.0) reverted: everything goes back to durable_admin, the v0.1.0 owner.
begin;

do $$
declare
  v_object record;
begin
  if (select n.nspowner::regrole::text from pg_catalog.pg_namespace n where n.nspname = 'durable')
     = 'durable_admin' then
    return;
  end if;
  alter schema durable owner to durable_admin;
  for v_object in
    select pg_catalog.format('alter %s %s owner to durable_admin',
             case c.relkind when 'v' then 'view' when 'S' then 'sequence' else 'table' end,
             c.oid::regclass) as stmt
      from pg_catalog.pg_class c
     where c.relnamespace = 'durable'::regnamespace and c.relkind in ('r', 'p', 'v', 'S')
       and not exists (select 1 from pg_catalog.pg_depend d
                        where d.objid = c.oid and d.deptype in ('a', 'i')
                          and d.classid = 'pg_catalog.pg_class'::regclass
                          and d.refclassid = 'pg_catalog.pg_class'::regclass)
    union all
    select pg_catalog.format('alter function %s owner to durable_admin', p.oid::regprocedure)
      from pg_catalog.pg_proc p
     where p.pronamespace = 'durable'::regnamespace
  loop
    execute v_object.stmt;
  end loop;
end
$$;

commit;
