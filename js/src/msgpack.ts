/**
 * msgpack for the protocol (spec.md §3).
 *
 * Encoding goes through @msgpack/msgpack, which writes the shortest form of every integer, str, bin, array
 * and map header and keeps map keys in insertion order: exactly what §3 asks of producers.
 *
 * Decoding is a small strict reader of our own rather than @msgpack/msgpack's `decode`, because the verifier
 * needs things that decoder does not give: it must refuse duplicate map keys and non-str keys (the library
 * keeps the last duplicate and accepts any key), refuse every ext type (the library decodes the timestamp
 * extension -1 into a Date), refuse more than 16 items, and it must tell an integer from a float (the
 * library turns the float 1800000000.0 into the same JS number as the int 1800000000, but a float
 * `issued_at` is INVALID_REQUEST). Maps decode into `Map` so key order and types stay visible.
 */
import { encode as msgpackEncode } from '@msgpack/msgpack';

import { MAX_CONTAINER_ITEMS, MAX_NESTING_DEPTH } from './codes.js';

/** A msgpack float32/float64 (kept apart from integers: v1 has no float field). */
export class MsgpackFloat {
  constructor(readonly value: number) {}
}

export type MsgpackValue =
  | null
  | boolean
  | number // integers within Number.MAX_SAFE_INTEGER
  | bigint // integers outside it (int64/uint64 encodings)
  | string
  | Uint8Array
  | MsgpackFloat
  | MsgpackValue[]
  | Map<string, MsgpackValue>;

export class StrictMsgpackError extends Error {
  override name = 'StrictMsgpackError';
}


const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

class Reader {
  pos = 0;
  depth = 0;
  private readonly view: DataView;
  constructor(private readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number): void {
    if (n < 0 || this.pos + n > this.buf.length) throw new StrictMsgpackError('truncated msgpack value');
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.slice(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  get remaining(): number {
    return this.buf.length - this.pos;
  }
  int(size: 1 | 2 | 4 | 8, signed: boolean): number | bigint {
    this.need(size);
    const p = this.pos;
    this.pos += size;
    const v = this.view;
    switch (size) {
      case 1:
        return signed ? v.getInt8(p) : v.getUint8(p);
      case 2:
        return signed ? v.getInt16(p) : v.getUint16(p);
      case 4:
        return signed ? v.getInt32(p) : v.getUint32(p);
      case 8: {
        const b = signed ? v.getBigInt64(p) : v.getBigUint64(p);
        return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
      }
    }
  }
}

function readStr(r: Reader, n: number): string {
  const b = r.bytes(n);
  try {
    return utf8Decoder.decode(b);
  } catch {
    throw new StrictMsgpackError('str is not valid UTF-8');
  }
}

function enter(r: Reader): void {
  if (++r.depth > MAX_NESTING_DEPTH) throw new StrictMsgpackError(`nested deeper than ${MAX_NESTING_DEPTH}`);
}

function readArray(r: Reader, n: number): MsgpackValue[] {
  if (n > MAX_CONTAINER_ITEMS) throw new StrictMsgpackError(`array of ${n} items (max ${MAX_CONTAINER_ITEMS})`);
  enter(r);
  const out: MsgpackValue[] = [];
  for (let i = 0; i < n; i++) out.push(readValue(r));
  r.depth--;
  return out;
}

function readMap(r: Reader, n: number): Map<string, MsgpackValue> {
  if (n > MAX_CONTAINER_ITEMS) throw new StrictMsgpackError(`map of ${n} entries (max ${MAX_CONTAINER_ITEMS})`);
  enter(r);
  const out = new Map<string, MsgpackValue>();
  for (let i = 0; i < n; i++) {
    const k = readValue(r);
    if (typeof k !== 'string') throw new StrictMsgpackError('map key is not a str');
    if (out.has(k)) throw new StrictMsgpackError('duplicate map key');
    out.set(k, readValue(r));
  }
  r.depth--;
  return out;
}

function readValue(r: Reader): MsgpackValue {
  const t = r.u8();
  if (t <= 0x7f) return t; // positive fixint
  if (t >= 0xe0) return t - 0x100; // negative fixint
  if (t >= 0x80 && t <= 0x8f) return readMap(r, t & 0x0f);
  if (t >= 0x90 && t <= 0x9f) return readArray(r, t & 0x0f);
  if (t >= 0xa0 && t <= 0xbf) return readStr(r, t & 0x1f);
  switch (t) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return r.bytes(r.u8());
    case 0xc5:
      return r.bytes(r.u16());
    case 0xc6:
      return r.bytes(r.u32());
    case 0xc7: // ext 8
    case 0xc8: // ext 16
    case 0xc9: // ext 32
    case 0xd4: // fixext 1
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
      throw new StrictMsgpackError('ext types are not allowed');
    case 0xca: {
      const f = new DataView(r.bytes(4).buffer).getFloat32(0);
      return new MsgpackFloat(f);
    }
    case 0xcb: {
      const f = new DataView(r.bytes(8).buffer).getFloat64(0);
      return new MsgpackFloat(f);
    }
    case 0xcc:
      return r.int(1, false);
    case 0xcd:
      return r.int(2, false);
    case 0xce:
      return r.int(4, false);
    case 0xcf:
      return r.int(8, false);
    case 0xd0:
      return r.int(1, true);
    case 0xd1:
      return r.int(2, true);
    case 0xd2:
      return r.int(4, true);
    case 0xd3:
      return r.int(8, true);
    case 0xd9:
      return readStr(r, r.u8());
    case 0xda:
      return readStr(r, r.u16());
    case 0xdb:
      return readStr(r, r.u32());
    case 0xdc:
      return readArray(r, r.u16());
    case 0xdd:
      return readArray(r, r.u32());
    case 0xde:
      return readMap(r, r.u16());
    case 0xdf:
      return readMap(r, r.u32());
    default: // 0xc1: never used
      throw new StrictMsgpackError(`invalid msgpack type byte 0x${t.toString(16)}`);
  }
}

/**
 * Decode exactly one strict msgpack value (spec.md §3); throws StrictMsgpackError for anything else, including
 * nesting deeper than MAX_NESTING_DEPTH.
 */
export function decodeStrict(bytes: Uint8Array): MsgpackValue {
  const r = new Reader(bytes);
  const v = readValue(r);
  if (r.remaining !== 0) throw new StrictMsgpackError('trailing bytes after the msgpack value');
  return v;
}

/** Encode with @msgpack/msgpack (shortest forms, insertion-ordered maps, Uint8Array as bin). */
export function encodeMsgpack(value: unknown): Uint8Array {
  return msgpackEncode(value, { ignoreUndefined: false, forceIntegerToFloat: false });
}

/** True for a decoded msgpack integer (not a bool, not a float). */
export function isMsgpackInt(v: MsgpackValue | undefined): v is number | bigint {
  return (typeof v === 'number' && Number.isInteger(v)) || typeof v === 'bigint';
}
