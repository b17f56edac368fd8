/**
 * After an accepted request (spec §10, §11): the receipt a caller sends back so the agent can leave at once,
 * and the `shutdown_rpc.state` = `ending` attributes a frontend reads to tell its user why the agent left.
 */
import { isIssuer, isReason, REQUEST_ID_PATTERN } from './request.js';

/** RPC method of the receipt; its payload is the request id of the acknowledged request. */
export const RECEIPT_METHOD_NAME = 'shutdown_rpc.received';

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

/** Whether a receipt `payload` names `requestId` (bounded and checked against the request-id alphabet first). */
export function isReceiptFor(payload: string, requestId: string): boolean {
  return payload.length <= 64 && REQUEST_ID_PATTERN.test(payload) && payload === requestId;
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
