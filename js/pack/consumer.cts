// Type-checked in the fresh project (CommonJS): the `require` condition's declarations (dist/cjs/*.d.ts).
import { createRequest, signRequest, type ShutdownCommand } from 'livekit-shutdown-rpc';
import { ShutdownDecider } from 'livekit-shutdown-rpc/agent';
import { seal } from 'livekit-shutdown-rpc/wire';

const command: ShutdownCommand = { reason: 'done' };
export const checked = [signRequest(createRequest({ room: 'r', target: 'agent-1', issuer: 'billing' }, command)), ShutdownDecider, seal];
