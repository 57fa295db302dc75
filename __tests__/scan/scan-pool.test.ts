import { describe, expect, test } from 'vitest';
import { scanAll } from '../../src/scan/scan-pool.js';

// A counting pool check: workers release only when the test says so, so "at most N at once" is observed as a count.
function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

describe('scanAll', () => {
  test.each([1, 3, 8])('never more than %i at once, and all run', async (parallel) => {
    let running = 0;
    let peak = 0;
    const items = Array.from({ length: 10 }, (_, i) => i);
    const results = await scanAll(items, parallel, async (i) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      running--;
      return i * 2;
    });
    expect(peak).toBe(Math.min(parallel, items.length));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : NaN))).toEqual(items.map((i) => i * 2));
  });

  test('a failing worker does not stop the others; each outcome reported once via onDone', async () => {
    const done: number[] = [];
    const results = await scanAll(
      ['a', 'boom', 'c', 'd'],
      2,
      async (x) => {
        await Promise.resolve();
        if (x === 'boom') throw new Error('pull denied');
        return x.toUpperCase();
      },
      (s) => done.push(s.index),
    );
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const failed = results[1];
    expect(failed.status === 'rejected' && (failed.reason as Error).message).toBe('pull denied');
    expect([...done].sort()).toEqual([0, 1, 2, 3]);
  });

  test('a slot frees as soon as one worker ends (no batching)', async () => {
    const gates = [gate(), gate(), gate()];
    const started: number[] = [];
    const all = scanAll([0, 1, 2], 2, async (i) => {
      started.push(i);
      await gates[i].p;
      return i;
    });
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1]);
    gates[1].open();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual([0, 1, 2]); // 2 started while 0 is still running
    gates[0].open();
    gates[2].open();
    await all;
  });

  test('parallel below 1 is treated as 1', async () => {
    let running = 0;
    let peak = 0;
    await scanAll([1, 2, 3], 0, async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setImmediate(r));
      running--;
    });
    expect(peak).toBe(1);
  });
});
