/**
 * livekit-shutdown-rpc/wire: the pieces of the v1 wire protocol (spec.md) an implementer of another language,
 * a tool or a custom transport needs: strict msgpack and base64, the envelope and signed message, body
 * encoding, acknowledgements and refusals as bytes on the wire, the replay cache, clocks, the protocol's
 * constants and limits, the discovery and ending attributes. Client authors need only the main entry.
 * Every runtime name here is pinned by test/exports.test.ts.
 */
export {
  ATTR_KEY_IDS,
  ATTR_METHOD,
  ATTR_VERSIONS,
  DEFAULT_LIFETIME_S,
  DEFAULT_REPLAY_CAPACITY,
  DEFAULT_RESPONSE_TIMEOUT_MS,
  DEFAULT_SKEW_S,
  ED25519_KEY_BYTES,
  ED25519_SIGNATURE_BYTES,
  errorName,
  HMAC_TAG_BYTES,
  isRetryable,
  LiveKitRpcCode,
  liveKitRpcName,
  MAX_ACK_BYTES,
  MAX_CONTAINER_ITEMS,
  MAX_GRACE_MS,
  MAX_ISSUER_BYTES,
  MAX_KEY_ID_BYTES,
  MAX_LIFETIME_S,
  MAX_NESTING_DEPTH,
  MAX_PAYLOAD_BYTES,
  MAX_REASON_BYTES,
  MAX_REFUSAL_MESSAGE_BYTES,
  MAX_REQUEST_ID_CHARS,
  MAX_ROOM_BYTES,
  MAX_TARGET_BYTES,
  METHOD_NAME,
  MIN_HMAC_SECRET_BYTES,
  MIN_REQUEST_ID_CHARS,
  PROTOCOL_VERSION,
  SUPPORTED_VERSIONS,
  UINT32_MAX,
  type LiveKitRpcName,
} from './codes.js';
export {
  base64DecodeStrict,
  base64Encode,
  base64UrlEncode,
  bytesToHex,
  hexToBytes,
  utf8Length,
} from './bytes.js';
export { decodeStrict, encodeMsgpack, MsgpackFloat, StrictMsgpackError, type MsgpackValue } from './msgpack.js';
export { KEY_ID_PATTERN, SIGNATURE_LENGTH } from './keys.js';
export { encodeBody, fromWire, REQUEST_ID_PATTERN, toWire, validateRequest, type WireRequest } from './request.js';
export { DOMAIN_SEPARATOR, readEnvelope, seal, signedMessage, type Envelope } from './envelope.js';
export {
  ACK_STATUSES,
  AckParseError,
  asDuplicate,
  makeRefusal,
  parseAck,
  parseRefusal,
  receiptOf,
  refusalToRpcError,
  serializeAck,
  truncateUtf8,
} from './ack.js';
export { ReplayCache, Reservation, type ReplayEntry } from './replay.js';
export { FixedClock, PendingRequest, SYSTEM_CLOCK } from './verify.js';
export {
  ATTR_ISSUER,
  ATTR_REASON,
  ATTR_REQUEST_ID,
  ATTR_STATE,
  endingAttributes,
  isReceiptFor,
  newReceiptToken,
  RECEIPT_METHOD_NAME,
  RECEIPT_TOKEN_PATTERN,
  STATE_ENDING,
} from './ending_signals.js';
export { resultFromResponse, resultFromRpcError, sendReceipt } from './client.js';
