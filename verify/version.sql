select 1 / (durable.version() = '0.2.0')::int;
