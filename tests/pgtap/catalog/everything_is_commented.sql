-- Every function, table, view and trigger of schema durable, and the schema itself, has a
-- comment: psql's \df+ and \d+ are the reference manual.
begin;
select plan(5);

select is_empty(
  $$ select p.oid::regprocedure from pg_proc p
      where p.pronamespace = 'durable'::regnamespace
        and coalesce(obj_description(p.oid, 'pg_proc'), '') = '' $$,
  'every function has a comment');
select is_empty(
  $$ select c.oid::regclass from pg_class c
      where c.relnamespace = 'durable'::regnamespace and c.relkind in ('r', 'v', 'm', 'p')
        and coalesce(obj_description(c.oid, 'pg_class'), '') = '' $$,
  'every table and view has a comment');
select is_empty(
  $$ select t.tgname from pg_trigger t join pg_class c on c.oid = t.tgrelid
      where c.relnamespace = 'durable'::regnamespace and not t.tgisinternal
        and coalesce(obj_description(t.oid, 'pg_trigger'), '') = '' $$,
  'every trigger has a comment');
select isnt(coalesce(obj_description('durable'::regnamespace, 'pg_namespace'), ''), '',
  'the schema has a comment');

-- the error codes a function raises are documented in its comment (or in the comment of the
-- function it refers to with "those of durable.x")
select is_empty(
  $$ with documented as (
       select p.oid, p.prosrc,
              obj_description(p.oid, 'pg_proc') || coalesce(
                (select string_agg(obj_description(q.oid, 'pg_proc'), ' ')
                   from pg_proc q
                  where q.pronamespace = 'durable'::regnamespace
                    and 'durable.' || q.proname = (regexp_match(obj_description(p.oid, 'pg_proc'),
                                                                'those of (durable\.[a-z_]+)'))[1]),
                '') as doc
         from pg_proc p
        where p.pronamespace = 'durable'::regnamespace and p.prosecdef
     )
     select d.oid::regprocedure, c.code
       from documented d,
            lateral (select distinct m[1] as code
                       from regexp_matches(d.prosrc, $r$errcode = '(DU[0-9]{3})'$r$, 'g') m) c
      where position(c.code in d.doc) = 0 $$,
  'every DU code a public function raises itself is named in its comment');

select * from finish();
rollback;
