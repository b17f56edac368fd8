// What an installed livekit-shutdown-rpc must do wherever it runs (Node or a browser page): rebuild every
// buildable case of the shared vectors byte for byte (msgpack encoding, HMAC-SHA256 and Ed25519 over
// WebCrypto). Plain ESM, no bundler: the caller passes the imported package.
export async function smoke(pkg, vectors) {
  const keys = new Map();
  for (const k of vectors.keys) {
    keys.set(
      k.key_id,
      k.algorithm === 'hmac-sha256'
        ? new pkg.HmacSha256Key(k.key_id, pkg.hexToBytes(k.secret_hex))
        : await pkg.Ed25519SigningKey.fromSeed(k.key_id, pkg.hexToBytes(k.seed_hex), pkg.hexToBytes(k.public_hex)),
    );
  }
  const failures = [];
  let checked = 0;
  for (const c of vectors.cases.filter((x) => x.build)) {
    const key = c.build.key_id === null ? null : keys.get(c.build.key_id);
    const payload = await pkg.signRequest(pkg.fromWire(c.build.request), key);
    if (payload !== c.payload) failures.push(`${c.name}: payload differs`);
    checked += 1;
  }
  return { checked, failures };
}
