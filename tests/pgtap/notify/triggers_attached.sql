-- The NOTIFY triggers exist on durable.workflows and call their functions.
begin;
select plan(4);

select trigger_is('durable', 'workflows', 'workflows_notify_insert', 'durable', 'notify_inserted',
  'workflows_notify_insert calls durable.notify_inserted');
select trigger_is('durable', 'workflows', 'workflows_notify_pending', 'durable', 'notify_pending',
  'workflows_notify_pending calls durable.notify_pending');
select is(
  (select (t.tgtype::int & 1 = 0) and (t.tgtype::int & 4 <> 0) and t.tgnewtable is not null
     from pg_trigger t where t.tgname = 'workflows_notify_insert'),
  true, 'workflows_notify_insert fires after insert, once per statement, with the new rows');
select is(
  (select (t.tgtype::int & 1 <> 0) and (t.tgtype::int & 16 <> 0) and t.tgqual is not null
     from pg_trigger t where t.tgname = 'workflows_notify_pending'),
  true, 'workflows_notify_pending fires per row after update, only when the row becomes pending');

select * from finish();
rollback;
