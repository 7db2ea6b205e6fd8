-- The demo shop's own tables, in a schema of their own (durable's tables stay in `durable`).
create schema if not exists shop;
create table if not exists shop.reservations (
  id bigint generated always as identity primary key,
  order_id text not null,
  sku text not null,
  quantity integer not null check (quantity > 0),
  reserved_at timestamptz not null default now()
);
select * from durable.set_queue('orders');
