// Sending and relaying over a participant's performRpc, and every answer or failure mapped to a ShutdownResult.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  describeResult,
  HmacSha256Key,
  newRequestId,
  relayShutdown,
  type RpcCaller,
  sendShutdown,
  type ShutdownResult,
  signRequest,
} from '../src/index.js';
import {
  ATTR_ISSUER,
  ATTR_REQUEST_ID,
  ATTR_STATE,
  endingAttributes,
  METHOD_NAME,
  RECEIPT_METHOD_NAME,
  refusalToRpcError,
  resultFromRpcError,
  serializeAck,
  STATE_ENDING,
} from '../src/wire.js';
import { ShutdownDecider } from '../src/agent.js';
import { NOW, SECRET, binding, req } from './fixtures.js';

class FakeRpcError extends Error {
  constructor(readonly code: number, message: string, readonly data?: string) {
    super(message);
  }
}

test('resultFromRpcError maps §9 codes, LiveKit codes, and other throws', () => {
  const refused = resultFromRpcError(new FakeRpcError(4111, 'BAD_SIGNATURE: signature does not verify', '{"version":1,"code":4111,"name":"BAD_SIGNATURE","retryable":false}'));
  assert.equal(refused.kind, 'refused');
  assert.ok(refused.kind === 'refused' && refused.refusal.name === 'BAD_SIGNATURE' && refused.refusal.detail === 'signature does not verify');

  assert.equal(resultFromRpcError(new FakeRpcError(1503, 'Recipient disconnected')).kind, 'left_before_reply');
  const cases: Array<[number, string, boolean]> = [
    [1400, 'UNSUPPORTED_METHOD', false],
    [1401, 'RECIPIENT_NOT_FOUND', true],
    [1402, 'REQUEST_PAYLOAD_TOO_LARGE', false],
    [1403, 'UNSUPPORTED_SERVER', false],
    [1404, 'UNSUPPORTED_VERSION', false],
    [1500, 'APPLICATION_ERROR', true],
    [1501, 'CONNECTION_TIMEOUT', true],
    [1502, 'RESPONSE_TIMEOUT', true],
    [1504, 'RESPONSE_PAYLOAD_TOO_LARGE', false],
    [1505, 'SEND_FAILED', true],
    [1999, 'UNKNOWN', false],
  ];
  for (const [code, name, retryable] of cases) {
    const r = resultFromRpcError(new FakeRpcError(code, 'x'));
    assert.deepEqual(r, { ok: false, kind: 'rpc_error', code, name, message: 'x', retryable }, String(code));
  }
  const t = resultFromRpcError(new Error('not connected'));
  assert.equal(t.kind, 'transport_error');
  assert.equal(resultFromRpcError('weird').kind, 'transport_error');
});

// A fake participant: the in-process agent a performRpc reaches.
function fakeAgent(decider: ShutdownDecider, calls: Array<Record<string, unknown>> = [], receipts: string[] = []): RpcCaller {
  return {
    async performRpc(params) {
      if (params.method === RECEIPT_METHOD_NAME) {
        receipts.push(params.payload);
        return '';
      }
      calls.push(params);
      assert.equal(params.method, METHOD_NAME);
      if (params.destinationIdentity !== binding.agentIdentity) throw new FakeRpcError(1401, 'Recipient not found');
      const r = await decider.decide(params.payload, { nowMs: NOW, callerIdentity: 'frontend-1' });
      if (r.outcome === 'refused') {
        const e = refusalToRpcError(r.refusal);
        throw new FakeRpcError(e.code, e.message, e.data);
      }
      return serializeAck(r.ack);
    },
  };
}

test('sendShutdown signs, sends with the right method and timeout, and reads the ack', async () => {
  const key = new HmacSha256Key('k1', SECRET);
  const h = new ShutdownDecider({ keys: [key], binding });
  const calls: Array<Record<string, unknown>> = [];
  const agent = fakeAgent(h, calls);
  const request = req();
  const r = await sendShutdown(agent, request, key);
  assert.equal(r.kind, 'acknowledged');
  assert.ok(r.ok && r.ack.status === 'accepted' && r.reasonDelivered && r.ack.requestId === request.requestId);
  assert.equal(calls[0]?.['responseTimeout'], 15000);
  assert.equal(calls[0]?.['destinationIdentity'], 'agent-AJ_1');

  const again = await relayShutdown(agent, calls[0]?.['payload'] as string, { responseTimeoutMs: 12000 });
  assert.ok(again.ok && again.ack.status === 'duplicate' && again.reasonDelivered);
  assert.equal(calls[1]?.['responseTimeout'], 12000);

  const other = await sendShutdown(agent, req(), key);
  assert.ok(other.ok && other.ack.status === 'already_shutting_down' && !other.reasonDelivered);
});

