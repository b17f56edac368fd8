// Type-checked in the fresh project (ESM): every entry's `types` condition resolves and types what it exports.
import { createRequest, signRequest, type ShutdownCommand, type ShutdownResult } from 'livekit-shutdown-rpc';
import { ShutdownDecider, type AccessPolicy } from 'livekit-shutdown-rpc/agent';
import { METHOD_NAME, seal } from 'livekit-shutdown-rpc/wire';

const command: ShutdownCommand = { reason: 'done', drain: true };
const policy: AccessPolicy = { keyScopes: { k1: { issuers: ['billing-*'] } } };
const request = createRequest({ room: 'r', target: 'agent-1', issuer: 'billing' }, command);
export const checked: [Promise<string>, string, typeof ShutdownDecider, AccessPolicy, ShutdownResult | undefined, typeof seal] = [
  signRequest(request),
  METHOD_NAME,
  ShutdownDecider,
  policy,
  undefined,
  seal,
];
