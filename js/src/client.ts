/**
 * Sending a shutdown request over LiveKit RPC and turning whatever comes back into a typed result.
 *
 * Works with livekit-client's `room.localParticipant` and @livekit/rtc-node's `room.localParticipant` alike:
 * both have `performRpc({ destinationIdentity, method, payload, responseTimeout })` (ms) and reject with an
 * `RpcError` carrying a numeric `code`, a `message` and an optional `data` string.
 */
import { AckParseError, parseAck, parseRefusal, receiptOf, type Acknowledgement, type Refusal } from './ack.js';
import { DEFAULT_RESPONSE_TIMEOUT_MS, liveKitRpcName, METHOD_NAME, type LiveKitRpcName } from './codes.js';
import { parseEnding, RECEIPT_METHOD_NAME } from './ending_signals.js';
import { signRequest, inspectPayload } from './envelope.js';
import type { SigningKey } from './keys.js';
import type { ShutdownRequest } from './request.js';

/** The part of a LiveKit local participant this package needs. */
export interface RpcCaller {
  performRpc(params: { destinationIdentity: string; method: string; payload: string; responseTimeout?: number }): Promise<string>;
}

export type ShutdownResult =
  /**
   * The agent acknowledged: the job is ending. `reasonDelivered`: status accepted or duplicate (§8). Then the
   * receipt (§2) goes out, and `receiptSent` settles (never rejects) once its call has: a caller about to
   * disconnect awaits it first, else the disconnect can drop the receipt and the agent waits out its bound.
   */
  | { ok: true; kind: 'acknowledged'; ack: Acknowledgement; reasonDelivered: boolean; receiptSent?: Promise<void> }
  /** The agent refused with a §9 code. */
  | { ok: false; kind: 'refused'; refusal: Refusal }
  /**
   * The agent left before replying (LiveKit 1503 RECIPIENT_DISCONNECTED): the shutdown most likely happened
   * (§9). `endingAnnounced`: the agent's ending attributes, as last seen through `SendOptions.agentParticipant`,
   * named THIS request (§10): it was accepted and the job ends with its reason. `announcedRequestId`: the
   * request id they named (this one or another's), absent when they showed no well-formed ending. Without
   * `agentParticipant`, `endingAnnounced` is false and nothing tells whose reason was delivered.
   */
  | { ok: false; kind: 'left_before_reply'; code: number; message: string; endingAnnounced: boolean; announcedRequestId?: string }
  /** Any other LiveKit RPC error (1400-1505): timeouts, no such participant, method not enabled, ... */
  | { ok: false; kind: 'rpc_error'; code: number; name: LiveKitRpcName | 'UNKNOWN'; message: string; retryable: boolean }
  /** The agent answered, but not with a §8 acknowledgement for this request. */
  | { ok: false; kind: 'invalid_response'; detail: string }
  /** The payload was not sent: it is not a readable v1 request (checked locally, without any key). */
  | { ok: false; kind: 'invalid_payload'; detail: string }
  /** performRpc threw something that is not an RpcError (e.g. the room is not connected). */
  | { ok: false; kind: 'transport_error'; error: unknown };

/** LiveKit errors after which trying again may help. */
const LK_RETRYABLE: ReadonlySet<number> = new Set([1401, 1500, 1501, 1502, 1505]);

export interface SendOptions {
  /** The agent participant's identity. Default: the request's `target`, unless it is "*". */
  destinationIdentity?: string;
  /** Response timeout in ms (spec: at least 10 s). Default 15000. */
  responseTimeoutMs?: number;
  /**
   * The agent's participant as this caller's room sees it (a livekit-client or @livekit/rtc-node
   * RemoteParticipant), taken before the call: the room forgets a participant that leaves, the object keeps its
   * last attributes. When the agent leaves before replying, its ending attributes (§10) set the result's
   * `endingAnnounced`; they come over the signalling connection, so they usually arrive when the reply was lost.
   * Read only if its identity is the destination's. What the agent published about itself, not a signature.
   */
  agentParticipant?: { readonly identity: string; readonly attributes: Readonly<Record<string, string>> };
}

function rpcErrorFields(e: unknown): { code: number; message: string; data?: string } | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const o = e as { code?: unknown; message?: unknown; data?: unknown };
  if (typeof o.code !== 'number' || !Number.isInteger(o.code)) return undefined;
  return {
    code: o.code,
    message: typeof o.message === 'string' ? o.message : '',
    ...(typeof o.data === 'string' ? { data: o.data } : {}),
  };
}

/** Map a performRpc rejection to a ShutdownResult (exported for callers with their own transport). */
export function resultFromRpcError(e: unknown): ShutdownResult {
  const f = rpcErrorFields(e);
  if (!f) return { ok: false, kind: 'transport_error', error: e };
  const refusal = parseRefusal(f.code, f.message, f.data);
  if (refusal) return { ok: false, kind: 'refused', refusal };
  if (f.code === 1503) return { ok: false, kind: 'left_before_reply', code: f.code, message: f.message, endingAnnounced: false };
  return {
    ok: false,
    kind: 'rpc_error',
    code: f.code,
    name: liveKitRpcName(f.code) ?? 'UNKNOWN',
    message: f.message,
    retryable: LK_RETRYABLE.has(f.code),
  };
}

