select 1 / (count(*) = 0)::int from pg_catalog.pg_proc p
 where p.pronamespace = 'durable'::regnamespace
   and p.proname in ('claim', 'checkpoint', 'step_failed', 'complete', 'complete_batch',
                     'complete_and_claim', 'fail', 'fail_batch', 'heartbeat', 'release',
                         'register')
   and not coalesce('lock_timeout=2s' = any (p.proconfig), false);
