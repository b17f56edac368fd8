/**
 * Byte helpers: strict canonical base64 (spec.md §2), base64url, UTF-8 lengths. No Node-only APIs.
 */

const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const STD_INDEX = new Int16Array(128).fill(-1);
for (let i = 0; i < 64; i++) STD_INDEX[STD.charCodeAt(i)] = i;

function encode(bytes: Uint8Array, alphabet: string, pad: boolean): string {
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += alphabet[(n >> 18) & 63]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += alphabet[(n >> 18) & 63]! + alphabet[(n >> 12) & 63]! + (pad ? '==' : '');
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += alphabet[(n >> 18) & 63]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + (pad ? '=' : '');
  }
  return out;
}

/** RFC 4648 §4 standard alphabet with padding. */
export function base64Encode(bytes: Uint8Array): string {
  return encode(bytes, STD, true);
}

/** RFC 4648 §5 URL-safe alphabet without padding. */
export function base64UrlEncode(bytes: Uint8Array): string {
  return encode(bytes, URL, false);
}

/**
 * Strict canonical standard base64 (spec.md §2): standard alphabet, `=` padding to a multiple of 4, no white
 * space, and the unused bits of the last character zero. Returns undefined for anything else.
 */
export function base64DecodeStrict(s: string): Uint8Array | undefined {
  const len = s.length;
  if (len % 4 !== 0) return undefined;
  let padding = 0;
  if (len > 0 && s.charCodeAt(len - 1) === 61) padding = s.charCodeAt(len - 2) === 61 ? 2 : 1;
  const dataChars = len - padding;
  const out = new Uint8Array((len / 4) * 3 - padding);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < dataChars; i++) {
    const c = s.charCodeAt(i);
    const v = c < 128 ? STD_INDEX[c]! : -1;
    if (v < 0) return undefined; // includes '=' in the middle, white space, non-ASCII, url-safe chars
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
    }
  }
  // canonical: the bits left over (2 with one '=', 4 with '==') must be zero
  if (bits > 0 && (acc & ((1 << bits) - 1)) !== 0) return undefined;
  if (o !== out.length) return undefined;
  return out;
}

/**
 * UTF-8 byte length of a JS string. A lone UTF-16 surrogate counts 3 bytes (what TextEncoder writes for it:
 * U+FFFD).
 */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

export function utf8Encode(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new Error('invalid hex');
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function bytesToHex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/**
 * A copy in a fresh ArrayBuffer: WebCrypto's TypeScript types want `BufferSource` backed by a plain
 * ArrayBuffer, and a copy also guards keys against later mutation by the caller.
 */
export function toArrayBuffer(b: Uint8Array): ArrayBuffer {
  const ab = new ArrayBuffer(b.length);
  new Uint8Array(ab).set(b);
  return ab;
}
