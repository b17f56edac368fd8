// What an installed livekit-shutdown-rpc must do wherever it runs (Node ESM, Node CommonJS, a browser page):
// rebuild every buildable case of the shared vectors byte for byte (msgpack encoding, HMAC-SHA256 and Ed25519
// over WebCrypto). Plain ESM, no bundler: the caller passes the imported main entry and /wire entry.
export async function smoke(pkg, wire, vectors) {
  const keys = new Map();
  for (const k of vectors.keys) {
    keys.set(
      k.key_id,
      k.algorithm === 'hmac-sha256'
        ? new pkg.HmacSha256Key(k.key_id, wire.hexToBytes(k.secret_hex))
        : await pkg.Ed25519SigningKey.fromSeed(k.key_id, wire.hexToBytes(k.seed_hex), wire.hexToBytes(k.public_hex)),
    );
  }
  const failures = [];
  let checked = 0;
  for (const c of vectors.cases.filter((x) => x.build)) {
    const key = c.build.key_id === null ? undefined : keys.get(c.build.key_id);
    const payload = await pkg.signRequest(wire.fromWire(c.build.request), key);
    if (payload !== c.payload) failures.push(`${c.name}: payload differs`);
    checked += 1;
  }
  return { checked, failures };
}

/** Runtime names of each entry that differ from the pinned list (test/exports.json): [] when all match. */
export function exportDifferences(pinned, entries) {
  const out = [];
  for (const [entry, mod] of Object.entries(entries)) {
    const got = Object.keys(mod).filter((n) => n !== 'default' && n !== '__esModule').sort();
    const want = [...pinned[entry]].sort();
    if (got.join() !== want.join()) out.push(`${entry}: exports ${got.join(', ')}; pinned ${want.join(', ')}`);
  }
  return out;
}
