// durable.js: a client and a worker for durable, in plain JavaScript on node-postgres (`pg`).
//
// Every rule (who runs what, leases, fencing, retries and their backoff, recovery) is in the
// SQL functions of schema `durable`: this file only calls them, as the Python client does. It is
// meant to be read: README.md, "Other languages: Node.js example", explains each call and the
// driver's pitfalls, which are marked PITFALL below.
//
//   client: enqueue(db, name, input, options)      durable.enqueue, one round trip
//           result(db, id), watch(db, id)          durable.result, durable.watch
//           waitForResult(pool, id, options)       LISTEN durable_finished + durable.watch
//           cancel(db, id)                         durable.cancel
//   worker: new Worker({pool, workflows, ...}).run()
//           durable.register, then durable.claim (with the recorded steps), a replay of those
//           steps without a round trip, one durable.checkpoint per new step (durable.step_failed
//           for a failed try), durable.complete or durable.fail, durable.heartbeat about three
//           times per lease timeout, durable.release on SIGTERM.
'use strict';

const { setTimeout: sleep } = require('node:timers/promises');

// SQLSTATEs the worker acts on (README, Errors). node-postgres puts the SQLSTATE in err.code,
// the DETAIL in err.detail.
const LEASE_LOST = 'DU001'; // the run was claimed again (its worker was thought dead), or released
const STOPPED = 'DU002'; // the run was cancelled, or its deadline passed

// Why the SQL refused a lease: DU001 and DU002 carry a JSON DETAIL, {reason: 'lease_lost' |
// 'cancelled' | 'deadline_passed', workflow_id, lease (the one sent, a string), status (the
// run's now), deadline (deadline_passed only)}; no message to parse. null for other errors.
function refusal(err) {
  if (!err || (err.code !== LEASE_LOST && err.code !== STOPPED) || !err.detail) return null;
  try {
    return JSON.parse(err.detail);
  } catch {
    return null;
  }
}

// '<reason> (<SQLSTATE>, status <status>)', e.g. 'cancelled (DU002, status cancelled)'
function refusalText(err) {
  const why = refusal(err);
  return why ? `${why.reason} (${err.code}, status ${why.status})` : `${err.code} ${err.message}`;
}

// PITFALL: node-postgres turns a JS array parameter into a Postgres array literal ('{1,2}'), a
// string into bare text ('hi', not '"hi"'), and null into SQL NULL: as a jsonb parameter the
// first two are refused (22P02 invalid input syntax for type json) and the last is not JSON
// null. Always send JSON text and cast it: json(value) with `$n::jsonb`.
function json(value) {
  return JSON.stringify(value === undefined ? null : value);
}

// PITFALL: interval results arrive as objects (postgres-interval), bigint and numeric as
// strings. Where a number of seconds is needed, ask for it: step_failed answers
// retry_in_seconds; elsewhere extract(epoch from ...)::float8. An interval parameter takes a
// number of seconds as it is: node-postgres sends 2.5 as the text '2.5', and Postgres reads a
// number without a unit as seconds ('2.5'::interval is 2.5 s). (Not one JavaScript prints with
// an exponent, under 1e-6 or from 1e21: '1e-7' is refused, 22007.)

// A step that failed for good: its recorded error is replayed as this exception. Uncaught, it
// fails the run's attempt (retried while attempts are left: the failed step runs again).
class StepFailed extends Error {
  constructor(step, error) {
    super(`step ${step} failed: ${error && error.type}: ${error && error.message}`);
    this.name = 'StepFailed';
    this.error = error; // the recorded JSON: {type, message, traceback}
  }
}

// Throw it from a workflow to fail the run without retries (from a step: that step is not tried
// again, and the run goes on as for any StepFailed).
class NonRetryable extends Error {
  constructor(message) {
    super(message);
    this.name = 'NonRetryable';
  }
}

// The run must stop (lease lost, cancelled, deadline passed, worker stopping). A workflow that
// catches it must rethrow it: JavaScript has no exception that `catch` cannot take, so the
// worker also remembers the stop and never completes or fails a stopped run.
class Stopped extends Error {
  constructor(reason) {
    super(reason);
    this.name = 'Stopped';
  }
}

