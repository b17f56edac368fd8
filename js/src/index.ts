/**
 * livekit-shutdown-rpc: reference JS/TS implementation of the v1 wire protocol (spec.md) for browsers and
 * Node >= 20. Build and sign requests (WebCrypto), relay backend-minted payloads, send them with
 * livekit-client's or @livekit/rtc-node's `performRpc`, read acknowledgements and refusals, and verify.
 */
export * from './codes.js';
export {
  base64DecodeStrict,
  base64Encode,
  base64UrlEncode,
  bytesToHex,
  hexToBytes,
  utf8Length,
} from './bytes.js';
export { decodeStrict, encodeMsgpack, MsgpackFloat, StrictMsgpackError, type MsgpackValue } from './msgpack.js';
export {
  Ed25519PrivateKey,
  Ed25519PublicKey,
  HmacSha256Key,
  KeyError,
  KeyRing,
  parseKeyFile,
  KEY_ID_PATTERN,
  SIGNATURE_LENGTH,
  type Algorithm,
  type AnyKey,
  type SigningKey,
  type VerificationKey,
} from './keys.js';
export {
  ANY_AGENT,
  createRequest,
  encodeBody,
  fromWire,
  newRequestId,
  REQUEST_ID_PATTERN,
  RequestValidationError,
  toWire,
  validateRequest,
  type CreateRequestInput,
  type ShutdownOptions,
  type ShutdownRequest,
  type WireRequest,
} from './request.js';
export {
  buildPayload,
  DOMAIN_SEPARATOR,
  encodeEnvelope,
  inspectPayload,
  readEnvelope,
  signedMessage,
  type InspectedPayload,
} from './envelope.js';
export {
  ACK_STATUSES,
  AckParseError,
  asDuplicate,
  makeRefusal,
  parseAck,
  parseRefusal,
  refusalToRpcError,
  serializeAck,
  ShutdownRpcError,
  truncateUtf8,
  type Acknowledgement,
  type AckStatus,
  type Refusal,
} from './ack.js';
export { Reservation, ReplayMemory, type ReplayEntry } from './replay.js';
export {
  DuplicateRequest,
  FixedClock,
  PendingRequest,
  SYSTEM_CLOCK,
  VerifiedRequest,
  Verifier,
  type AcceptStatus,
  type AgentBinding,
  type Clock,
  type VerifierOptions,
  type VerifyOptions,
} from './verify.js';
export {
  DEFAULT_REFUSAL_BUDGET,
  scopeMatches,
  ShutdownHandler,
  shutdownReason,
  type HandleResult,
  type JobState,
  type KeyScope,
  type RefusalBudget,
  type ShutdownHandlerOptions,
  type ShutdownPolicy,
} from './handler.js';
export {
  describeResult,
  relayShutdown,
  resultFromResponse,
  resultFromRpcError,
  sendShutdown,
  type RpcCaller,
  type SendOptions,
  type ShutdownResult,
} from './client.js';
