/** Per-caller limit on refused attempts: a token bucket per caller identity, in a bounded LRU (agent_side/_rate_limit.py). */

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** Callers who keep getting refused are refused without being looked at, until their bucket refills. */
export class FailureLimiter {
  readonly #buckets = new Map<string, Bucket>(); // insertion order = least recently seen first

  constructor(
    private readonly burst: number,
    private readonly refillPerS: number,
    private readonly maxCallers: number,
    private readonly monotonicMs: () => number = () => performance.now(),
  ) {}

  /** Whether `caller` still has a refusal left (checked before any work on its request). */
  allows(caller: string): boolean {
    const bucket = this.#refilled(caller);
    return bucket === undefined || bucket.tokens >= 1;
  }

  /** Spend one token of `caller`'s bucket. */
  recordFailure(caller: string): void {
    let bucket = this.#refilled(caller);
    if (bucket === undefined) {
      bucket = { tokens: this.burst, updatedMs: this.monotonicMs() };
      this.#buckets.set(caller, bucket);
      while (this.#buckets.size > this.maxCallers) this.#buckets.delete(this.#buckets.keys().next().value as string);
    }
    bucket.tokens = Math.max(0, bucket.tokens - 1);
  }

  #refilled(caller: string): Bucket | undefined {
    const bucket = this.#buckets.get(caller);
    if (bucket === undefined) return undefined;
    this.#buckets.delete(caller);
    this.#buckets.set(caller, bucket);
    const now = this.monotonicMs();
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.updatedMs) / 1000) * this.refillPerS);
    bucket.updatedMs = now;
    return bucket;
  }
}
