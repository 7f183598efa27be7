import { describe, expect, it } from 'vitest';
import { RequestPacer } from './pacer.js';

describe('RequestPacer', () => {
  it('lets one second’s worth through at once, then spaces requests at the rate, in order', () => {
    let now = 0;
    const pacer = new RequestPacer(10, () => now);
    const waits = Array.from({ length: 13 }, () => pacer.reserve());
    expect(waits.slice(0, 10)).toEqual(Array(10).fill(0));
    expect(waits.slice(10).map(Math.round)).toEqual([100, 200, 300]);
    // A second later, three turns were taken by the queue: seven are free.
    now = 1000;
    expect(Array.from({ length: 8 }, () => Math.round(pacer.reserve()))).toEqual([0, 0, 0, 0, 0, 0, 0, 100]);
  });

  it('never saves up more than one second of turns', () => {
    let now = 0;
    const pacer = new RequestPacer(5, () => now);
    now = 60_000;
    const waits = Array.from({ length: 6 }, () => pacer.reserve());
    expect(waits.filter((w) => w === 0)).toHaveLength(5);
    expect(Math.round(waits[5]!)).toBe(200);
  });

  it('a cancelled wait rejects with its reason and gives its turn back', async () => {
    const now = 0;
    const pacer = new RequestPacer(1, () => now);
    await pacer.take(); // the one free turn
    const controller = new AbortController();
    const waiting = pacer.take(controller.signal);
    controller.abort(new Error('activity cancelled'));
    await expect(waiting).rejects.toThrow('activity cancelled');
    // The next caller waits one turn, not two.
    expect(Math.round(pacer.reserve())).toBe(1000);
  });

  it('refuses a rate that is not above zero', () => {
    expect(() => new RequestPacer(0)).toThrow(/above 0/);
  });
});
