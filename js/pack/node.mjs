// Run from the fresh Node project: the package resolves from its node_modules, as in an application.
import { readFileSync } from 'node:fs';
import * as pkg from 'livekit-shutdown-rpc';
import { smoke } from './smoke.mjs';

const result = await smoke(pkg, JSON.parse(readFileSync('./v1.json', 'utf8')));
console.log(JSON.stringify(result));
