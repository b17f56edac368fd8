/**
 * Counting and logging what each call of the shutdown method ended with (agent_side/_outcomes.py). Logs never
 * carry keys, signatures or payloads: request id, caller identity, key id, issuer and the outcome only.
 */
import { ErrorCode, type ErrorName } from '../codes.js';

/** A pino-style logger (what @livekit/agents' `log()` returns): fields first, then the message. */
export interface AgentLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** Every outcome label: the three acknowledgement statuses, then each refusal code's name in lower case. */
export const OUTCOMES: readonly string[] = [
  'accepted',
  'duplicate',
  'already_shutting_down',
  ...(Object.keys(ErrorCode) as ErrorName[]).map((name) => name.toLowerCase()),
];

/** Calls by outcome; every label of OUTCOMES is present (0 until seen), so exporters get a stable set. */
export class OutcomeCounters {
  readonly #counts = new Map<string, number>(OUTCOMES.map((o) => [o, 0]));

  add(outcome: string): void {
    this.#counts.set(outcome, (this.#counts.get(outcome) ?? 0) + 1);
  }

  get(outcome: string): number {
    return this.#counts.get(outcome) ?? 0;
  }

  /** A copy of all counters. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts);
  }

  /** Calls that ended with a refusal. */
  get refused(): number {
    let n = 0;
    for (const [outcome, count] of this.#counts) if (!['accepted', 'duplicate', 'already_shutting_down'].includes(outcome)) n += count;
    return n;
  }
}

/**
 * `text` with every character that could forge or reorder a log line escaped as \uXXXX (backslash doubled first):
 * C0/C1 controls, line and paragraph separators, bidi and other format characters.
 */
export function loggable(text: string): string {
  return text.replace(/[\\\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\p{Co}\p{Cn}]/gu, (c) =>
    c === '\\' ? '\\\\' : `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`,
  );
}

export interface OutcomeFields {
  rpcRequestId: string;
  caller: string;
  requestId?: string | undefined;
  keyId?: string | undefined;
  issuer?: string | undefined;
  code?: number | undefined;
  detail?: string | undefined;
}

/** One structured record per call, with the Python agent's field names. */
export function logOutcome(logger: AgentLogger, outcome: string, f: OutcomeFields): void {
  const caller = loggable(f.caller);
  const fields = {
    shutdown_rpc_outcome: outcome,
    rpc_request_id: loggable(f.rpcRequestId),
    caller_identity: caller,
    request_id: f.requestId ?? null,
    key_id: f.keyId ?? null,
    issuer: f.issuer ?? null,
    error_code: f.code ?? null,
  };
  if (f.code === undefined) {
    logger.info(fields, `remote shutdown ${outcome}: request ${f.requestId} from ${caller}`);
  } else if (f.code === ErrorCode.INTERNAL_ERROR) {
    logger.error(fields, `remote shutdown failed: request ${f.requestId} from ${caller}`);
  } else {
    logger.warn(fields, `remote shutdown refused (${outcome} ${f.code}: ${f.detail}): request ${f.requestId} from ${caller}`);
  }
}
