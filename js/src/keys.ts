/**
 * Keys (spec.md §5, §12) on WebCrypto `crypto.subtle` only, so the same code runs in browsers and Node >= 20.
 *
 * A key binds one key id to one algorithm: the message never chooses it. HMAC tags are checked with
 * `crypto.subtle.verify` (the platform's constant-time comparison), never by comparing bytes ourselves.
 */
import { base64DecodeStrict, base64Encode, bytesEqual, concatBytes, toArrayBuffer } from './bytes.js';
import { ED25519_KEY_BYTES, ED25519_SIGNATURE_BYTES, HMAC_TAG_BYTES, MAX_KEY_ID_BYTES, MIN_HMAC_SECRET_BYTES } from './codes.js';

export type Algorithm = 'hmac-sha256' | 'ed25519';

export const KEY_ID_PATTERN = new RegExp(`^[A-Za-z0-9._-]{1,${MAX_KEY_ID_BYTES}}$`);

export const SIGNATURE_LENGTH: Readonly<Record<Algorithm, number>> = { 'hmac-sha256': HMAC_TAG_BYTES, ed25519: ED25519_SIGNATURE_BYTES };

export class KeyError extends Error {
  override name = 'KeyError';
}

function subtle(): SubtleCrypto {
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (!c?.subtle) throw new KeyError('WebCrypto (globalThis.crypto.subtle) is not available (a secure context is required in browsers)');
  return c.subtle;
}

function checkKeyId(keyId: string): void {
  if (typeof keyId !== 'string' || !KEY_ID_PATTERN.test(keyId)) {
    throw new KeyError(`key id must be 1-${MAX_KEY_ID_BYTES} characters of [A-Za-z0-9._-]`);
  }
}

/** What a producer signs with. */
export interface SigningKey {
  readonly keyId: string;
  readonly algorithm: Algorithm;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** What a verifier's key ring holds. */
export interface VerifyingKey {
  readonly keyId: string;
  readonly algorithm: Algorithm;
  /** Length of the signatures this key's algorithm produces. */
  readonly signatureLength: number;
  verify(message: Uint8Array, signature: Uint8Array): Promise<boolean>;
}

/** A shared HMAC-SHA256 secret (>= 32 bytes): signs and verifies. */
export class HmacSha256Key implements SigningKey, VerifyingKey {
  readonly algorithm = 'hmac-sha256' as const;
  readonly signatureLength = HMAC_TAG_BYTES;
  readonly #secret: ArrayBuffer;
  #key: Promise<CryptoKey> | undefined;

  constructor(readonly keyId: string, secret: Uint8Array) {
    checkKeyId(keyId);
    if (!(secret instanceof Uint8Array) || secret.length < MIN_HMAC_SECRET_BYTES) {
      throw new KeyError(`an hmac-sha256 secret must be at least ${MIN_HMAC_SECRET_BYTES} bytes`);
    }
    this.#secret = toArrayBuffer(secret);
  }

