-- durable.shard_key: the routing rule. A canonical lowercase UUID at the start: its last byte
-- (generated ids and the <uuid>-<step> children of them); sched:<name>:<tick>: the MD5 rule on
-- the name (a schedule's ticks live with the schedule); anything else: md5's first byte.
begin;
select plan(9);

select is(durable.shard_key('0190c8a4-1111-7000-8000-0000000000ab'), 171,
  'a UUID id: its last byte (0xab)');
select is(durable.shard_key('0190c8a4-1111-7000-8000-0000000000ab-3'), 171,
  'a child named after a UUID parent (<uuid>-<step>) lands with its parent');
select is(durable.shard_key('order-1'), get_byte(decode(md5('order-1'), 'hex'), 0),
  'any other id: the first byte of its md5');
select is(durable.shard_key('0190C8A4-1111-7000-8000-0000000000AB'),
          get_byte(decode(md5('0190C8A4-1111-7000-8000-0000000000AB'), 'hex'), 0),
  'an upper-case UUID is not canonical: the md5 rule');
select is(durable.shard_key(durable.schedule_tick_id('nightly', '2026-01-01 00:00:00+00')),
          durable.shard_key('nightly'),
  'a schedule''s tick goes where its name goes');
select is(durable.shard_key('sched:a:b:2026-01-01T00:00:00Z'), durable.shard_key('a:b'),
  'a schedule name with colons: the tick''s fixed-width suffix is what is cut off');
select is(durable.shard_key('sched:nightly'), get_byte(decode(md5('sched:nightly'), 'hex'), 0),
  'sched: without a tick is an ordinary id');
select is(durable.shard_key(null), null, 'null for null');
select ok((select bool_and(durable.shard_key(g::text) between 0 and 255)
             from generate_series(1, 2000) g), 'always 0..255');

select * from finish();
rollback;
