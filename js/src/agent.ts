/**
 * livekit-shutdown-rpc/agent: for agents written in JS (Node only; browser code imports the main entry, which never
 * loads this one). Every runtime name here is pinned by test/exports.test.ts.
 *
 * - LiveKit Agents for Node.js (@livekit/agents 1.x): `const handler = await enableRemoteShutdown(ctx, options)` in
 *   a job's entrypoint; the same behaviour as the Python agent (spec §10, §11). Its peers (@livekit/agents,
 *   @livekit/rtc-node, livekit-server-sdk) load when it is called, not with this module.
 * - Any other agent: `ShutdownDecider`, the sans-IO core (verify, the access policy of §7 step 15, accept once,
 *   the job's state); wiring it to an RPC method and ending the job are the caller's.
 */
export { enableRemoteShutdown, type AgentJobContext, type RemoteShutdownOptions } from './agent/enable.js';
export { ShutdownHandler, type JobState } from './agent/shutdown_handler.js';
export {
  DEFAULT_RATE_LIMIT,
  DEFAULT_REPLY_FLUSH_DELAY_MS,
  type AccessPolicy,
  type CallerParticipant,
  type EndingTimings,
  type KeyScope,
  type RateLimit,
  type UnsignedCallers,
  type Veto,
} from './agent/policy.js';
export { parseReason, type RemoteRequest, type RemoteShutdownReason } from './agent/remote_request.js';
export { KEYS_ENV, loadKeyRing, type KeySources } from './agent/keys.js';
export { OUTCOMES, OutcomeCounters, type AgentLogger } from './agent/outcomes.js';
export {
  DEFAULT_REFUSAL_BUDGET,
  shutdownReason,
  ShutdownDecider,
  type AccessPolicy as DeciderPolicy,
  type Decision,
  type JobState as DeciderState,
  type KeyScope as DeciderKeyScope,
  type RefusalBudget,
  type ShutdownDeciderOptions,
} from './decider.js';
export { ReplayCache } from './replay.js';