  #cryptoKey(): Promise<CryptoKey> {
    this.#key ??= subtle().importKey('raw', this.#secret, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    return this.#key;
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(await subtle().sign('HMAC', await this.#cryptoKey(), toArrayBuffer(message)));
  }

  async verify(message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (signature.length !== this.signatureLength) return false;
    return subtle().verify('HMAC', await this.#cryptoKey(), toArrayBuffer(signature), toArrayBuffer(message));
  }

  /** The §12 key file object (contains the secret: store it mode 0600). */
  toKeyFile(): { key_id: string; algorithm: 'hmac-sha256'; secret: string } {
    return { key_id: this.keyId, algorithm: this.algorithm, secret: base64Encode(new Uint8Array(this.#secret)) };
  }

  toString(): string {
    return `HmacSha256Key(${this.keyId})`; // never the secret
  }
}

/** An Ed25519 public key: what an agent holds for an Ed25519 issuer. Verifies only. */
export class Ed25519VerifyingKey implements VerifyingKey {
  readonly algorithm = 'ed25519' as const;
  readonly signatureLength = ED25519_SIGNATURE_BYTES;
  readonly publicKey: Uint8Array;
  #key: Promise<CryptoKey> | undefined;

  constructor(readonly keyId: string, publicKey: Uint8Array) {
    checkKeyId(keyId);
    if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_KEY_BYTES) throw new KeyError(`an Ed25519 public key is ${ED25519_KEY_BYTES} bytes`);
    this.publicKey = publicKey.slice();
  }

  #cryptoKey(): Promise<CryptoKey> {
    this.#key ??= subtle().importKey('raw', toArrayBuffer(this.publicKey), { name: 'Ed25519' }, false, ['verify']);
    return this.#key;
  }

  async verify(message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    if (signature.length !== this.signatureLength) return false;
    try {
      return await subtle().verify({ name: 'Ed25519' }, await this.#cryptoKey(), toArrayBuffer(signature), toArrayBuffer(message));
    } catch {
      return false; // e.g. a public key that is not a valid curve point
    }
  }

  toKeyFile(): { key_id: string; algorithm: 'ed25519'; public_key: string } {
    return { key_id: this.keyId, algorithm: this.algorithm, public_key: base64Encode(this.publicKey) };
  }

  toString(): string {
    return `Ed25519VerifyingKey(${this.keyId})`;
  }
}

// PKCS#8 PrivateKeyInfo for Ed25519 (RFC 8410) is this fixed prefix followed by the 32-byte seed.
const ED25519_PKCS8_PREFIX = new Uint8Array([
  0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
]);

function base64UrlDecode(s: string): Uint8Array {
  const std = s.replace(/-/g, '+').replace(/_/g, '/');
  const padded = std + '='.repeat((4 - (std.length % 4)) % 4);
  const out = base64DecodeStrict(padded);
  if (!out) throw new KeyError('invalid base64url in JWK');
  return out;
}

/** An Ed25519 private key (32-byte RFC 8032 seed) with its public key: signs, and verifies. */
export class Ed25519SigningKey implements SigningKey, VerifyingKey {
  readonly algorithm = 'ed25519' as const;
  readonly signatureLength = ED25519_SIGNATURE_BYTES;

  private constructor(
    readonly keyId: string,
    private readonly privateKey: CryptoKey,
    readonly publicKey: Uint8Array,
    private readonly seed: Uint8Array,
  ) {}

  /** Import a 32-byte seed; `expectedPublicKey`, when given, must match the seed's public key. */
  static async fromSeed(keyId: string, seed: Uint8Array, expectedPublicKey?: Uint8Array): Promise<Ed25519SigningKey> {
    checkKeyId(keyId);
    if (!(seed instanceof Uint8Array) || seed.length !== ED25519_KEY_BYTES) throw new KeyError(`an Ed25519 seed is ${ED25519_KEY_BYTES} bytes`);
    const pkcs8 = concatBytes(ED25519_PKCS8_PREFIX, seed);
    const key = await subtle().importKey('pkcs8', toArrayBuffer(pkcs8), { name: 'Ed25519' }, true, ['sign']);
    const jwk = await subtle().exportKey('jwk', key);
    if (typeof jwk.x !== 'string') throw new KeyError('cannot derive the Ed25519 public key');
    const publicKey = base64UrlDecode(jwk.x);
    if (expectedPublicKey && !bytesEqual(expectedPublicKey, publicKey)) {
      throw new KeyError('the Ed25519 public key does not match the private key');
    }
    // re-import non-extractable for signing
    const signing = await subtle().importKey('pkcs8', toArrayBuffer(pkcs8), { name: 'Ed25519' }, false, ['sign']);
    return new Ed25519SigningKey(keyId, signing, publicKey, seed.slice());
  }

  /** A fresh random key (crypto.getRandomValues seed). */
  static async generate(keyId: string): Promise<Ed25519SigningKey> {
    const seed = new Uint8Array(ED25519_KEY_BYTES);
    globalThis.crypto.getRandomValues(seed);
    return Ed25519SigningKey.fromSeed(keyId, seed);
  }

  async sign(message: Uint8Array): Promise<Uint8Array> {
    return new Uint8Array(await subtle().sign({ name: 'Ed25519' }, this.privateKey, toArrayBuffer(message)));
  }

  verify(message: Uint8Array, signature: Uint8Array): Promise<boolean> {
    return this.verifyingKey().verify(message, signature);
  }

  verifyingKey(): Ed25519VerifyingKey {
    return new Ed25519VerifyingKey(this.keyId, this.publicKey);
  }

  toKeyFile(): { key_id: string; algorithm: 'ed25519'; private_key: string; public_key: string } {
    return {
      key_id: this.keyId,
      algorithm: this.algorithm,
      private_key: base64Encode(this.seed),
      public_key: base64Encode(this.publicKey),
    };
  }

  toString(): string {
    return `Ed25519SigningKey(${this.keyId})`;
  }
}

export type AnyKey = HmacSha256Key | Ed25519SigningKey | Ed25519VerifyingKey;

function b64Field(obj: Record<string, unknown>, field: string): Uint8Array {
  const v = obj[field];
  if (typeof v !== 'string') throw new KeyError(`key file: "${field}" must be a base64 string`);
  const b = base64DecodeStrict(v);
  if (!b) throw new KeyError(`key file: "${field}" is not canonical standard base64`);
  return b;
}

/** Parse a §12 key file (a JSON text or an already parsed object). */
export async function parseKeyFile(input: string | Record<string, unknown>): Promise<AnyKey> {
  const obj = typeof input === 'string' ? (JSON.parse(input) as unknown) : input;
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new KeyError('key file: not a JSON object');
  const o = obj as Record<string, unknown>;
  const keyId = o['key_id'];
  if (typeof keyId !== 'string') throw new KeyError('key file: "key_id" must be a string');
  switch (o['algorithm']) {
    case 'hmac-sha256':
      return new HmacSha256Key(keyId, b64Field(o, 'secret'));
    case 'ed25519': {
      const pub = 'public_key' in o ? b64Field(o, 'public_key') : undefined;
      if ('private_key' in o) return Ed25519SigningKey.fromSeed(keyId, b64Field(o, 'private_key'), pub);
      if (!pub) throw new KeyError('key file: an ed25519 key needs "public_key" and/or "private_key"');
      return new Ed25519VerifyingKey(keyId, pub);
    }
    default:
      throw new KeyError('key file: "algorithm" must be "hmac-sha256" or "ed25519"');
  }
}

/**
 * The §12 key file text for `key`, as the Python `dump_key_file` writes it (2-space JSON and a newline). It holds
 * the secret of an HMAC key and the private half of an Ed25519 signing key: store it mode 0600.
 */
export function dumpKeyFile(key: AnyKey): string {
  return JSON.stringify(key.toKeyFile(), null, 2) + '\n';
}

/** A verifier's key ring: key id -> exactly one algorithm and key (§5). */
export class KeyRing {
  readonly #keys = new Map<string, VerifyingKey>();

  constructor(keys: Iterable<VerifyingKey> = []) {
    for (const k of keys) this.add(k);
  }

  add(key: VerifyingKey): this {
    if (this.#keys.has(key.keyId)) throw new KeyError(`duplicate key id ${key.keyId} in the key ring`);
    this.#keys.set(key.keyId, key);
    return this;
  }

  remove(keyId: string): boolean {
    return this.#keys.delete(keyId);
  }

  get(keyId: string): VerifyingKey | undefined {
    return this.#keys.get(keyId);
  }

  get keyIds(): string[] {
    return [...this.#keys.keys()];
  }
}