// waitForResult ran out of time; the workflow goes on.
class TimeoutError extends Error {
  constructor(message) {
    super(message);
    this.name = 'TimeoutError';
  }
}

// The JSON an error is recorded as (durable.step_failed, durable.fail), as the Python worker
// records it: {type, message, traceback}.
function errorJson(err) {
  if (err instanceof Error) {
    return { type: err.name, message: err.message, traceback: String(err.stack || '').slice(-4000) };
  }
  return { type: typeof err, message: String(err) };
}

// -- client --------------------------------------------------------------------------------------

// Start a workflow: {workflowId, created}. `db` is a pg Pool or Client; options are durable.enqueue's
// parameters (README, SQL API): workflowId (idempotency: the same id again creates nothing),
// queue, priority, delay and timeout in seconds (numbers, sent as they are: see above),
// maxAttempts. An option left out (or null) takes the default the workflow's workers registered.
async function enqueue(db, name, input, options = {}) {
  const { rows } = await db.query(
    `select workflow_id, created
       from durable.enqueue(p_name => $1::text, p_input => $2::jsonb, p_queue => $3::text,
                            p_workflow_id => $4::text, p_priority => $5::integer,
                            p_delay => $6::interval, p_max_attempts => $7::integer,
                            p_timeout => $8::interval)`,
    [name, json(input), options.queue, options.workflowId, options.priority,
     options.delay, options.maxAttempts, options.timeout]);
  return { workflowId: rows[0].workflow_id, created: rows[0].created };
}

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

// A workflow's outcome now: {status, output, error, attempt, createdAt, finishedAt}.
// PITFALL: timestamps arrive as JS Dates, to the millisecond (Postgres keeps microseconds).
async function result(db, workflowId) {
  return outcome(await db.query(
    `select status, output, error, attempt, created_at, finished_at
       from durable.result($1::text)`, [workflowId]));
}

// result(), and a promise: when the workflow finishes, NOTIFY durable_finished with its id.
async function watch(db, workflowId) {
  return outcome(await db.query(
    `select status, output, error, attempt, created_at, finished_at
       from durable.watch($1::text)`, [workflowId]));
}

function outcome({ rows: [r] }) {
  return { status: r.status, output: r.output, error: r.error, attempt: r.attempt,
           createdAt: r.created_at, finishedAt: r.finished_at };
}

// Wait until the workflow has finished, without polling: LISTEN durable_finished first, then
// durable.watch, then wait for the notification naming the workflow, and read the result
// again. A poll every `pollMs` covers a lost notification. Rejects with TimeoutError after
// `timeoutMs` (the workflow goes on).
// PITFALL: LISTEN belongs to one connection: take a client out of the pool and keep it.
async function waitForResult(pool, workflowId, { timeoutMs = 30000, pollMs = 5000 } = {}) {
  const client = await pool.connect();
  let notified = false; // a notification that comes before the wait below starts is kept
  let wake = () => { notified = true; };
  const onNotification = (msg) => {
    if (msg.channel === 'durable_finished' && msg.payload === workflowId) wake();
  };
  client.on('notification', onNotification);
  let lost = null; // the connection died while waiting (see Worker.listen's PITFALL)
  const onError = (err) => { lost = err; wake(); };
  client.on('error', onError);
  const deadline = Date.now() + timeoutMs;
  try {
    await client.query('listen durable_finished');
    let now = await watch(client, workflowId);
    while (!FINISHED.has(now.status)) {
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new TimeoutError(`workflow ${workflowId} is still ${now.status} after ${timeoutMs} ms`);
      }
      await new Promise((resolve) => {
        if (notified) return resolve();
        const timer = setTimeout(resolve, Math.min(left, pollMs));
        wake = () => { clearTimeout(timer); resolve(); };
      });
      notified = false;
      wake = () => { notified = true; };
      if (lost) throw lost;
      now = await result(client, workflowId);
    }
    return now;
  } finally {
    client.removeListener('notification', onNotification);
    if (lost) {
      client.release(lost); // closed, not kept in the pool
    } else {
      await client.query('unlisten *').catch(() => {});
      client.release();
    }
    client.removeListener('error', onError);
  }
}

// Cancel a pending, running or waiting workflow and its children: 'cancelled'.
async function cancel(db, workflowId) {
  const { rows } = await db.query('select durable.cancel($1::text) as status', [workflowId]);
  return rows[0].status;
}

