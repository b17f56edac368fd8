/** The one call a Node agent's entrypoint makes: `const handler = await enableRemoteShutdown(ctx, options)`. */
import { advertisementAttributes } from './advertise.js';
import { METHOD_NAME } from '../codes.js';
import { RECEIPT_METHOD_NAME } from '../ending_signals.js';
import type { ReplayCache } from '../replay.js';
import type { Clock } from '../verify.js';
import type { JobContextLike, SessionLike } from './job_ender.js';
import { loadKeys, type KeySources } from './keys.js';
import type { AgentLogger } from './outcomes.js';
import type { AccessPolicy, EndingTimings } from './policy.js';
import type { RemoteRequest } from './remote_request.js';
import { ShutdownHandler } from './shutdown_handler.js';
import { withTimeout } from './job_ender.js';

const ADVERTISE_TIMEOUT_MS = 5000;

/**
 * What enableRemoteShutdown needs of an @livekit/agents JobContext (which it is given); the rest of its use is
 * typed inside, so these declarations load without the peer packages.
 */
export interface AgentJobContext {
  readonly room: unknown;
  readonly job: unknown;
  readonly info: unknown;
  shutdown(reason?: string): void;
  addShutdownCallback(callback: () => Promise<void>): void;
  deleteRoom(roomName?: string): Promise<void>;
}

export interface RemoteShutdownOptions extends KeySources {
  /** Who may end the job (key scopes, unsigned callers, veto, rate limits). */
  access?: AccessPolicy;
  /** How the job ends after an accepted request (reply flush bound, drain bounds, ...). */
  timings?: EndingTimings;
  /** What a drain request drains and what falls silent (default: the job's primary AgentSession). */
  session?: unknown;
  /** Run once after the acknowledgement was returned, before the job shuts down. */
  onAccepted?: (request: RemoteRequest) => void | Promise<void>;
  /** Put the caller's reason in the `shutdown_rpc.reason` attribute the room sees. Default false. */
  showReason?: boolean;
  /** Delete the job's dispatch before ctx.shutdown (room jobs), so the server records a success. Default true. */
  endDispatch?: boolean;
  /** Where logs go (default: @livekit/agents' logger). */
  logger?: AgentLogger;
  /** Internal seams for tests: the verifier's clock and replay memory, the DeleteDispatch call. */
  testing?: { clock?: Clock; replay?: ReplayCache; deleteDispatch?: (dispatchId: string, room: string) => Promise<void> };
}

/**
 * Let callers holding one of the keys ask this job to end. Call once per job, before or after ctx.connect().
 *
 * Keys come from `keys` and `keyFiles`, else from $SHUTDOWN_RPC_KEYS. Both methods (shutdown_rpc.shutdown and the
 * receipt shutdown_rpc.received) are registered as soon as the room is connected (now, if it already is), then
 * advertised in the agent's attributes. A key that fails to load, or no key at all, never ends the job: an ERROR
 * is logged and the requests it would verify are refused UNKNOWN_KEY, saying why.
 */
export async function enableRemoteShutdown(ctx: AgentJobContext, options: RemoteShutdownOptions = {}): Promise<ShutdownHandler> {
  const job = ctx as unknown as JobContextLike;
  // The peers load here, not with this module: a custom agent using only ShutdownDecider needs none of them.
  const { RpcError } = await import('@livekit/rtc-node');
  const logger = options.logger ?? defaultLogger((await import('@livekit/agents')).log);
  const keys = await loadKeys(options, logger);
  const keyError = keys.errorLog(options.access?.unsigned !== undefined);
  if (keyError !== undefined) logger.error({ key_failures: keys.failures.length }, keyError);
  const handler = new ShutdownHandler(job, keys.ring, {
    unknownKeyDetail: keys.unknownKeyDetail(),
    logger,
    rpcError: RpcError,
    ...(options.access ? { access: options.access } : {}),
    ...(options.timings ? { timings: options.timings } : {}),
    ...(options.session ? { session: options.session as SessionLike } : {}),
    ...(options.onAccepted ? { onAccepted: options.onAccepted } : {}),
    ...(options.showReason !== undefined ? { showReason: options.showReason } : {}),
    ...(options.endDispatch !== undefined ? { endDispatch: options.endDispatch } : {}),
    ...options.testing,
  });
  job.addShutdownCallback(() => handler.deleteRoomIfAsked());
  if (job.room.isConnected) {
    await registerAndAdvertise(job, handler, logger);
  } else {
    const onState = (): void => {
      if (!job.room.isConnected) return;
      job.room.off('connectionStateChanged', onState);
      void registerAndAdvertise(job, handler, logger);
    };
    job.room.on('connectionStateChanged', onState);
  }
  return handler;
}

async function registerAndAdvertise(ctx: JobContextLike, handler: ShutdownHandler, logger: AgentLogger): Promise<void> {
  const local = ctx.room.localParticipant;
  if (local === undefined) return;
  handler.bind();
  local.registerRpcMethod(METHOD_NAME, (data) => handler.handle(data));
  local.registerRpcMethod(RECEIPT_METHOD_NAME, (data) => handler.handleReceipt(data));
  try {
    await withTimeout(local.setAttributes(advertisementAttributes(handler.keyIds)), ADVERTISE_TIMEOUT_MS);
  } catch (e) {
    // Advertising is a convenience for callers; the method works without it.
    logger.warn({ error: String(e) }, 'remote shutdown: could not advertise in participant attributes');
  }
  handler.markRegistered();
  logger.info({ method: METHOD_NAME, key_ids: handler.keyIds, agent_identity: local.identity }, 'remote shutdown enabled');
}

function defaultLogger(log: () => { child(bindings: object): AgentLogger }): AgentLogger {
  try {
    return log().child({ name: 'shutdown_rpc.agent_side' });
  } catch {
    // @livekit/agents' logger is initialized by its CLI; outside it (scripts, tests) fall back to the console.
    return {
      info: (fields, message) => console.info(message, fields),
      warn: (fields, message) => console.warn(message, fields),
      error: (fields, message) => console.error(message, fields),
    };
  }
}
