#!/usr/bin/env node
// client.js: start a workflow and wait for its result, or read one.
//   node client.js enqueue NAME [INPUT_JSON] [--id ID] [--queue Q] [--wait SECONDS]
//   node client.js result ID [--wait SECONDS]
// Prints the outcome as JSON: {workflow_id, created, status, output, error}. Exit status 1 on an
// error (its SQLSTATE first: DU003 unknown workflow, DU004 unknown queue, ...), 2 on a timeout.
'use strict';

const { parseArgs } = require('node:util');
const pg = require('pg');
const durable = require('./durable');

async function main() {
  const { values: opt, positionals: [command, ...args] } = parseArgs({
    allowPositionals: true,
    options: { id: { type: 'string' }, queue: { type: 'string' }, wait: { type: 'string' } },
  });
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 2,
                             application_name: 'durable node client' });
  pool.on('error', (err) => console.error(`idle connection lost: ${err.message}`));
  try {
    let out;
    let workflowId;
    if (command === 'enqueue' && args.length >= 1) {
      const input = args.length > 1 ? JSON.parse(args[1]) : null;
      const started = await durable.enqueue(pool, args[0], input,
        { workflowId: opt.id, queue: opt.queue });
      workflowId = started.workflowId;
      out = { workflow_id: workflowId, created: started.created };
    } else if (command === 'result' && args.length === 1) {
      [workflowId] = args;
      out = { workflow_id: workflowId };
    } else {
      throw new Error('usage: client.js enqueue NAME [INPUT_JSON] [--id ID] [--queue Q] '
        + '[--wait SECONDS] | client.js result ID [--wait SECONDS]');
    }
    const outcome = opt.wait !== undefined
      ? await durable.waitForResult(pool, workflowId, { timeoutMs: Number(opt.wait) * 1000 })
      : await durable.result(pool, workflowId);
    Object.assign(out, { status: outcome.status, output: outcome.output, error: outcome.error });
    console.log(JSON.stringify(out));
  } finally {
    await pool.end();
  }
}

main().catch((err) => {
  console.error(err.code ? `${err.code}: ${err.message}` : err.message);
  process.exit(err instanceof durable.TimeoutError ? 2 : 1);
});