// A workflow's input is its argument list (README, SQL API): an array is the positional
// arguments, null none, {"$args": [...], "$kwargs": {...}} positional and keyword arguments,
// any other value the one argument. JavaScript has no keyword arguments: a run started with
// some fails at once (NonRetryable), saying so.
function argumentsOf(name, input) {
  if (Array.isArray(input)) return input;
  if (input === null) return [];
  if (typeof input === 'object' && Array.isArray(input.$args) && Object.keys(input).length === 2
      && input.$kwargs !== null && typeof input.$kwargs === 'object'
      && !Array.isArray(input.$kwargs)) {
    const keywords = Object.keys(input.$kwargs);
    if (keywords.length) {
      throw new NonRetryable(`workflow ${name} got keyword arguments (${keywords.join(', ')}): `
        + 'a JavaScript workflow takes positional arguments only; start it without keywords');
    }
    return input.$args;
  }
  return [input];
}

// A connection lost under a statement: SQLSTATE class 08 (connection exception) or 57P0x
// (the server shutting down or terminating the session), a Node socket error (ECONNRESET,
// ...), or node-postgres' own "Connection terminated" (no code).
function connectionLost(err) {
  const code = err && err.code;
  return !code || /^(08|57P0)/.test(code) || /^E[A-Z]+$/.test(code);
}

// -- worker: one run -----------------------------------------------------------------------------

// What a workflow function gets as its first argument: ctx.step(name, fn, options) runs or
// replays its next step; ctx.workflowId, ctx.attempt, ctx.signal (aborted when the run must
// stop: pass it to fetch, timers and drivers so that a step stops early).
class RunContext {
  constructor(worker, claimed) {
    this.worker = worker;
    this.workflowId = claimed.workflow_id;
    this.name = claimed.name;
    // PITFALL: the lease is a bigint, and arrives as a string. Keep it as it came and pass it
    // back as it is ($2::bigint): Number() would round a fencing token past 2^53.
    this.lease = claimed.lease;
    this.attempt = claimed.attempt;
    this.input = claimed.input; // jsonb arrives parsed (PITFALL: integers past 2^53 are rounded)
    this.recorded = new Map(claimed.steps.map((s) => [s.step_id, s])); // to replay
    this.position = 0; // the next step's position: a step is known by its position in the run
    this.stopReason = null;
    this.controller = new AbortController();
    this.signal = this.controller.signal;
  }

  // Stop the run: every later step call throws Stopped, and the step running now gets its
  // signal aborted. Nothing of a stopped run is completed, failed or recorded any more.
  stop(reason) {
    if (this.stopReason === null) {
      this.stopReason = reason;
      this.controller.abort(new Stopped(reason));
    }
  }

  // The SQL said stop (DU001, DU002: its DETAIL says why), or the connection was lost under
  // the statement (its outcome unknown): remember it, and throw Stopped. Other errors go on.
  stopOn(err) {
    if (err && (err.code === LEASE_LOST || err.code === STOPPED)) {
      this.stop(refusalText(err));
    } else if (connectionLost(err)) {
      this.connectionLost = true;
      this.stop(`connection lost (${err.code || err.message}): handed back`);
    }
    if (this.stopReason !== null) throw new Stopped(this.stopReason);
    throw err;
  }

