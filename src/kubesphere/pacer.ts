import { setTimeout as delay } from 'node:timers/promises';

/**
 * Keeps one process's requests to KubeSphere under a rate: a token bucket holding one second's worth, so a quiet
 * spell allows a short burst and a busy one queues requests in the order they asked. Waiting is cheap (a timer),
 * and a cancelled wait (its activity cancelled) gives its turn back.
 */
export class RequestPacer {
  private tokens: number;
  private last: number;

  constructor(
    private perSecond: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    checkRate(perSecond);
    this.tokens = perSecond;
    this.last = now();
  }

  /** The rate now (a worker's share of its deployment's, as the number of workers changes). */
  get rate(): number {
    return this.perSecond;
  }

  set rate(perSecond: number) {
    checkRate(perSecond);
    this.tokens = Math.min(this.tokens, perSecond);
    this.perSecond = perSecond;
  }

  /** Takes the next turn: how long its request must wait (ms, 0 for at once). */
  reserve(): number {
    const now = this.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) / 1000) * this.perSecond);
    this.last = now;
    // Below zero: the requests queued before this one. Each waits until its own token has been refilled.
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.perSecond) * 1000;
  }

  /** Gives back a turn that was not used (its wait was cancelled). */
  release(): void {
    this.tokens += 1;
  }

  /** Resolves when this request may be sent; rejects with the signal's reason if it is cancelled first. */
  async take(signal?: AbortSignal): Promise<void> {
    const waitMs = this.reserve();
    if (waitMs === 0) return;
    try {
      await delay(waitMs, undefined, signal ? { signal } : undefined);
    } catch (error) {
      this.release();
      throw signal?.aborted ? signal.reason : error;
    }
  }
}

function checkRate(perSecond: number): void {
  if (!(perSecond > 0)) throw new RangeError(`requests per second must be above 0, not ${perSecond}`);
}
