select one, shard, logical, updated_at from durable.shard_config where false;