  // Run step `name` (fn gets {signal, idempotencyKey, attempt, tryNumber}), or replay its
  // recorded outcome. Its output must be JSON; what the workflow gets back is the output as
  // jsonb returns it, on the first run as on a replay. options: maxAttempts (tries of this
  // step in one attempt of the run, default 1), backoffBase and backoffMax in seconds.
  async step(name, fn, options = {}) {
    if (this.stopReason !== null) throw new Stopped(this.stopReason);
    const stepId = this.position++;
    const log = (what) => this.worker.log(`${this.workflowId} step ${stepId} ${name}: ${what}`);

    const recorded = this.recorded.get(stepId);
    if (recorded) {
      // replay: no round trip. Another name at this position means the code changed.
      if (recorded.name !== name) {
        throw new NonRetryable(`nondeterminism: step ${stepId} is recorded as ${recorded.name}, `
          + `the code now calls ${name} there`);
      }
      log('replayed');
      if (recorded.error != null) throw new StepFailed(name, recorded.error);
      return recorded.output;
    }

    log('running');
    const startedAt = new Date();
    const db = this.worker.pool;
    for (let tryNumber = 1; ; tryNumber++) {
      let output;
      try {
        output = await fn({ signal: this.signal, attempt: this.attempt, tryNumber,
                            idempotencyKey: `${this.workflowId}:${stepId}` });
      } catch (err) {
        if (this.stopReason !== null) throw new Stopped(this.stopReason);
        // a failed try: the SQL keeps it in durable.errors and decides whether to retry and when
        const error = errorJson(err);
        let answer;
        try {
          ({ rows: [answer] } = await db.query(
            `select retry, retry_in_seconds, error
               from durable.step_failed($1::text, $2::bigint, $3::integer, $4::text, $5::jsonb,
                                        $6::integer, $7::interval, $8::interval, $9::timestamptz)`,
            [this.workflowId, this.lease, stepId, name, json(error),
             err instanceof NonRetryable ? 1 : (options.maxAttempts ?? 1),
             options.backoffBase ?? 1, options.backoffMax ?? 3600, startedAt]));
        } catch (sqlErr) {
          this.stopOn(sqlErr);
        }
        if (answer.retry) {
          log(`try ${tryNumber} failed (${error.message}), again in `
            + `${answer.retry_in_seconds.toFixed(2)} s`);
          try {
            await sleep(answer.retry_in_seconds * 1000, undefined, { signal: this.signal });
          } catch {
            throw new Stopped(this.stopReason);
          }
          continue;
        }
        log(`failed: ${error.message}`);
        throw new StepFailed(name, answer.error);
      }
      // a step that returned after its run was told to stop is not recorded: it runs again
      // when the run resumes
      if (this.stopReason !== null) throw new Stopped(this.stopReason);
      let answer;
      try {
        ({ rows: [answer] } = await db.query(
          `select recorded, output, error
             from durable.checkpoint($1::text, $2::bigint, $3::integer, $4::text, $5::jsonb,
                                     null, $6::timestamptz)`,
          [this.workflowId, this.lease, stepId, name, json(output), startedAt]));
      } catch (err) {
        this.stopOn(err);
      }
      // recorded = false: it was recorded before (by this run's earlier life); that one counts
      log(answer.recorded ? 'recorded' : 'already recorded');
      if (answer.error != null) throw new StepFailed(name, answer.error);
      return answer.output;
    }
  }
}

// -- worker --------------------------------------------------------------------------------------

// A worker: runs the workflows it has code for, `concurrency` at a time.
//   pool         a pg.Pool (at least concurrency + 2 connections)
//   workflows    {name: async (ctx, ...args) => output} or {name: {fn, queue, maxAttempts}}
//   queues       the queues it serves, in order (default ['default'])
//   workerId     unique per process; leaseTimeout in seconds (default: the server's);
//   version      the version of its workflow code: a run is pinned to the version of the
//                worker that first claims it, and only workers of that version claim it again
//   pollInterval seconds between claims when no notification comes; grace: seconds running
//                workflows get after stop() before they are released
class Worker {
  constructor({ pool, workflows, queues = ['default'], concurrency = 4, workerId,
                leaseTimeout = null, version = null, pollInterval = 1, grace = 10,
                log = console.log }) {
    this.pool = pool;
    this.workflows = Object.fromEntries(Object.entries(workflows).map(
      ([name, w]) => [name, typeof w === 'function' ? { fn: w } : w]));
    this.queues = queues;
    this.concurrency = concurrency;
    this.workerId = workerId;
    this.leaseTimeout = leaseTimeout;
    this.version = version;
    this.pollInterval = pollInterval;
    this.grace = grace;
    this.print = log;
    this.runs = new Map(); // workflow id -> {ctx, done}
    this.handBack = new Set(); // ids of runs given up (connection lost), to release
    this.stopping = false;
    this.nudged = false;
    this.wakeUp = () => { this.nudged = true; };
  }

  log(line) {
    this.print(`[${this.workerId}] ${line}`);
  }

