/**
 * Error codes of spec.md §9, LiveKit's own RPC error codes, and the protocol's constants and limits.
 */

/** Application error codes (spec.md §9), all outside LiveKit's reserved 1001-1999: the Python `ErrorCode`. */
export const ErrorCode = {
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

export type ErrorName = keyof typeof ErrorCode;
export type ErrorCodeNumber = (typeof ErrorCode)[ErrorName];

/** "retry can help" column of §9. */
const RETRYABLE: ReadonlySet<ErrorName> = new Set<ErrorName>([
  'NOT_YET_VALID',
  'VETOED',
  'RATE_LIMITED',
  'INTERNAL_ERROR',
]);

const NAME_BY_CODE: ReadonlyMap<number, ErrorName> = new Map(
  (Object.keys(ErrorCode) as ErrorName[]).map((n) => [ErrorCode[n], n]),
);

/** The §9 name of an error code, or undefined for a code that is not one of §9's. */
export function errorName(code: number): ErrorName | undefined {
  return NAME_BY_CODE.get(code);
}

/** The "retry can help" column of §9. */
export function isRetryable(name: ErrorName): boolean {
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
export const METHOD_NAME = 'shutdown_rpc.shutdown';
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


/**
 * Every limit above by name (the constant's name in lower case), in spec order: what vectors/v1.json `limits`
 * holds, and the same table as the Python package's `LIMITS`.
 */
export const LIMITS = Object.freeze({
  max_payload_bytes: MAX_PAYLOAD_BYTES,
  max_ack_bytes: MAX_ACK_BYTES,
  max_refusal_message_bytes: MAX_REFUSAL_MESSAGE_BYTES,
  max_key_id_bytes: MAX_KEY_ID_BYTES,
  max_container_items: MAX_CONTAINER_ITEMS,
  max_nesting_depth: MAX_NESTING_DEPTH,
  min_request_id_chars: MIN_REQUEST_ID_CHARS,
  max_request_id_chars: MAX_REQUEST_ID_CHARS,
  uint32_max: UINT32_MAX,
  max_room_bytes: MAX_ROOM_BYTES,
  max_target_bytes: MAX_TARGET_BYTES,
  max_reason_bytes: MAX_REASON_BYTES,
  max_issuer_bytes: MAX_ISSUER_BYTES,
  max_grace_ms: MAX_GRACE_MS,
  min_hmac_secret_bytes: MIN_HMAC_SECRET_BYTES,
  hmac_tag_bytes: HMAC_TAG_BYTES,
  ed25519_signature_bytes: ED25519_SIGNATURE_BYTES,
  ed25519_key_bytes: ED25519_KEY_BYTES,
  max_lifetime_s: MAX_LIFETIME_S,
  default_skew_s: DEFAULT_SKEW_S,
  default_lifetime_s: DEFAULT_LIFETIME_S,
  default_replay_capacity: DEFAULT_REPLAY_CAPACITY,
});

/** Discovery attributes (spec.md §10). */
export const ATTR_METHOD = 'shutdown_rpc.method';
export const ATTR_VERSIONS = 'shutdown_rpc.versions';
export const ATTR_KEY_IDS = 'shutdown_rpc.key_ids';
