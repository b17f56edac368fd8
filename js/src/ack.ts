/**
 * Acknowledgements (spec.md §8) and refusals (§9): writing them (agent side) and reading them (caller side).
 */
import { utf8Length } from './bytes.js';
import { RECEIPT_TOKEN_PATTERN } from './ending_signals.js';
import {
  isRetryable,
  MAX_ACK_BYTES,
  MAX_REFUSAL_MESSAGE_BYTES,
  PROTOCOL_VERSION,
  ErrorCode,
  errorName,
  SUPPORTED_VERSIONS,
  type ErrorName,
} from './codes.js';

export type AckStatus = 'accepted' | 'duplicate' | 'already_shutting_down';
export const ACK_STATUSES: readonly AckStatus[] = ['accepted', 'duplicate', 'already_shutting_down'];

export interface Acknowledgement {
  version: number;
  status: AckStatus;
  requestId: string;
  agentIdentity: string;
  jobId: string;
  agentTimeMs: number;
  /**
   * The secret the caller sends back as its receipt (§8, §11): in `accepted` and `duplicate` answers of agents
   * that give one. Never log it.
   */
  receiptToken?: string;
}

/** The §8 JSON text: compact, keys in the §8 order. */
export function serializeAck(ack: Acknowledgement): string {
  return JSON.stringify({
    version: ack.version,
    status: ack.status,
    request_id: ack.requestId,
    agent_identity: ack.agentIdentity,
    job_id: ack.jobId,
    agent_time_ms: ack.agentTimeMs,
    ...(ack.receiptToken !== undefined ? { receipt_token: ack.receiptToken } : {}),
  });
}

/** The payload of the receipt a caller sends for `ack` (§2): its token, unless it is already_shutting_down. */
export function receiptOf(ack: Acknowledgement): string | undefined {
  return ack.status === 'already_shutting_down' ? undefined : ack.receiptToken;
}

/**
 * The answer to a repeat of a request first answered `ack` (§8): `duplicate` if it was accepted; a request first
 * answered `already_shutting_down` did not deliver its reason, so its repeats keep that status.
 */
export function asDuplicate(ack: Acknowledgement): Acknowledgement {
  return ack.status === 'accepted' ? { ...ack, status: 'duplicate' } : ack;
}

export class AckParseError extends Error {
  override name = 'AckParseError';
}

/**
 * Parse an RPC response payload as a §8 acknowledgement. Unknown keys are ignored (§8); a missing or mistyped
 * known key, an unknown status or a response over 4096 bytes throws AckParseError.
 */
export function parseAck(text: string): Acknowledgement {
  if (typeof text !== 'string') throw new AckParseError('response is not a string');
  if (utf8Length(text) > MAX_ACK_BYTES) throw new AckParseError(`response over ${MAX_ACK_BYTES} bytes`);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new AckParseError('response is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new AckParseError('response is not a JSON object');
  const o = v as Record<string, unknown>;
  const int = (k: string): number => {
    const x = o[k];
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0) throw new AckParseError(`"${k}" must be a non-negative integer`);
    return x;
  };
  const str = (k: string): string => {
    const x = o[k];
    if (typeof x !== 'string') throw new AckParseError(`"${k}" must be a string`);
    return x;
  };
  const version = int('version');
  if (version < 1) throw new AckParseError('"version" must be >= 1');
  const status = str('status');
  if (!(ACK_STATUSES as readonly string[]).includes(status)) throw new AckParseError(`unknown status "${status}"`);
  const ack: Acknowledgement = {
    version,
    status: status as AckStatus,
    requestId: str('request_id'),
    agentIdentity: str('agent_identity'),
    jobId: str('job_id'),
    agentTimeMs: int('agent_time_ms'),
  };
  if (o['receipt_token'] !== undefined) {
    const token = str('receipt_token');
    if (!RECEIPT_TOKEN_PATTERN.test(token)) throw new AckParseError('"receipt_token" must be 22-64 characters of [A-Za-z0-9_-]');
    ack.receiptToken = token;
  }
  return ack;
}

/** A §9 refusal, as an agent sends it or as a caller reads it. */
export interface Refusal {
  code: number;
  name: ErrorName;
  retryable: boolean;
  /** Human-readable detail (the part of `message` after "NAME: "). */
  detail: string;
  /** For UNSUPPORTED_VERSION: the versions the agent supports (from `data`, when LiveKit delivered it). */
  supportedVersions?: number[];
}

export function makeRefusal(name: ErrorName, detail = '', supportedVersions?: readonly number[]): Refusal {
  const r: Refusal = { code: ErrorCode[name], name, retryable: isRetryable(name), detail };
  if (name === 'UNSUPPORTED_VERSION') r.supportedVersions = [...(supportedVersions ?? SUPPORTED_VERSIONS)];
  return r;
}

/**
 * The one error an agent-side step throws for a refusal (the Python package's ShutdownRpcError): `refusal`
 * holds the §9 code, name, retryable flag and detail that go on the wire.
 */
export class ShutdownRpcError extends Error {
  override name = 'ShutdownRpcError';
  readonly refusal: Refusal;

  constructor(codeName: ErrorName, detail: string, supportedVersions?: readonly number[]) {
    super(`${codeName}: ${detail}`);
    this.refusal = makeRefusal(codeName, detail, supportedVersions);
  }

  /** The §9 code. */
  get code(): number {
    return this.refusal.code;
  }
}

/** Cut a string to at most `max` UTF-8 bytes without splitting a character. */
export function truncateUtf8(s: string, max: number): string {
  if (utf8Length(s) <= max) return s;
  let out = '';
  let n = 0;
  for (const ch of s) {
    const l = utf8Length(ch);
    if (n + l > max) break;
    out += ch;
    n += l;
  }
  return out;
}

/** The RpcError fields an agent sends for a refusal (§2, §9): code, message <= 256 bytes, data JSON. */
export function refusalToRpcError(r: Refusal): { code: number; message: string; data: string } {
  const data: Record<string, unknown> = { version: PROTOCOL_VERSION, code: r.code, name: r.name, retryable: r.retryable };
  if (r.name === 'UNSUPPORTED_VERSION') data['supported_versions'] = r.supportedVersions ?? [...SUPPORTED_VERSIONS];
  return {
    code: r.code,
    message: truncateUtf8(`${r.name}: ${r.detail}`, MAX_REFUSAL_MESSAGE_BYTES),
    data: JSON.stringify(data),
  };
}

/**
 * Read a refusal from an RpcError's code/message/data. Relies on `code` (§9: `data` may be absent); returns
 * undefined for a code that is not one of §9's.
 */
export function parseRefusal(code: number, message?: string, data?: string): Refusal | undefined {
  const name = errorName(code);
  if (!name) return undefined;
  let detail = typeof message === 'string' ? message : '';
  if (detail.startsWith(`${name}: `)) detail = detail.slice(name.length + 2);
  else if (detail === `${name}:`) detail = '';
  const r = makeRefusal(name, detail);
  if (name === 'UNSUPPORTED_VERSION') {
    r.supportedVersions = [];
    if (typeof data === 'string' && data !== '') {
      try {
        const d = JSON.parse(data) as { supported_versions?: unknown };
        if (Array.isArray(d.supported_versions)) {
          r.supportedVersions = d.supported_versions.filter((x): x is number => Number.isSafeInteger(x));
        }
      } catch {
        // data is optional and advisory; the code is what counts
      }
    }
  }
  return r;
}
