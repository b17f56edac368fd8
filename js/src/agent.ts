/**
 * livekit-shutdown-rpc/agent: for agents written in JS. `ShutdownDecider` is the sans-IO core of one job's
 * remote shutdown (verify, the access policy of §7 step 15, accept once, the job's state); wiring it to an RPC
 * method and ending the job are the caller's. Every runtime name here is pinned by test/exports.test.ts.
 */
export {
  DEFAULT_REFUSAL_BUDGET,
  shutdownReason,
  ShutdownDecider,
  type AccessPolicy,
  type Decision,
  type JobState,
  type KeyScope,
  type RefusalBudget,
  type ShutdownDeciderOptions,
} from './decider.js';
export { ReplayCache } from './replay.js';
