// Frontend side of examples/backend_mint_endpoint.py: relay a minted shutdown request with livekit-client.
// The browser never holds a key: it gets an opaque payload from its own backend and passes it on.
// The caller must NOT be a hidden participant (the server blanks a hidden caller's identity: no reply comes back).
import { Room, RpcError } from 'livekit-client';

interface Minted {
  destinationIdentity: string;
  method: string; // "shutdown_rpc.shutdown"
  payload: string;
  requestId: string;
  room: string;
  expiresAt: number;
}

export type ShutdownOutcome =
  | { kind: 'acknowledged'; status: 'accepted' | 'duplicate' | 'already_shutting_down'; jobId: string }
  | { kind: 'refused'; code: number; name: string; retryable: boolean; message: string }
  | { kind: 'agent_left'; message: string } // 1503: it most likely shut down, the reply was lost
  | { kind: 'failed'; code: number; message: string };

export async function endAgent(room: Room, reason: string): Promise<ShutdownOutcome> {
  const res = await fetch('/api/agent-shutdown/mint', {
    method: 'POST',
    credentials: 'same-origin', // the backend authenticates this session before minting
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ room: room.name, reason }),
  });
  if (!res.ok) throw new Error(`mint failed: ${res.status}`);
  const minted: Minted = await res.json();

  try {
    const reply = await room.localParticipant.performRpc({
      destinationIdentity: minted.destinationIdentity,
      method: minted.method,
      payload: minted.payload,
      responseTimeout: 10000,
    });
    const ack = JSON.parse(reply);
    if (ack.request_id !== minted.requestId) throw new Error('acknowledgement for another request');
    return { kind: 'acknowledged', status: ack.status, jobId: ack.job_id };
  } catch (e) {
    if (!(e instanceof RpcError)) throw e;
    if (e.code >= 4100 && e.code <= 4199) {
      // Protocol refusal: data is JSON {version, code, name, retryable[, supported_versions]}.
      let data: { name?: string; retryable?: boolean } = {};
      try { data = JSON.parse(e.data ?? '{}'); } catch { /* keep defaults */ }
      return { kind: 'refused', code: e.code, name: data.name ?? 'UNKNOWN', retryable: !!data.retryable,
               message: e.message };
    }
    if (e.code === 1503) return { kind: 'agent_left', message: e.message };
    // 1501/1502 timeouts: sending the SAME payload again is safe until expiresAt (an agent that already accepted
    // answers "duplicate"); after that, mint a new one.
    return { kind: 'failed', code: e.code, message: e.message };
  }
}
