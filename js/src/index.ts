/**
 * livekit-shutdown-rpc: the v1 wire protocol (spec.md) for browser and Node client authors, on WebCrypto.
 * Build and sign requests, relay backend-minted payloads, send them with livekit-client's or
 * @livekit/rtc-node's `performRpc`, read the typed result, follow an agent's ending, and verify.
 *
 * Implementers of the protocol find the wire pieces in `livekit-shutdown-rpc/wire`; agents written in JS find
 * the decision core in `livekit-shutdown-rpc/agent`. Every runtime name here is pinned by test/exports.test.ts.
 */
export { ErrorCode, type ErrorName } from './codes.js';
export { LIMITS } from './codes.js';
export { ShutdownRpcError, type Acknowledgement, type AckStatus, type Refusal } from './ack.js';
export {
  dumpKeyFile,
  Ed25519SigningKey,
  Ed25519VerifyingKey,
  HmacSha256Key,
  KeyError,
  KeyRing,
  parseKeyFile,
  type Algorithm,
  type AnyKey,
  type SigningKey,
  type VerifyingKey,
} from './keys.js';
export {
  ANY_AGENT,
  createRequest,
  newRequestId,
  RequestValidationError,
  type RequestAddress,
  type ShutdownCommand,
  type ShutdownOptions,
  type ShutdownRequest,
} from './request.js';
export { inspectPayload, signRequest, type InspectedPayload, type ReadFailure } from './envelope.js';
export {
  DuplicateRequest,
  VerifiedRequest,
  Verifier,
  type AcceptStatus,
  type AgentBinding,
  type Clock,
  type VerifierOptions,
  type VerifyOptions,
} from './verify.js';
export { onAgentEnding, parseEnding, type AgentEnding, type AttributeEvents } from './ending_signals.js';
export {
  describeResult,
  relayShutdown,
  sendShutdown,
  type RpcCaller,
  type SendOptions,
  type ShutdownResult,
} from './client.js';
