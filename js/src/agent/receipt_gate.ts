/**
 * The callers' receipts (spec §8, §11; agent_side/_receipt_gate.py): how many answers carried the accepted
 * acknowledgement's receipt token, and whether as many receipts carrying it arrived.
 *
 * Every answer handed back with the token (the accepted one, each `duplicate`) is a reply the agent's leave could
 * cut off, so one receipt is awaited per answer, not per caller: a PerformRpc caller gets a fresh identity per
 * call, and the same request may come from two callers. Once the wait is over (`wait`), answers and receipts
 * change nothing. Receipts without the token are counted (`unmatched`), never logged one by one.
 */
import type { Acknowledgement } from '../ack.js';
import { withTimeout } from './job_ender.js';

export class ReceiptGate {
  /** Receipts that did not carry the token (the public request id, a guess, anything before an acceptance). */
  unmatched = 0;
  readonly #isReceipt: (payload: string) => boolean;
  readonly #confirmed: Promise<void>;
  #confirm!: () => void;
  #answers = 0;
  #receipts = 0;
  #waiting = true;

  /** `isReceipt`: whether a payload is the accepted acknowledgement's token (constant-time, length bounded). */
  constructor(isReceipt: (payload: string) => boolean) {
    this.#isReceipt = isReceipt;
    this.#confirmed = new Promise((resolve) => (this.#confirm = resolve));
  }

  /** The handler handed back `ack`: one carrying the token awaits one more receipt (while the agent waits). */
  answered(ack: Acknowledgement): void {
    if (this.#waiting && ack.receiptToken !== undefined) this.#answers += 1;
  }

  /** One call of the receipt method: counts toward the wait's end with the token, as unmatched otherwise. */
  offer(payload: string): void {
    if (!this.#isReceipt(payload)) {
      this.unmatched += 1;
      return;
    }
    this.#receipts += 1;
    if (this.#waiting && this.#answers > 0 && this.#receipts >= this.#answers) this.#confirm();
  }

  /** Until every answer that carried the token has its receipt, at most `ms`; then stop counting. True if they all came. */
  async wait(ms: number): Promise<boolean> {
    try {
      await withTimeout(this.#confirmed, ms);
      return true;
    } catch {
      return false;
    } finally {
      this.#waiting = false;
    }
  }
}
