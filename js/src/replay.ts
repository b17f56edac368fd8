/**
 * The §7.1 replay memory: request ids that were accepted, or are being decided right now, each with the bytes
 * that were signed and the acknowledgement given. Bounded (DEFAULT_REPLAY_CAPACITY); when it is full of live entries
 * it refuses (RATE_LIMITED) and never evicts a live one. A request that ends up refused is released, so it is
 * never remembered.
 */
import { ShutdownRpcError, type Acknowledgement } from './ack.js';
import { bytesEqual } from './bytes.js';
import { DEFAULT_REPLAY_CAPACITY } from './codes.js';

/** What the memory holds for one request id. */
export interface ReplayEntry {
  /** version, key id and body as signed (§7.1 "same key id and body bytes"). */
  readonly signedBytes: Uint8Array;
  readonly forgetAtMs: number;
  /** The first answer: resolves once the request is accepted, rejects with the refusal if it was released. */
  readonly answer: Promise<Acknowledgement>;
}

/** A request id held while the agent decides; exactly one of commit or release ends it. */
export class Reservation {
  #open = true;

  constructor(
    private readonly onCommit: (ack: Acknowledgement) => void,
    private readonly onRelease: (error: ShutdownRpcError) => void,
  ) {}

  /** Remember `ack` as the answer to this request and to every repeat of it. */
  commit(ack: Acknowledgement): void {
    this.#close();
    this.onCommit(ack);
  }

  /** The request was refused: forget it; copies that waited on it get `error` too. */
  release(error: ShutdownRpcError): void {
    this.#close();
    this.onRelease(error);
  }

  #close(): void {
    if (!this.#open) throw new Error('reservation already committed or released');
    this.#open = false;
  }
}

export class ReplayCache {
  readonly #entries = new Map<string, ReplayEntry>();

  constructor(readonly capacity: number = DEFAULT_REPLAY_CAPACITY) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
  }

  /** Entries held, live or not yet purged. */
  get size(): number {
    return this.#entries.size;
  }

  /** The live entry for `requestId`, if any. */
  lookup(requestId: string, nowMs: number): ReplayEntry | undefined {
    const entry = this.#entries.get(requestId);
    if (entry === undefined || entry.forgetAtMs > nowMs) return entry;
    this.#entries.delete(requestId);
    return undefined;
  }

  /**
   * Hold `requestId` until the agent commits an answer or releases it. If a copy of the same request got there
   * first (it passed step 11 at the same time), that copy's entry is returned instead: a repeat, not a second
   * decision. RATE_LIMITED when the memory is full of live entries; REQUEST_ID_CONFLICT when the id is held for
   * other content.
   */
  reserve(requestId: string, signedBytes: Uint8Array, forgetAtMs: number, nowMs: number): Reservation | ReplayEntry {
    const held = this.lookup(requestId, nowMs);
    if (held !== undefined) {
      if (bytesEqual(held.signedBytes, signedBytes)) return held;
      throw new ShutdownRpcError('REQUEST_ID_CONFLICT', 'request id used before for another request');
    }
    if (this.#entries.size >= this.capacity) this.#purge(nowMs);
    if (this.#entries.size >= this.capacity) throw new ShutdownRpcError('RATE_LIMITED', 'replay memory full');
    let resolve!: (ack: Acknowledgement) => void;
    let reject!: (error: ShutdownRpcError) => void;
    const answer = new Promise<Acknowledgement>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    answer.catch(() => undefined); // a refusal nobody waited for is not an unhandled rejection
    const entry: ReplayEntry = { signedBytes, forgetAtMs, answer };
    this.#entries.set(requestId, entry);
    return new Reservation(resolve, (error) => {
      if (this.#entries.get(requestId) === entry) this.#entries.delete(requestId);
      reject(error);
    });
  }

  // Only when full: lookups drop their own stale entry, so the common path never walks the map.
  #purge(nowMs: number): void {
    for (const [id, entry] of this.#entries) if (entry.forgetAtMs <= nowMs) this.#entries.delete(id);
  }
}
