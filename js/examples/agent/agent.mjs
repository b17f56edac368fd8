// Example Node agent (LiveKit Agents for Node.js): a real AgentSession speaking with an offline tone TTS, that an
// authorized backend can ask to end. The twin of examples/agent.py. Run it (explicit dispatch by agent name):
//
//   cd js && npm run build && LIVEKIT_URL=ws://127.0.0.1:7880 LIVEKIT_API_KEY=devkey LIVEKIT_API_SECRET=secret \
//     SHUTDOWN_RPC_KEYS=/path/to/backend-1.key.json node examples/agent/agent.mjs dev
//
// Environment:
// - SHUTDOWN_RPC_KEYS: verification keys (a key file's JSON, a JSON array, or paths joined by ':').
// - LIVEKIT_AGENT_NAME: agent name for explicit dispatch (default shutdown-rpc-example).
// - SHUTDOWN_RPC_EVENTS_FILE: if set, one JSON line per event is appended (event, wall_ms, job_id, room, ...):
//   entrypoint_started, remote_shutdown_accepted, session_closed, shutdown_callback.
// - SHUTDOWN_RPC_GREETING: said when the session starts (tone of 40 ms per character). Empty: say nothing.
// - SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S: the most the agent waits for the caller's receipt (default 0.5).
// - SHUTDOWN_RPC_ALLOW_ANY_AGENT=1: accept the any-agent target "*".
// - SHUTDOWN_RPC_UNSIGNED_IDENTITIES: comma-separated identity globs allowed to send unsigned requests.
//
// Nothing here leaves the host: no speech provider, and no VAD or turn detector (the session only speaks).
import { appendFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { cli, defineAgent, ServerOptions, voice } from '@livekit/agents';
import { enableRemoteShutdown, parseReason } from 'livekit-shutdown-rpc/agent';
import { ToneTTS } from './tone_tts.mjs';

const DEFAULT_GREETING = 'Hello. This agent ends when an authorized backend asks it to.';

function recorder(ctx) {
  return (event, fields = {}) => {
    const line = { event, wall_ms: Date.now(), job_id: ctx.job.id, room: ctx.job.room?.name, ...fields };
    const path = process.env.SHUTDOWN_RPC_EVENTS_FILE;
    if (path) appendFileSync(path, `${JSON.stringify(line)}\n`); // one write per line (O_APPEND)
  };
}

function accessFromEnv() {
  const identities = (process.env.SHUTDOWN_RPC_UNSIGNED_IDENTITIES ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  return {
    allowAnyAgent: process.env.SHUTDOWN_RPC_ALLOW_ANY_AGENT === '1',
    ...(identities.length ? { unsigned: { identities } } : {}),
  };
}

/** Start a speaking session and let remote callers end the job. */
export async function entry(ctx) {
  const record = recorder(ctx);
  let remote;
  ctx.addShutdownCallback(async () => {
    // Node shutdown callbacks get no argument: the handler knows why the job ends (the reason given to ctx.shutdown).
    const reason = remote?.jobEnding ?? '';
    const parsed = parseReason(reason);
    record('shutdown_callback', {
      reason,
      remote: parsed !== null,
      issuer: parsed?.issuer ?? null,
      request_id: parsed?.requestId ?? null,
      caller_reason: parsed?.reason ?? null,
    });
  });
  await ctx.connect();
  const session = new voice.AgentSession({ tts: new ToneTTS(), vad: null, turnHandling: { turnDetection: null } });
  session.on(voice.AgentSessionEventTypes.Close, (ev) => record('session_closed', { close_reason: String(ev.reason) }));
  remote = await enableRemoteShutdown(ctx, {
    session,
    access: accessFromEnv(),
    timings: { replyFlushDelayMs: 1000 * Number(process.env.SHUTDOWN_RPC_REPLY_FLUSH_DELAY_S ?? '0.5') },
    onAccepted: (r) =>
      record('remote_shutdown_accepted', { request_id: r.requestId, issuer: r.issuer, caller: r.callerIdentity, key_id: r.keyId ?? null, options: r.options }),
  });
  // A tone has no words: syncing a transcript to it would only cost CPU.
  await session.start({ agent: new voice.Agent({ instructions: 'You only speak greetings.' }), room: ctx.room, outputOptions: { syncTranscription: false } });
  record('entrypoint_started', { identity: ctx.room.localParticipant.identity, key_ids: remote.keyIds, pid: process.pid });
  const greeting = process.env.SHUTDOWN_RPC_GREETING ?? DEFAULT_GREETING;
  if (greeting) session.say(greeting, { allowInterruptions: false });
}

export default defineAgent({ entry });

/** The worker's options (explicit dispatch under LIVEKIT_AGENT_NAME); `overrides` for harnesses. */
export function serverOptions(agentFile, overrides = {}) {
  return new ServerOptions({ agent: agentFile, agentName: process.env.LIVEKIT_AGENT_NAME || 'shutdown-rpc-example', ...overrides });
}

// Job processes import this file for its default export; only `node agent.mjs dev|start` runs the worker.
if (process.argv[1] === fileURLToPath(import.meta.url)) cli.runApp(serverOptions(fileURLToPath(import.meta.url)));
