/**
 * Refusal codes of spec.md §9 and LiveKit's own RPC error codes.
 */

/** Application refusal codes (spec.md §9), all outside LiveKit's reserved 1001-1999. */
export const RefusalCode = {
  PAYLOAD_TOO_LARGE: 4100,
  MALFORMED: 4101,
  UNSUPPORTED_VERSION: 4102,
  INVALID_REQUEST: 4103,
  UNKNOWN_KEY: 4110,
  BAD_SIGNATURE: 4111,
  UNSIGNED_REFUSED: 4112,
  EXPIRED: 4120,
  NOT_YET_VALID: 4121,
  LIFETIME_TOO_LONG: 4122,
  WRONG_ROOM: 4130,
  WRONG_TARGET: 4131,
  NOT_AUTHORIZED: 4132,
  VETOED: 4133,
  REQUEST_ID_CONFLICT: 4134,
  RATE_LIMITED: 4140,
  INTERNAL_ERROR: 4150,
} as const;

export type RefusalName = keyof typeof RefusalCode;
export type RefusalCodeNumber = (typeof RefusalCode)[RefusalName];

/** "retry can help" column of §9. */
const RETRYABLE: ReadonlySet<RefusalName> = new Set<RefusalName>([
  'NOT_YET_VALID',
  'VETOED',
  'RATE_LIMITED',
  'INTERNAL_ERROR',
]);

const NAME_BY_CODE: ReadonlyMap<number, RefusalName> = new Map(
  (Object.keys(RefusalCode) as RefusalName[]).map((n) => [RefusalCode[n], n]),
);

export function refusalName(code: number): RefusalName | undefined {
  return NAME_BY_CODE.get(code);
}

export function isRetryable(name: RefusalName): boolean {
  return RETRYABLE.has(name);
}

/**
 * LiveKit's built-in RPC error codes, as defined by livekit-client 2.23, @livekit/rtc-node 1.1 and the
 * Python rtc SDK (`RpcError.ErrorCode`). @livekit/rtc-node lacks UNSUPPORTED_VERSION (1404).
 */
export const LiveKitRpcCode = {
  UNSUPPORTED_METHOD: 1400,
  RECIPIENT_NOT_FOUND: 1401,
  REQUEST_PAYLOAD_TOO_LARGE: 1402,
  UNSUPPORTED_SERVER: 1403,
  UNSUPPORTED_VERSION: 1404,
  APPLICATION_ERROR: 1500,
  CONNECTION_TIMEOUT: 1501,
  RESPONSE_TIMEOUT: 1502,
  RECIPIENT_DISCONNECTED: 1503,
  RESPONSE_PAYLOAD_TOO_LARGE: 1504,
  SEND_FAILED: 1505,
} as const;

export type LiveKitRpcName = keyof typeof LiveKitRpcCode;

const LK_NAME_BY_CODE: ReadonlyMap<number, LiveKitRpcName> = new Map(
  (Object.keys(LiveKitRpcCode) as LiveKitRpcName[]).map((n) => [LiveKitRpcCode[n], n]),
);

export function liveKitRpcName(code: number): LiveKitRpcName | undefined {
  return LK_NAME_BY_CODE.get(code);
}

/** Protocol constants (spec.md §2). */
export const METHOD = 'shutdown_rpc.shutdown';
export const PROTOCOL_VERSION = 1;
export const SUPPORTED_VERSIONS: readonly number[] = [1];
/** How long a caller waits for the agent's answer (§2: at least the server's 15 s PerformRpc bound). */
export const DEFAULT_RESPONSE_TIMEOUT_MS = 15000;

// Every numeric limit spec.md states, once, named as the Python package names it: vectors/v1.json "limits"
// holds the same table in lower case, and test/vectors.test.ts checks these against it.
// §2 Transport
export const MAX_PAYLOAD_BYTES = 4096;
export const MAX_ACK_BYTES = 4096;
export const MAX_REFUSAL_MESSAGE_BYTES = 256;
// §3 Envelope
export const MAX_KEY_ID_BYTES = 64;
export const MAX_CONTAINER_ITEMS = 16;
/** At most this many arrays/maps nested inside one another (the outermost counts 1). */
export const MAX_NESTING_DEPTH = 1024;
// §4 Body
export const MIN_REQUEST_ID_CHARS = 22;
export const MAX_REQUEST_ID_CHARS = 64;
export const UINT32_MAX = 4294967295;
export const MAX_ROOM_BYTES = 256;
export const MAX_TARGET_BYTES = 256;
export const MAX_REASON_BYTES = 512;
export const MAX_ISSUER_BYTES = 128;
export const MAX_GRACE_MS = 60000;
// §5 Signatures
export const MIN_HMAC_SECRET_BYTES = 32;
export const HMAC_TAG_BYTES = 32;
export const ED25519_SIGNATURE_BYTES = 64;
export const ED25519_KEY_BYTES = 32;
// §6 Time
export const MAX_LIFETIME_S = 300;
export const DEFAULT_SKEW_S = 30;
/** What createRequest gives a request unless told otherwise: the lifetime §6 recommends for frontends. */
export const DEFAULT_LIFETIME_S = 60;
// §7.1 Replay memory
/** Accepted (or in-flight) requests an agent remembers at once; full of live ones means RATE_LIMITED. */
export const DEFAULT_REPLAY_CAPACITY = 4096;

/** Discovery attributes (spec.md §10). */
export const Attributes = {
  METHOD: 'shutdown_rpc.method',
  VERSIONS: 'shutdown_rpc.versions',
  KEY_IDS: 'shutdown_rpc.key_ids',
} as const;