test('the receipt is the ack token (accepted, duplicate), never the request id, never after another ack', async () => {
  const key = new HmacSha256Key('k1', SECRET);
  const receipts: string[] = [];
  const decider = new ShutdownDecider({ keys: [key], binding });
  const agent = fakeAgent(decider, [], receipts);
  const first = req();
  const accepted = await sendShutdown(agent, first, key);
  const repeat = await sendShutdown(agent, first, key); // the same payload again: duplicate, the same token
  await sendShutdown(agent, req(), key); // already_shutting_down: no token, no receipt
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(accepted.ok && repeat.ok && repeat.ack.status === 'duplicate');
  const token = accepted.ack.receiptToken;
  assert.ok(token !== undefined && token !== first.requestId && repeat.ack.receiptToken === token);
  assert.deepEqual(receipts, [token, token]);
  assert.equal(decider.isCallerReceipt(first.requestId), false); // what the ending attributes publish
  assert.equal(decider.isCallerReceipt(token), true);
});

// Issue 23 #12 (spec §2): a one-shot caller lets the receipt's call go out before it disconnects.
test('the result of an ack that delivers the reason carries receiptSent, settling with the receipt call', async () => {
  const key = new HmacSha256Key('k1', SECRET);
  const agent = fakeAgent(new ShutdownDecider({ keys: [key], binding }));
  const receipts: string[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let settled = false;
  const slowReceipts: RpcCaller = {
    async performRpc(params) {
      if (params.method !== RECEIPT_METHOD_NAME) return agent.performRpc(params);
      await released;
      receipts.push(params.payload);
      throw new FakeRpcError(1400, 'Method not supported at destination'); // an old agent: still settles
    },
  };
  const request = req();
  const r = await sendShutdown(slowReceipts, request, key);
  assert.ok(r.ok && r.receiptSent !== undefined, 'an accepted result has receiptSent');
  const receiptSent = r.receiptSent.then(() => (settled = true));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(settled, false); // the receipt call has not settled yet: disconnecting now could drop it
  release();
  await receiptSent;
  assert.deepEqual(receipts, [r.ack.receiptToken]);
  const other = await sendShutdown(slowReceipts, req(), key); // already_shutting_down: no receipt
  assert.ok(other.ok && other.receiptSent === undefined);
});

test('relayShutdown sends the payload unchanged and maps refusals', async () => {
  const minted = await signRequest(req({ room: 'other-room' }), new HmacSha256Key('k1', SECRET));
  const calls: Array<Record<string, unknown>> = [];
  const agent = fakeAgent(new ShutdownDecider({ keys: [new HmacSha256Key('k1', SECRET)], binding }), calls);
  const r = await relayShutdown(agent, minted);
  assert.equal(calls[0]?.['payload'], minted);
  assert.ok(r.kind === 'refused' && r.refusal.code === 4130 && r.refusal.name === 'WRONG_ROOM');

  const unknown = await relayShutdown(fakeAgent(new ShutdownDecider({ keys: [], binding })), minted);
  assert.ok(unknown.kind === 'refused' && unknown.refusal.name === 'UNKNOWN_KEY');
});

test('relayShutdown refuses locally what is not a v1 payload, and needs a destination for "*"', async () => {
  let sent = 0;
  const agent: RpcCaller = { performRpc: () => Promise.resolve((sent++, '')) };
  assert.equal((await relayShutdown(agent, 'not base64!')).kind, 'invalid_payload');
  const any = await signRequest(req({ target: '*' }));
  assert.equal((await relayShutdown(agent, any)).kind, 'invalid_payload');
  assert.equal(sent, 0);
  const r = await relayShutdown(agent, any, { destinationIdentity: 'agent-x' });
  assert.ok(r.kind === 'invalid_response'); // '' is not an ack
  assert.equal(sent, 1);
});

test('an ack for another request id is an invalid response', async () => {
  const payload = await signRequest(req());
  const agent: RpcCaller = {
    performRpc: () =>
      Promise.resolve(
        serializeAck({ version: 1, status: 'accepted', requestId: newRequestId(), agentIdentity: 'a', jobId: 'j', agentTimeMs: 1 }),
      ),
  };
  const r = await relayShutdown(agent, payload);
  assert.ok(r.kind === 'invalid_response' && /another request id/.test(r.detail));
});

// Spec §10: a caller whose reply was lost reads the agent's ending attributes, which come over signalling.
function leavingAgent(
  decider: ShutdownDecider,
  participant: { identity: string; attributes: Record<string, string> },
  announce: (requestId: string) => Record<string, string>,
): RpcCaller {
  return {
    async performRpc(params) {
      const r = await decider.decide(params.payload, { nowMs: NOW, callerIdentity: 'frontend-1' });
      assert.equal(r.outcome, 'accepted');
      participant.attributes = announce(r.outcome === 'accepted' ? r.ack.requestId : ''); // as livekit-client replaces them
      throw new FakeRpcError(1503, 'Recipient disconnected'); // the agent left; its reply was lost
    },
  };
}

async function lostReply(
  announce: (requestId: string) => Record<string, string>,
  identity = binding.agentIdentity,
  withParticipant = true,
): Promise<{ result: ShutdownResult; requestId: string }> {
  const key = new HmacSha256Key('k1', SECRET);
  const participant = { identity, attributes: {} as Record<string, string> };
  const request = req();
  const caller = leavingAgent(new ShutdownDecider({ keys: [key], binding }), participant, announce);
  const result = await sendShutdown(caller, request, key, withParticipant ? { agentParticipant: participant } : {});
  return { result, requestId: request.requestId };
}

test('left_before_reply: the ending attributes naming our request say endingAnnounced', async () => {
  const { result, requestId } = await lostReply((id) => endingAttributes({ requestId: id, issuer: 'tests', reason: 'bye' }));
  assert.ok(result.kind === 'left_before_reply');
  assert.equal(result.endingAnnounced, true);
  assert.equal(result.announcedRequestId, requestId);
  assert.match(describeResult(result), /announced it was ending for this request/);
});

test('left_before_reply: another request, no ending, malformed attributes or no participant say nothing more', async () => {
  const other = 'another-request-' + '0'.repeat(8);
  const cases: Array<[string, (id: string) => Record<string, string>, string | undefined]> = [
    ['another request', () => endingAttributes({ requestId: other, issuer: 'someone-else' }), other],
    ['none', () => ({}), undefined],
    ['no issuer', (id) => ({ [ATTR_STATE]: STATE_ENDING, [ATTR_REQUEST_ID]: id }), undefined],
    ['bad issuer', (id) => ({ [ATTR_STATE]: STATE_ENDING, [ATTR_REQUEST_ID]: id, [ATTR_ISSUER]: 'a [b]' }), undefined],
    ['oversized id', (id) => ({ [ATTR_STATE]: STATE_ENDING, [ATTR_REQUEST_ID]: id + 'x'.repeat(64), [ATTR_ISSUER]: 't' }), undefined],
    ['not ending', (id) => ({ [ATTR_STATE]: 'listening', [ATTR_REQUEST_ID]: id, [ATTR_ISSUER]: 't' }), undefined],
  ];
  for (const [name, announce, announced] of cases) {
    const { result } = await lostReply(announce);
    assert.ok(result.kind === 'left_before_reply', name);
    assert.equal(result.endingAnnounced, false, name);
    assert.equal(result.announcedRequestId, announced, name);
    assert.doesNotMatch(describeResult(result), /for this request/, name);
  }
  const ours = (id: string): Record<string, string> => endingAttributes({ requestId: id, issuer: 'tests' });
  for (const [name, identity, withParticipant] of [['no participant given', binding.agentIdentity, false], ['another participant', 'someone-else', true]] as const) {
    const { result } = await lostReply(ours, identity, withParticipant);
    assert.ok(result.kind === 'left_before_reply' && !result.endingAnnounced && result.announcedRequestId === undefined, name);
  }
});
