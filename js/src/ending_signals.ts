/**
 * After an accepted request (spec §8, §10, §11): the receipt a caller sends back so the agent can leave at once
 * (its payload is the acknowledgement's secret receipt token), and the `shutdown_rpc.state` = `ending`
 * attributes a frontend reads to tell its user why the agent left.
 */
import { base64UrlEncode } from './bytes.js';
import { isIssuer, isReason, REQUEST_ID_PATTERN } from './request.js';

/** RPC method of the receipt; its payload is the `receipt_token` of the acknowledgement (§8), never the request id. */
export const RECEIPT_METHOD_NAME = 'shutdown_rpc.received';

/** The form of a receipt token (§8): 22-64 characters of `[A-Za-z0-9_-]`. */
export const RECEIPT_TOKEN_PATTERN = /^[A-Za-z0-9_-]{22,64}$/;

/** A fresh receipt token: 16 bytes from the platform CSPRNG, base64url without padding (§8 RECOMMENDED). */
export function newReceiptToken(): string {
  const b = new Uint8Array(16);
  globalThis.crypto.getRandomValues(b);
  return base64UrlEncode(b);
}

export const ATTR_STATE = 'shutdown_rpc.state';
export const ATTR_REQUEST_ID = 'shutdown_rpc.request_id';
export const ATTR_ISSUER = 'shutdown_rpc.issuer';
export const ATTR_REASON = 'shutdown_rpc.reason';
export const STATE_ENDING = 'ending';

/** What an ending agent tells the room. `reason` is present only where the agent's policy shows it. */
export interface AgentEnding {
  requestId: string;
  issuer: string;
  reason?: string;
}

/**
 * Whether a receipt `payload` is `receiptToken` (§11): its form is checked first (bounded), then the two are
 * compared in constant time. The request id is never a receipt: the ending attributes publish it.
 */
export function isReceiptFor(payload: string, receiptToken: string): boolean {
  if (payload.length > 64 || !RECEIPT_TOKEN_PATTERN.test(payload) || payload.length !== receiptToken.length) return false;
  let diff = 0;
  for (let i = 0; i < payload.length; i++) diff |= payload.charCodeAt(i) ^ receiptToken.charCodeAt(i);
  return diff === 0;
}

/** The attributes an agent sets once it accepted a request (spec §10). */
export function endingAttributes(ending: AgentEnding): Record<string, string> {
  const attributes: Record<string, string> = {
    [ATTR_STATE]: STATE_ENDING,
    [ATTR_REQUEST_ID]: ending.requestId,
    [ATTR_ISSUER]: ending.issuer,
  };
  if (ending.reason !== undefined) attributes[ATTR_REASON] = ending.reason;
  return attributes;
}

/**
 * The agent's ending state from its participant attributes, or null while it is not ending. Also null when the
 * state is `ending` but the request id or the issuer is missing, or a value breaks its §4 rule (spec §10): a
 * conforming agent sets them all in one update, so such attributes explain nothing and name no one.
 */
export function parseEnding(attributes: Readonly<Record<string, string>>): AgentEnding | null {
  if (attributes[ATTR_STATE] !== STATE_ENDING) return null;
  const requestId = attributes[ATTR_REQUEST_ID];
  const issuer = attributes[ATTR_ISSUER];
  const reason = attributes[ATTR_REASON];
  if (requestId === undefined || issuer === undefined || !REQUEST_ID_PATTERN.test(requestId) || !isIssuer(issuer)) return null;
  if (reason !== undefined && !isReason(reason)) return null;
  return reason === undefined ? { requestId, issuer } : { requestId, issuer, reason };
}

/** The part of a livekit-client / @livekit/rtc-node Room that {@link onAgentEnding} uses. */
export interface AttributeEvents {
  on(event: 'participantAttributesChanged', listener: (changed: Record<string, string>, participant: { identity: string; attributes: Readonly<Record<string, string>> }) => void): unknown;
  off(event: 'participantAttributesChanged', listener: (changed: Record<string, string>, participant: { identity: string; attributes: Readonly<Record<string, string>> }) => void): unknown;
}

/**
 * Call `callback(identity, ending)` once per participant that starts ending (its `shutdown_rpc.state` becomes
 * `ending`), e.g. to show "the assistant ended the call: <reason>" before it leaves. Returns an unsubscribe.
 */
export function onAgentEnding(room: AttributeEvents, callback: (identity: string, ending: AgentEnding) => void): () => void {
  const seen = new Set<string>();
  const listener = (_changed: Record<string, string>, participant: { identity: string; attributes: Readonly<Record<string, string>> }): void => {
    const ending = parseEnding(participant.attributes);
    if (ending === null || seen.has(participant.identity)) return;
    seen.add(participant.identity);
    callback(participant.identity, ending);
  };
  room.on('participantAttributesChanged', listener);
  return () => {
    room.off('participantAttributesChanged', listener);
  };
}
