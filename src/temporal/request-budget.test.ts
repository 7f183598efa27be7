import { describe, expect, it } from 'vitest';
import { RequestPacer } from '../kubesphere/pacer.js';
import { countWorkers } from './request-budget.js';

describe("a worker's share of the KubeSphere request budget", () => {
  const now = 1_000_000_000;
  const at = (ms: number) => ({ seconds: Math.floor(ms / 1000) });

  it('counts distinct workers polling lately, itself included, never fewer than one', () => {
    expect(countWorkers([], now)).toBe(1);
    expect(countWorkers([], now, 'me@host')).toBe(1);
    const pollers = [
      { identity: 'a@host', lastAccessTime: at(now - 1_000) },
      { identity: 'a@host', lastAccessTime: at(now - 2_000) },
      { identity: 'b@host', lastAccessTime: at(now - 30_000) },
      { identity: 'gone@host', lastAccessTime: at(now - 600_000) },
    ];
    expect(countWorkers(pollers, now)).toBe(2);
    expect(countWorkers(pollers, now, 'me@host')).toBe(3);
    expect(countWorkers(pollers, now, 'a@host')).toBe(2);
  });

  it('a pacer takes a new rate, keeping no more saved turns than the new rate allows', () => {
    const clock = 0;
    const pacer = new RequestPacer(100, () => clock);
    pacer.rate = 10;
    expect(pacer.rate).toBe(10);
    const waits = Array.from({ length: 11 }, () => pacer.reserve());
    expect(waits.filter((w) => w === 0)).toHaveLength(10);
    expect(() => (pacer.rate = 0)).toThrow(/above 0/);
  });
});