  // Register, then claim and run until stop(). Resolves when the worker has stopped.
  async run() {
    // durable.register: the names this worker has code for (its claims take only those) and
    // each one's enqueue defaults; it returns the lease timeout in effect.
    const registered = Object.entries(this.workflows).map(([name, w]) => {
      const item = { name };
      if (w.queue) item.queue = w.queue;
      if (w.maxAttempts) item.max_attempts = w.maxAttempts;
      return item;
    });
    const { rows: [reg] } = await this.pool.query(
      `select extract(epoch from durable.register($1::text, $2::jsonb, $3::text, $4::interval))::float8
                as lease_timeout`,
      [this.workerId, json(registered), this.version, this.leaseTimeout]);
    this.leaseTimeout = reg.lease_timeout;
    this.log(`registered ${Object.keys(this.workflows).join(', ')} on ${this.queues.join(', ')}`
      + ` (lease timeout ${this.leaseTimeout} s)`);

    await this.listen();
    this.heartbeatTimer = setInterval(() => this.heartbeat(), (this.leaseTimeout * 1000) / 3);
    while (!this.stopping) {
      const free = this.concurrency - this.runs.size;
      let claimed = [];
      if (free > 0) {
        try {
          claimed = await this.claim(free);
        } catch (err) {
          this.log(`claim failed: ${err.code || ''} ${err.message}`);
        }
      }
      for (const c of claimed) this.start(c);
      if (claimed.length < free || this.runs.size >= this.concurrency) {
        await this.nap(this.pollInterval * 1000);
      }
    }
    await this.shutDown();
  }

  // NOTIFY durable_runnable (payload: the queue) wakes an idle worker; the poll is a fallback.
  // PITFALL: a client taken out of the pool has no 'error' listener: when its connection dies
  // (pg_terminate_backend, a restart) Node ends the process unless it has one.
  async listen() {
    const client = await this.pool.connect();
    client.on('notification', (msg) => {
      if (this.queues.includes(msg.payload)) this.wakeUp();
    });
    client.on('error', (err) => {
      this.log(`listening connection lost (${err.code || err.message}): listening again`);
      client.release(err); // (an error: the pool closes it instead of keeping it)
      this.listener = null;
      this.wakeUp(); // a notification may have been missed: claim now
      const again = () => {
        if (this.stopping) return;
        this.listen().catch(() => setTimeout(again, 1000));
      };
      setTimeout(again, 100);
    });
    await client.query('listen durable_runnable');
    this.listener = client;
  }