/** Map an RPC response payload to a ShutdownResult; `expectedRequestId` must match the ack's. */
export function resultFromResponse(response: string, expectedRequestId?: string): ShutdownResult {
  let ack: Acknowledgement;
  try {
    ack = parseAck(response);
  } catch (e) {
    if (e instanceof AckParseError) return { ok: false, kind: 'invalid_response', detail: e.message };
    throw e;
  }
  if (expectedRequestId !== undefined && ack.requestId !== expectedRequestId) {
    return { ok: false, kind: 'invalid_response', detail: 'acknowledgement for another request id' };
  }
  return { ok: true, kind: 'acknowledged', ack, reasonDelivered: ack.status === 'accepted' || ack.status === 'duplicate' };
}

/**
 * Relay a payload string exactly as it was minted (by a backend) to the agent. The payload is read locally
 * (no key, no signature check) only to refuse sending garbage, to default the destination to its target and
 * to match the acknowledgement's request id; the string sent is the one given, unchanged.
 */
export async function relayShutdown(participant: RpcCaller, payload: string, opts: SendOptions = {}): Promise<ShutdownResult> {
  const info = inspectPayload(payload);
  if ('ok' in info) return { ok: false, kind: 'invalid_payload', detail: `${info.name}: ${info.detail}` };
  const destinationIdentity = opts.destinationIdentity ?? (info.request.target !== '*' ? info.request.target : undefined);
  if (!destinationIdentity) {
    return { ok: false, kind: 'invalid_payload', detail: 'target is "*": give destinationIdentity' };
  }
  let response: string;
  try {
    response = await participant.performRpc({
      destinationIdentity,
      method: METHOD_NAME,
      payload,
      responseTimeout: opts.responseTimeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS,
    });
  } catch (e) {
    const failed = resultFromRpcError(e);
    if (failed.kind !== 'left_before_reply' || opts.agentParticipant?.identity !== destinationIdentity) return failed;
    const ending = parseEnding(opts.agentParticipant.attributes);
    if (ending === null) return failed;
    return { ...failed, endingAnnounced: ending.requestId === info.request.requestId, announcedRequestId: ending.requestId };
  }
  const result = resultFromResponse(response, info.request.requestId);
  const receipt = result.ok ? receiptOf(result.ack) : undefined;
  if (result.ok && receipt !== undefined) {
    return { ...result, receiptSent: sendReceipt(participant, destinationIdentity, receipt) };
  }
  return result;
}

/**
 * Tell the agent its acknowledgement arrived (spec §11): send the acknowledgement's `receiptToken`, so the agent
 * leaves at once instead of waiting out its bound. Nothing to wait for before reporting a result: an agent that
 * already left cannot answer, and the result is the caller's either way. The promise settles (never rejects)
 * once the call has; a caller about to disconnect awaits it (spec §2).
 */
export function sendReceipt(participant: RpcCaller, destinationIdentity: string, receiptToken: string): Promise<void> {
  return participant
    .performRpc({ destinationIdentity, method: RECEIPT_METHOD_NAME, payload: receiptToken, responseTimeout: RECEIPT_TIMEOUT_MS })
    .then(
      () => undefined,
      () => undefined,
    );
}

const RECEIPT_TIMEOUT_MS = 5000;

/**
 * Sign `request` with `key` (undefined: unsigned) and send it. Signing is deterministic, so sending the same
 * request again sends the same payload (answered `duplicate`). Throws RequestValidationError for a bad request.
 */
export async function sendShutdown(
  participant: RpcCaller,
  request: ShutdownRequest,
  key: SigningKey | undefined,
  opts: SendOptions = {},
): Promise<ShutdownResult> {
  const payload = await signRequest(request, key);
  return relayShutdown(participant, payload, opts);
}

/** A one-line human summary of a result (no payload, no key material). */
export function describeResult(r: ShutdownResult): string {
  switch (r.kind) {
    case 'acknowledged':
      return `${r.ack.status} by ${r.ack.agentIdentity} (job ${r.ack.jobId}), request ${r.ack.requestId}`;
    case 'refused':
      return `refused ${r.refusal.code} ${r.refusal.name}${r.refusal.detail ? `: ${r.refusal.detail}` : ''}`;
    case 'left_before_reply':
      if (r.endingAnnounced) return 'the agent left before replying; the agent announced it was ending for this request';
      if (r.announcedRequestId !== undefined) {
        return `the agent left before replying; it announced it was ending for another request (${r.announcedRequestId})`;
      }
      return 'the agent left before replying (the shutdown most likely happened)';
    case 'rpc_error':
      return `LiveKit RPC error ${r.code} ${r.name}: ${r.message}`;
    case 'invalid_response':
      return `invalid response: ${r.detail}`;
    case 'invalid_payload':
      return `invalid payload: ${r.detail}`;
    case 'transport_error':
      return `transport error: ${r.error instanceof Error ? r.error.message : String(r.error)}`;
  }
}
