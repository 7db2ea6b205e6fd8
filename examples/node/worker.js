#!/usr/bin/env node
// worker.js: runs the workflows of workflows.js until SIGTERM or SIGINT.
//   DATABASE_URL=postgresql://... node worker.js [--queues default] [--concurrency 4]
//       [--worker-id ID] [--lease-timeout SECONDS] [--poll-interval SECONDS] [--grace SECONDS]
'use strict';

const os = require('node:os');
const { parseArgs } = require('node:util');
const pg = require('pg');
const { Worker } = require('./durable');
const { VERSION, workflows } = require('./workflows');

const { values: opt } = parseArgs({
  options: {
    queues: { type: 'string', default: 'default' },
    concurrency: { type: 'string', default: '4' },
    'worker-id': { type: 'string', default: `${os.hostname()}-node-${process.pid}` },
    'lease-timeout': { type: 'string' },
    'poll-interval': { type: 'string', default: '1' },
    grace: { type: 'string', default: '10' },
  },
});
const concurrency = Number(opt.concurrency);

// one connection per slot, the claims and heartbeats, and the LISTEN
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: concurrency + 2,
                           application_name: 'durable node worker' });
// PITFALL: an idle pooled connection that dies (a server restart, pg_terminate_backend) emits
// 'error' on the pool: without a listener, Node ends the process.
pool.on('error', (err) => console.error(`idle connection lost: ${err.message}`));

const worker = new Worker({
  pool, workflows, version: VERSION, concurrency,
  queues: opt.queues.split(',').map((q) => q.trim()).filter(Boolean),
  workerId: opt['worker-id'],
  leaseTimeout: opt['lease-timeout'] ? Number(opt['lease-timeout']) : null,
  pollInterval: Number(opt['poll-interval']),
  grace: Number(opt.grace),
});
process.on('SIGTERM', () => worker.stop());
process.on('SIGINT', () => worker.stop());

worker.run()
  .then(() => pool.end())
  .then(() => process.exit(0)) // a step that ignores its signal does not keep the process
  .catch((err) => {
    console.error(`worker failed: ${err.code || ''} ${err.message}`);
    process.exit(1);
  });
