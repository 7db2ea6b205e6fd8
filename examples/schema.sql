-- The examples' own tables, each example in a schema of its own (durable's tables stay in
-- `durable`), and their queues. Run once: psql -f examples/schema.sql (idempotent).

-- orders.py (make demo): the shop
create schema if not exists shop;
create table if not exists shop.reservations (
  id bigint generated always as identity primary key,
  order_id text not null,
  sku text not null,
  quantity integer not null check (quantity > 0),
  reserved_at timestamptz not null default now()
);
select * from durable.set_queue('orders');

-- signup.py: the users, and the pretend mail provider's outbox (one row per idempotency key)
create schema if not exists signup;
create table if not exists signup.users (
  id bigint generated always as identity primary key,
  email text not null unique,
  name text not null,
  status text not null default 'unconfirmed'
    check (status in ('unconfirmed', 'confirmed', 'expired')),
  created_at timestamptz not null default now(),
  confirmed_at timestamptz
);
create table if not exists signup.outbox (
  id bigint generated always as identity primary key,
  idempotency_key text not null unique,
  recipient text not null,
  subject text not null,
  sent_at timestamptz not null default now()
);
select * from durable.set_queue('signup');

-- etl_fanout.py: one row per loaded partition, one per finished batch
create schema if not exists etl;
create table if not exists etl.partition_totals (
  batch text not null,
  partition integer not null,
  row_count integer not null,
  amount_cents bigint not null,
  loaded_at timestamptz not null default now(),
  primary key (batch, partition)
);
create table if not exists etl.batch_totals (
  batch text primary key,
  partitions integer not null,
  row_count integer not null,
  amount_cents bigint not null,
  loaded_at timestamptz not null default now()
);
select * from durable.set_queue('etl');