  // Sleep until a notification, a slot frees, stop(), or `ms` passed. A wake-up that comes
  // while the worker is not asleep (in a claim) is kept for the next nap.
  nap(ms) {
    if (this.nudged) {
      this.nudged = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.wakeUp(), ms);
      this.wakeUp = () => {
        clearTimeout(timer);
        this.wakeUp = () => { this.nudged = true; };
        resolve();
      };
    });
  }

  // durable.claim: up to `max` runnable workflows, each with a new lease and its recorded steps.
  async claim(max) {
    const { rows } = await this.pool.query(
      `select workflow_id, name, input, lease, attempt, steps
         from durable.claim($1::text, $2::text[], $3::integer, $4::interval)`,
      [this.workerId, this.queues, max, this.leaseTimeout]); // a JS array is a text[]
    return rows;
  }

  start(claimed) {
    const ctx = new RunContext(this, claimed);
    const entry = { ctx, done: null };
    this.runs.set(ctx.workflowId, entry);
    this.log(`claimed ${ctx.workflowId} (${ctx.name}, attempt ${ctx.attempt}, lease ${ctx.lease}, `
      + `${claimed.steps.length} steps recorded)`);
    entry.done = this.execute(ctx).finally(() => {
      this.runs.delete(ctx.workflowId);
      this.wakeUp();
    });
  }

  // Run the workflow's code, then complete or fail it, unless the run was stopped.
  async execute(ctx) {
    const { fn } = this.workflows[ctx.name];
    let output;
    let failure = null;
    try {
      output = await fn(ctx, ...argumentsOf(ctx.name, ctx.input));
    } catch (err) {
      failure = err;
    }
    try {
      if (ctx.stopReason !== null) {
        // lease lost or cancelled: another worker has the run, or nobody should: do nothing.
        // A run whose connection was lost is handed back (durable.release) to be resumed
        // from its last checkpoint, at the next heartbeat if not at once.
        this.log(`${ctx.workflowId} stopped: ${ctx.stopReason}`);
        if (ctx.connectionLost) {
          this.handBack.add(ctx.workflowId);
          await this.releaseHandedBack();
        }
      } else if (failure === null) {
        await this.pool.query('select durable.complete($1::text, $2::bigint, $3::jsonb)',
          [ctx.workflowId, ctx.lease, json(output)]);
        this.log(`${ctx.workflowId} succeeded`);
      } else {
        // a retry (run_at, with backoff) while attempts are left, or failed: the SQL decides
        const retryable = !(failure instanceof NonRetryable);
        const { rows: [r] } = await this.pool.query(
          'select status, run_at from durable.fail($1::text, $2::bigint, $3::jsonb, $4::boolean)',
          [ctx.workflowId, ctx.lease, json(errorJson(failure)), retryable]);
        this.log(`${ctx.workflowId} failed (${errorJson(failure).message}): now ${r.status}`);
      }
    } catch (err) {
      if (err.code === LEASE_LOST || err.code === STOPPED) {
        this.log(`${ctx.workflowId} stopped: ${refusalText(err)}`);
      } else {
        // a lost connection, say (the finish may have committed or not): hand the run back;
        // a claim resumes it from its last checkpoint (a finished run is not released)
        this.log(`${ctx.workflowId} handed back: ${err.code || ''} ${err.message}`);
        this.handBack.add(ctx.workflowId);
        await this.releaseHandedBack();
      }
    }
  }

  // durable.release of the runs this worker gave up: they are claimable again at once (the
  // heartbeat would otherwise keep their leases alive).
  async releaseHandedBack() {
    if (this.handBack.size === 0) return;
    const ids = [...this.handBack];
    try {
      await this.pool.query('select durable.release($1::text, $2::text[])', [this.workerId, ids]);
      ids.forEach((id) => this.handBack.delete(id));
    } catch (err) {
      this.log(`release failed (${err.code || err.message}): again at the next heartbeat`);
    }
  }

  // durable.heartbeat: keeps the leases alive and lists the workflows this worker still
  // holds. A run missing from that list was reclaimed, released or cancelled: stop it.
  // PITFALL: a step that blocks the event loop (CPU-bound code without await) also blocks
  // heartbeats: past the lease timeout its run is given to another worker.
  async heartbeat() {
    if (this.beating) return;
    this.beating = true;
    const known = [...this.runs.values()]; // claimed before this heartbeat was sent
    try {
      const { rows } = await this.pool.query(
        'select workflow_id, lease from durable.heartbeat($1::text, $2::interval, $3::integer)',
        [this.workerId, this.leaseTimeout, this.runs.size]);
      const held = new Map(rows.map((r) => [r.workflow_id, r.lease]));
      for (const { ctx } of known) {
        if (held.get(ctx.workflowId) !== ctx.lease && this.runs.get(ctx.workflowId)?.ctx === ctx) {
          ctx.stop('no longer held (heartbeat)');
        }
      }
      await this.releaseHandedBack();
    } catch (err) {
      this.log(`heartbeat failed: ${err.code || ''} ${err.message}`);
    } finally {
      this.beating = false;
    }
  }

  // Claim nothing more; give running workflows `grace` seconds, then stop and release them.
  stop() {
    this.stopping = true;
    this.wakeUp();
  }

  async shutDown() {
    const running = [...this.runs.values()].map((r) => r.done);
    if (running.length) {
      this.log(`stopping: ${running.length} running, ${this.grace} s of grace`);
      await Promise.race([Promise.allSettled(running), sleep(this.grace * 1000)]);
    }
    for (const { ctx } of this.runs.values()) ctx.stop('worker stopping');
    clearInterval(this.heartbeatTimer);
    // hands back what is left at once (no wait for the lease timeout) and forgets the worker
    const { rows: [r] } = await this.pool.query(
      'select durable.release($1::text) as released', [this.workerId]);
    this.log(`stopped (${r.released} released)`);
    if (this.listener) this.listener.release();
  }
}

module.exports = {
  LEASE_LOST, STOPPED, StepFailed, NonRetryable, Stopped, TimeoutError, RunContext, Worker,
  enqueue, result, watch, waitForResult, cancel, json, errorJson, refusal,
};
