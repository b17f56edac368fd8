// One receipt per answer that carried the token (spec §11 step 3; tests/agent_side/test_receipt_count.py): the same
// request from two callers (a backend through PerformRpc, a participant in the room) is answered accepted and
// duplicate, both with the token; the Node agent leaves only once both receipts came, or its bound ran out.
// Orders and log lines, never timings.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { METHOD_NAME as METHOD, newReceiptToken, parseAck, RECEIPT_METHOD_NAME as RECEIPT_METHOD } from '../src/wire.js';
import { call, enable, FakeCtx, Logs, signed, turns } from './agent_fakes.js';

const ARRIVED = /receipt of \S+ arrived, leaving/;

/** A receipt as a PerformRpc caller sends it: from an identity of its own, never the request's. */
async function receipt(ctx: FakeCtx, payload: string): Promise<void> {
  assert.equal(await call(ctx, RECEIPT_METHOD, payload, `PR_${randomBytes(4).toString('hex')}`), '');
}

/** The same request from a backend and from a participant; the token both answers carried. */
async function acceptedAndDuplicate(ctx: FakeCtx, payload: string): Promise<string> {
  const first = parseAck(await call(ctx, METHOD, payload, 'PR_backend'));
  const second = parseAck(await call(ctx, METHOD, payload, 'user'));
  assert.deepEqual([first.status, second.status], ['accepted', 'duplicate']);
  assert.ok(first.receiptToken !== undefined && second.receiptToken === first.receiptToken);
  return first.receiptToken;
}

test('one receipt for two answers keeps the agent waiting; the second ends the wait', async () => {
  const ctx = new FakeCtx();
  const logs = new Logs();
  const handler = await enable(ctx, logs);
  const token = await acceptedAndDuplicate(ctx, await signed());
  await receipt(ctx, token);
  await turns();
  assert.deepEqual(ctx.shutdowns, []); // the duplicate's reply may still be in flight: leaving now could cut it off
  await receipt(ctx, token);
  await handler.shutdownDone;
  assert.equal(ctx.shutdowns.length, 1);
  assert.match(logs.text(), ARRIVED); // the receipts, not the 10 s bound, ended the wait
});

test('a receipt without the token never counts', async () => {
  const ctx = new FakeCtx();
  const logs = new Logs();
  const handler = await enable(ctx, logs);
  const token = await acceptedAndDuplicate(ctx, await signed({ requestId: 'BBBBBBBBBBBBBBBBBBBBBB' }));
  await receipt(ctx, token);
  for (const forged of ['BBBBBBBBBBBBBBBBBBBBBB', newReceiptToken(), `${token}x`, '']) await receipt(ctx, forged);
  await turns();
  assert.deepEqual(ctx.shutdowns, []);
  await receipt(ctx, token);
  await handler.shutdownDone;
  assert.match(logs.text(), ARRIVED);
  assert.match(logs.text(), /4 receipts without the acknowledgement's token changed nothing/);
});

test('already_shutting_down awaits no receipt', async () => {
  const ctx = new FakeCtx();
  const logs = new Logs();
  const handler = await enable(ctx, logs);
  const first = parseAck(await call(ctx, METHOD, await signed()));
  const other = parseAck(await call(ctx, METHOD, await signed({ reason: 'another' }), 'PR_other'));
  assert.equal(other.status, 'already_shutting_down');
  await receipt(ctx, first.receiptToken ?? '');
  await handler.shutdownDone;
  assert.match(logs.text(), ARRIVED);
});

test('a duplicate answered after the receipts ended the wait changes nothing', async () => {
  const ctx = new FakeCtx();
  const handler = await enable(ctx);
  const payload = await signed();
  const token = parseAck(await call(ctx, METHOD, payload)).receiptToken ?? '';
  await receipt(ctx, token);
  await handler.shutdownDone;
  const late = parseAck(await call(ctx, METHOD, payload, 'late'));
  assert.ok(late.status === 'duplicate' && late.receiptToken === token); // still answered with the token
  await receipt(ctx, token);
  await turns();
  assert.equal(ctx.shutdowns.length, 1);
});

test('after the bound ran out, late duplicates and receipts change nothing', async () => {
  // A caller that retried after a lost reply holds one answer of two: the agent waits out its bound (here 0).
  const ctx = new FakeCtx();
  const logs = new Logs();
  const handler = await enable(ctx, logs, { timings: { replyFlushDelayMs: 0 } });
  const payload = await signed();
  const token = await acceptedAndDuplicate(ctx, payload);
  await receipt(ctx, token);
  await handler.shutdownDone;
  assert.match(logs.text(), /no receipt of \S+ for every answer within 0 ms, leaving/);
  assert.equal(parseAck(await call(ctx, METHOD, payload, 'late')).status, 'duplicate');
  for (let i = 0; i < 3; i++) await receipt(ctx, token);
  await turns();
  assert.doesNotMatch(logs.text(), ARRIVED);
  assert.equal(ctx.shutdowns.length, 1);
});
