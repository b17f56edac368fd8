// Live test client on @livekit/rtc-node: joins a room, waits for the agent, then either relays a payload
// minted elsewhere (MODE=relay) or signs its own request with a §12 key file (MODE=sign), and prints one JSON
// line with the typed result. Driven by tests/e2e/test_js_clients.py; nothing secret is printed.
//
// Environment: LIVEKIT_URL, LIVEKIT_TOKEN, SHUTDOWN_RPC_DESTINATION (agent identity), SHUTDOWN_RPC_MODE,
// relay: SHUTDOWN_RPC_PAYLOAD (and optionally SHUTDOWN_RPC_PAYLOADS_FIRST, a JSON array); sign: SHUTDOWN_RPC_KEY_FILE (JSON), SHUTDOWN_RPC_ROOM, SHUTDOWN_RPC_ISSUER,
// SHUTDOWN_RPC_REASON.
import { dispose, Room } from 'rtc-node-1-1'; // the client's own test runs on @livekit/rtc-node 1.1 (the agent entry's on 0.13, what @livekit/agents 1.9 needs)

import {
  createRequest,
  describeResult,
  parseKeyFile,
  relayShutdown,
  sendShutdown,
  type ShutdownResult,
} from '../src/index.js';

function env(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') throw new Error(`missing environment variable ${name}`);
  return v;
}

export function serializable(r: ShutdownResult): unknown {
  return r.kind === 'transport_error' ? { ...r, error: String(r.error) } : r;
}

async function waitForAgent(room: Room, identity: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = room.remoteParticipants.get(identity);
    if (p && p.attributes['shutdown_rpc.method']) return;
    if (Date.now() > deadline) throw new Error(`agent ${identity} not seen in the room within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// Like a frontend, which stays in the room: the receipt sent after an accepted ack gets through before we leave.
async function waitGone(room: Room, identity: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (room.remoteParticipants.has(identity)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

async function main(): Promise<void> {
  const mode = env('SHUTDOWN_RPC_MODE');
  const destination = env('SHUTDOWN_RPC_DESTINATION');
  const room = new Room();
  await room.connect(env('LIVEKIT_URL'), env('LIVEKIT_TOKEN'), { autoSubscribe: false, dynacast: false });
  let out: Record<string, unknown>;
  try {
    await waitForAgent(room, destination, 30000);
    let result: ShutdownResult;
    let requestId: string | undefined;
    const earlier: unknown[] = [];
    if (mode === 'relay') {
      // SHUTDOWN_RPC_PAYLOADS_FIRST: a JSON array of payloads relayed (in order) before SHUTDOWN_RPC_PAYLOAD
      for (const p of JSON.parse(process.env['SHUTDOWN_RPC_PAYLOADS_FIRST'] ?? '[]') as string[]) {
        earlier.push(serializable(await relayShutdown(room.localParticipant!, p, { destinationIdentity: destination })));
      }
      result = await relayShutdown(room.localParticipant!, env('SHUTDOWN_RPC_PAYLOAD'), { destinationIdentity: destination });
    } else if (mode === 'sign') {
      const key = await parseKeyFile(env('SHUTDOWN_RPC_KEY_FILE'));
      if (!('sign' in key)) throw new Error('SHUTDOWN_RPC_KEY_FILE holds no signing key');
      const request = createRequest(
        { room: env('SHUTDOWN_RPC_ROOM'), target: destination, issuer: env('SHUTDOWN_RPC_ISSUER') },
        { reason: process.env['SHUTDOWN_RPC_REASON'] ?? '' },
      );
      requestId = request.requestId;
      result = await sendShutdown(room.localParticipant!, request, key, { destinationIdentity: destination });
    } else {
      throw new Error(`unknown SHUTDOWN_RPC_MODE ${mode}`);
    }
    const agentLeft = result.kind === 'acknowledged' && result.reasonDelivered ? await waitGone(room, destination, 15000) : false;
    out = { mode, requestId, earlier, summary: describeResult(result), result: serializable(result), agentLeft };
  } finally {
    await room.disconnect();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main()
  .then(async () => {
    await dispose();
    process.exit(0);
  })
  .catch(async (e: unknown) => {
    process.stderr.write(`node_client failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    await dispose().catch(() => undefined);
    process.exit(1);
  });
