// The fake JobContext, room and session the Node agent's unit tests drive (agent*.test.ts): just what
// enableRemoteShutdown touches, recording every event in order.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createRequest, HmacSha256Key, signRequest } from '../src/index.js';
import { FixedClock } from '../src/wire.js';
import { enableRemoteShutdown, type AgentLogger, type RemoteShutdownOptions, type ShutdownHandler } from '../src/agent.js';
export const NOW_MS = 1_800_000_000_000;
export const ROOM = 'room-1';
export const IDENTITY = 'agent-AJ_1';
export const KEY = new HmacSha256Key('k1', new Uint8Array(32).fill(7));
export const LONG = { replyFlushDelayMs: 10_000 }; // a flush bound no test waits out: the receipt (or nothing) decides

export class Logs implements AgentLogger {
  readonly lines: Array<{ level: string; fields: object; message: string }> = [];
  info(fields: object, message: string): void {
    this.lines.push({ level: 'info', fields, message });
  }
  warn(fields: object, message: string): void {
    this.lines.push({ level: 'warn', fields, message });
  }
  error(fields: object, message: string): void {
    this.lines.push({ level: 'error', fields, message });
  }
  text(): string {
    return this.lines.map((l) => `${l.level} ${l.message} ${JSON.stringify(l.fields)}`).join('\n');
  }
}

export type Handler = (data: { requestId: string; callerIdentity: string; payload: string; responseTimeout: number }) => Promise<string>;

export class FakeRoom extends EventEmitter {
  name = ROOM;
  isConnected = true;
  readonly events: string[];
  readonly methods = new Map<string, Handler>();
  readonly attributeCalls: Array<Record<string, string>> = [];
  readonly remoteParticipants = new Map<string, { identity: string; kind: number; attributes: Record<string, string> }>();
  readonly localParticipant;
  constructor(events: string[]) {
    super();
    this.events = events;
    this.localParticipant = {
      identity: IDENTITY,
      registerRpcMethod: (method: string, handler: Handler) => void this.methods.set(method, handler),
      setAttributes: (attributes: Record<string, string>) => {
        this.attributeCalls.push(attributes);
        return Promise.resolve();
      },
    };
  }
  disconnect(): Promise<void> {
    this.events.push('leave');
    this.isConnected = false;
    this.emit('disconnected');
    return Promise.resolve();
  }
}

export class FakeSession extends EventEmitter {
  constructor(private readonly events: string[]) {
    super();
  }
  readonly input = { setAudioEnabled: (on: boolean) => void this.events.push(`input ${on}`) };
  readonly output = {
    setAudioEnabled: (on: boolean) => void this.events.push(`output ${on}`),
    audio: { clearBuffer: () => void this.events.push('queued audio dropped') },
  };
  interrupt(options?: { force?: boolean }): Promise<void> {
    this.events.push(`interrupt force=${options?.force}`);
    return Promise.resolve();
  }
  shutdown(options?: { drain?: boolean }): void {
    this.events.push(`session shutdown drain=${options?.drain}`);
    if (options?.drain) setImmediate(() => this.emit('close', {}));
  }
}

export class FakeCtx {
  readonly events: string[] = [];
  readonly room = new FakeRoom(this.events);
  readonly job = { id: 'AJ_1', dispatchId: 'AD_1', type: 'JT_ROOM', room: { name: ROOM } }; // as the job process gets it (JSON IPC)
  readonly info = { url: 'ws://127.0.0.1:1', apiKey: 'k', apiSecret: 's' };
  readonly callbacks: Array<() => Promise<void>> = [];
  readonly shutdowns: string[] = [];
  shutdown(reason = ''): void {
    this.shutdowns.push(reason);
    this.events.push(`shutdown ${reason}`);
  }
  addShutdownCallback(cb: () => Promise<void>): void {
    this.callbacks.push(cb);
  }
  deleteRoom(name?: string): Promise<void> {
    this.events.push(`delete room ${name}`);
    return Promise.resolve();
  }
}

export async function enable(ctx: FakeCtx, logs = new Logs(), extra: RemoteShutdownOptions = {}): Promise<ShutdownHandler> {
  return enableRemoteShutdown(ctx, {
    keys: [KEY],
    logger: logs,
    timings: LONG,
    testing: {
      clock: new FixedClock(NOW_MS),
      deleteDispatch: (id, room) => Promise.resolve(void ctx.events.push(`delete dispatch ${id} ${room}`)),
    },
    ...extra,
  });
}

export async function signed(overrides: { requestId?: string; issuer?: string; reason?: string; drain?: boolean; deleteRoom?: boolean; room?: string } = {}): Promise<string> {
  const req = createRequest(
    { room: overrides.room ?? ROOM, target: IDENTITY, issuer: overrides.issuer ?? 'billing-backend' },
    {
      reason: overrides.reason ?? 'invoice unpaid',
      drain: overrides.drain ?? false,
      deleteRoom: overrides.deleteRoom ?? false,
      ...(overrides.requestId ? { requestId: overrides.requestId } : {}),
    },
    NOW_MS,
  );
  return signRequest(req, KEY);
}

export function call(ctx: FakeCtx, method: string, payload: string, caller = 'user'): Promise<string> {
  const handler = ctx.room.methods.get(method);
  assert.ok(handler, `${method} registered`);
  return handler({ requestId: 'rpc-1', callerIdentity: caller, payload, responseTimeout: 10_000 });
}

export async function turns(n = 20): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}
