/**
 * livekit-shutdown-rpc/agent: remote shutdown for LiveKit Agents for Node.js (@livekit/agents 1.x) jobs.
 * `const handler = await enableRemoteShutdown(ctx, options)` in a job's entrypoint; the same behaviour as the
 * Python agent (spec §10, §11). Node only: browser code imports the main entry, which never loads this one.
 */
export { enableRemoteShutdown, type RemoteShutdownOptions } from './enable.js';
export { ShutdownHandler, type JobState } from './shutdown_handler.js';
export { ShutdownHandler as ShutdownDecider } from '../handler.js';
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
} from './policy.js';
export { parseReason, type RemoteRequest, type RemoteShutdownReason } from './remote_request.js';
export { KEYS_ENV, loadKeyRing, type KeySources } from './keys.js';
export { OUTCOMES, OutcomeCounters, type AgentLogger } from './outcomes.js';
export { advertisementAttributes } from './advertise.js';
