// workflows.js: the example's workflow, `invoice`, step by step. examples/node/invoice.py is the
// same workflow in Python: same name, same steps in the same order, same version, so a run
// started by either language can be finished by a worker of either (the tests do each).
'use strict';

const { setTimeout: sleep } = require('node:timers/promises');
const { NonRetryable } = require('./durable');

// The version of this workflow code, registered by the worker: a run is pinned to the version
// of its first claimer, so change it (in both languages) when the steps change.
const VERSION = 'invoice-1';

// invoice(order) with order = {customer, lines: [{sku, qty, cents}], pause_ms, fail_tries}:
// prices the lines, adds 20 % tax and issues the invoice; the third step waits pause_ms first (a
// slow outside call: the tests stop or kill workers there), and its first fail_tries tries fail
// (it has 3, 0.2 s of backoff apart). No lines: the run fails, no retries.
async function invoice(ctx, order) {
  if (order.lines.length === 0) throw new NonRetryable('an invoice needs at least one line');
  const { subtotal_cents: subtotal } = await ctx.step('price_lines', async () => ({
    subtotal_cents: order.lines.reduce((sum, l) => sum + l.qty * l.cents, 0),
  }));
  const { tax_cents: tax } = await ctx.step('add_tax', async () => ({
    tax_cents: Math.floor((subtotal * 20) / 100),
  }));
  const issued = await ctx.step('issue_invoice', async ({ signal, idempotencyKey, tryNumber }) => {
    // a real step would call the invoicing service with idempotencyKey, and pass it `signal`
    await sleep(order.pause_ms || 0, undefined, { signal });
    if (tryNumber <= (order.fail_tries || 0)) {
      // (the tests' way to see durable.step_failed's retries; the Python twin ignores it)
      throw new Error(`invoicing service unavailable (try ${tryNumber})`);
    }
    return { number: `INV-${idempotencyKey}`, total_cents: subtotal + tax, issued_by: 'node' };
  }, { maxAttempts: 3, backoffBase: 0.2 });
  return { invoice: issued.number, customer: order.customer, total_cents: issued.total_cents,
           finished_by: 'node' };
}

module.exports = { VERSION, workflows: { invoice } };
