// The same as node.mjs from a CommonJS module: require() of every entry (the `require` condition, dist/cjs/).
const { readFileSync } = require('node:fs');
const pkg = require('livekit-shutdown-rpc');
const agent = require('livekit-shutdown-rpc/agent');
const wire = require('livekit-shutdown-rpc/wire');

async function main() {
  const { exportDifferences, smoke } = await import('./smoke.mjs');
  const pinned = JSON.parse(readFileSync('./exports.json', 'utf8'));
  const result = await smoke(pkg, wire, JSON.parse(readFileSync('./v1.json', 'utf8')));
  result.failures.push(...exportDifferences(pinned, { 'livekit-shutdown-rpc': pkg, 'livekit-shutdown-rpc/wire': wire, 'livekit-shutdown-rpc/agent': agent }));
  if (!require.resolve('livekit-shutdown-rpc').includes('/dist/cjs/')) result.failures.push('require() did not resolve to dist/cjs/');
  console.log(JSON.stringify(result));
}

main().catch((e) => {
  console.log(JSON.stringify({ checked: 0, failures: [String(e)] }));
});
