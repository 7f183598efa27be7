import { NativeConnection } from '@temporalio/worker';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestPacer } from '../../src/kubesphere/pacer.js';
import { shareRequestBudget } from '../../src/temporal/request-budget.js';
import { startEmulator, type EmulatorHarness } from '../helpers/emulator.js';
import { temporalHarness, type TemporalHarness } from '../helpers/temporal.js';

let t: TemporalHarness;
let h: EmulatorHarness;
beforeAll(async () => {
  t = await temporalHarness();
  h = await startEmulator();
});
afterAll(async () => {
  await h.close();
  await t.close();
});

describe('the KubeSphere request budget, shared by the workers of a task queue', () => {
  it("each worker takes the budget divided by the workers Temporal sees polling: adding one halves each one's rate", async () => {
    const taskQueue = t.taskQueue();
    const running = await t.worker(taskQueue, h.emulator.url);
    const connection = await NativeConnection.connect({ address: t.address });
    try {
      await running.runUntil(async () => {
        const pacer = new RequestPacer(60);
        const options = {
          connection,
          namespace: 'default',
          taskQueue,
          budget: 60,
          pacer,
          log: pino({ level: 'silent' }),
        };
        // Alone on its own task queue, a second worker-to-be counts only itself.
        const alone = await shareRequestBudget({
          ...options,
          taskQueue: `${taskQueue}-empty`,
          identity: 'second@test',
        });
        alone.stop();
        expect(alone.workers).toBe(1);
        expect(pacer.rate).toBe(60);
        // Beside the running worker (seen polling once it has polled), it takes half.
        let shared = await shareRequestBudget({ ...options, identity: 'second@test' });
        for (let tries = 0; shared.workers < 2 && tries < 50; tries++) {
          shared.stop();
          await new Promise((resolve) => setTimeout(resolve, 100));
          shared = await shareRequestBudget({ ...options, identity: 'second@test' });
        }
        shared.stop();
        expect(shared.workers).toBe(2);
        expect(pacer.rate).toBe(30);
      });
    } finally {
      await connection.close();
    }
  });
});
