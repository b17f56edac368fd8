// Run from the fresh Node project: the package resolves from its node_modules, as in an application. Every
// entry is imported; the exported names must be the pinned ones.
import { readFileSync } from 'node:fs';
import * as pkg from 'livekit-shutdown-rpc';
import * as agent from 'livekit-shutdown-rpc/agent';
import * as wire from 'livekit-shutdown-rpc/wire';
import { exportDifferences, smoke } from './smoke.mjs';

const pinned = JSON.parse(readFileSync('./exports.json', 'utf8'));
const result = await smoke(pkg, wire, JSON.parse(readFileSync('./v1.json', 'utf8')));
result.failures.push(...exportDifferences(pinned, { 'livekit-shutdown-rpc': pkg, 'livekit-shutdown-rpc/wire': wire, 'livekit-shutdown-rpc/agent': agent }));
console.log(JSON.stringify(result));
