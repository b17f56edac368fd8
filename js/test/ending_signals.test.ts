// vectors/v1.json `after_acceptance` (spec §8, §10-§11): acknowledgements and their receipt token, receipts and
// the `ending` attributes, as the Python tests check them too; and onAgentEnding with a fake room.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { type AgentEnding, onAgentEnding, parseEnding } from '../src/index.js';
import {
  AckParseError,
  endingAttributes,
  isReceiptFor,
  newReceiptToken,
  parseAck,
  RECEIPT_METHOD_NAME,
  RECEIPT_TOKEN_PATTERN,
  receiptOf,
  serializeAck,
} from '../src/wire.js';

interface After {
  receipt_method: string;
  acknowledgements: Array<{ description: string; json: string; valid: boolean; receipt: string | null }>;
  receipts: Array<{ receipt_token: string; request_id: string; payload: string; matches: boolean }>;
  ending_attributes: Array<{ ending: { request_id: string; issuer: string; reason: string | null }; attributes: Record<string, string> }>;
  not_ending: Array<Record<string, string>>;
}

const vectorsPath = process.env['SHUTDOWN_RPC_VECTORS'] ?? new URL('../../../vectors/v1.json', import.meta.url);
const after = (JSON.parse(readFileSync(vectorsPath, 'utf8')) as { after_acceptance: After }).after_acceptance;

test('receipt method and payloads', () => {
  assert.equal(after.receipt_method, RECEIPT_METHOD_NAME);
  for (const c of after.receipts) assert.equal(isReceiptFor(c.payload, c.receipt_token), c.matches, JSON.stringify(c.payload));
});

test('acknowledgements: valid or not, and the receipt each calls for', () => {
  for (const c of after.acknowledgements) {
    if (!c.valid) {
      assert.throws(() => parseAck(c.json), AckParseError, c.description);
      continue;
    }
    const ack = parseAck(c.json);
    assert.equal(receiptOf(ack) ?? null, c.receipt, c.description);
    if (!c.json.includes('later_field')) assert.equal(serializeAck(ack), c.json, c.description); // as an agent writes it
  }
});

test('receipt tokens are fresh, of the spec form', () => {
  const tokens = new Set(Array.from({ length: 1000 }, () => newReceiptToken()));
  assert.equal(tokens.size, 1000);
  for (const t of tokens) assert.ok(RECEIPT_TOKEN_PATTERN.test(t) && t.length === 22);
});

test('ending attributes both ways', () => {
  for (const c of after.ending_attributes) {
    const ending: AgentEnding = { requestId: c.ending.request_id, issuer: c.ending.issuer };
    if (c.ending.reason !== null) ending.reason = c.ending.reason;
    assert.deepEqual(endingAttributes(ending), c.attributes);
    assert.deepEqual(parseEnding(c.attributes), ending);
  }
  for (const attributes of after.not_ending) assert.equal(parseEnding(attributes), null);
});

test('onAgentEnding calls back once per participant that starts ending, until unsubscribed', () => {
  type Listener = (changed: Record<string, string>, p: { identity: string; attributes: Record<string, string> }) => void;
  const listeners = new Set<Listener>();
  const room = {
    on: (_e: 'participantAttributesChanged', l: Listener) => listeners.add(l),
    off: (_e: 'participantAttributesChanged', l: Listener) => listeners.delete(l),
  };
  const seen: Array<[string, AgentEnding]> = [];
  const stop = onAgentEnding(room, (identity, ending) => seen.push([identity, ending]));
  const emit = (identity: string, attributes: Record<string, string>): void => {
    for (const l of listeners) l(attributes, { identity, attributes });
  };
  emit('agent-1', { 'shutdown_rpc.method': 'shutdown_rpc.shutdown' });
  const ending = endingAttributes({ requestId: 'AAAAAAAAAAAAAAAAAAAAAA', issuer: 'web', reason: 'user hung up' });
  emit('agent-1', ending);
  emit('agent-1', { ...ending, 'lk.agent.state': 'idle' });
  assert.deepEqual(seen, [['agent-1', { requestId: 'AAAAAAAAAAAAAAAAAAAAAA', issuer: 'web', reason: 'user hung up' }]]);
  stop();
  assert.equal(listeners.size, 0);
});
