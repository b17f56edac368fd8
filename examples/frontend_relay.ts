// Frontend side of examples/backend_mint_endpoint.py: relay a minted shutdown request with livekit-client and
// the livekit-shutdown-rpc package. The browser never holds a key: it gets an opaque payload from its own
// backend and passes it on unchanged. The caller must NOT be a hidden participant (the server blanks a hidden
// caller's identity: no reply comes back). Type-checked by `npm test` in js/ (tsconfig.examples.json).
import type { Room } from 'livekit-client';
import { describeResult, onAgentEnding, relayShutdown, type ShutdownResult } from 'livekit-shutdown-rpc';

/** What the mint endpoint returns (the Python `SignedPayload.to_json_dict()`). */
interface Minted {
  destinationIdentity: string;
  method: string; // METHOD_NAME, "shutdown_rpc.shutdown"
  payload: string;
  requestId: string;
  room: string;
  expiresAt: number;
}

/** Ask the backend for a payload, relay it, and return the typed result. */
export async function endAgent(room: Room, reason: string): Promise<ShutdownResult> {
  const res = await fetch('/api/agent-shutdown/mint', {
    method: 'POST',
    credentials: 'same-origin', // the backend authenticates this session before minting
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ room: room.name, reason }),
  });
  if (!res.ok) throw new Error(`mint failed: ${res.status}`);
  const minted = (await res.json()) as Minted;
  // relayShutdown sends the payload as minted, checks that the acknowledgement is for this request id, and
  // sends the receipt that lets the agent leave at once (spec §11). The agent's participant, held from now on,
  // tells a lost reply apart: its ending attributes name the request they end for (left_before_reply's
  // endingAnnounced, spec §10).
  const result = await relayShutdown(room.localParticipant, minted.payload, {
    destinationIdentity: minted.destinationIdentity,
    agentParticipant: room.remoteParticipants.get(minted.destinationIdentity),
  });
  // rpc_error with retryable (1501/1502 timeouts): relaying the SAME payload again is safe until expiresAt (an
  // agent that already accepted answers "duplicate"); after that, mint a new one.
  console.info(`shutdown: ${describeResult(result)}`);
  return result;
}

/** Show why an agent left: its ending attributes (spec §10) arrive before it disconnects. */
export function showAgentEndings(room: Room, show: (text: string) => void): () => void {
  return onAgentEnding(room, (identity, ending) => {
    show(`${identity} ended the call${ending.reason ? `: ${ending.reason}` : ''} (by ${ending.issuer})`);
  });
}
