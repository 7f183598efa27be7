/** Fault injection for reliability tests: latency, 5xx answers, connection resets, lost responses. */
export interface FaultOptions {
  /** added to every KubeSphere API answer */
  latencyMs: number;
  /** share of requests answered 500 before anything is applied */
  failRate: number;
  /** share of requests whose connection is reset before anything is applied */
  resetRate: number;
  /** share of POST/PUT requests that are applied but whose answer is lost (the socket is destroyed) */
  dropResponseRate: number;
  /** seed of the fault dice, so a failing run can be replayed */
  seed: number;
  /** routes (`POST /kapis/iam.kubesphere.io/v1beta1/users`, as the request counters name them) that answer 500 every time: a partial outage */
  failingRoutes: string[];
}

export const NO_FAULTS: FaultOptions = {
  latencyMs: 0,
  failRate: 0,
  resetRate: 0,
  dropResponseRate: 0,
  seed: 1,
  failingRoutes: [],
};

export type Verdict = 'pass' | 'fail' | 'reset';

export class Faults {
  private options: FaultOptions;
  private random: () => number;

  constructor(options: Partial<FaultOptions> = {}) {
    this.options = { ...NO_FAULTS, ...options };
    this.random = mulberry32(this.options.seed);
  }

  set(options: Partial<FaultOptions>): void {
    this.options = { ...this.options, ...options };
    if (options.seed !== undefined) this.random = mulberry32(options.seed);
  }

  async delay(): Promise<void> {
    if (this.options.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, this.options.latencyMs));
  }

  before(route: string): Verdict {
    const { failRate, resetRate, failingRoutes } = this.options;
    if (failingRoutes.includes(route)) return 'fail';
    if (failRate + resetRate <= 0) return 'pass';
    const roll = this.random();
    if (roll < failRate) return 'fail';
    if (roll < failRate + resetRate) return 'reset';
    return 'pass';
  }

  dropAfterWrite(): boolean {
    return this.options.dropResponseRate > 0 && this.random() < this.options.dropResponseRate;
  }
}

/** Small, fast, seedable PRNG: fault sequences must be reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
