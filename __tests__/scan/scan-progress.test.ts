import { describe, expect, test } from 'vitest';
import { MemoryLogger } from '../../src/infra/logger.js';
import type { Timer } from '../../src/infra/timer.js';
import { elapsedText, scanProgress } from '../../src/scan/scan-progress.js';

// The scan stage's log, driven by a hand-cranked timer: no waiting, and the heartbeat is observed tick by tick.

function manualTimer() {
  let now = 0;
  const ticks: { ms: number; tick: () => void; stopped: boolean }[] = [];
  const timer: Timer = {
    now: () => now,
    every: (ms, tick) => {
      const t = { ms, tick, stopped: false };
      ticks.push(t);
      return () => (t.stopped = true);
    },
  };
  /** Moves time on and fires every running heartbeat whose interval passed. */
  const advance = (ms: number) => {
    const before = now;
    now += ms;
    for (const t of ticks)
      for (let at = Math.floor(before / t.ms) + 1; at * t.ms <= now; at++) if (!t.stopped) t.tick();
  };
  return { timer, advance, ticks };
}

describe('scanProgress', () => {
  test('numbered start and end lines with counts and duration', () => {
    const logger = new MemoryLogger();
    const { timer, advance } = manualTimer();
    const p = scanProgress(40, { logger, timer });
    const n = p.started('ghcr.io/acme/api:1.2', 'sha256:abc');
    advance(4_200);
    p.finished(n, 'ghcr.io/acme/api:1.2', '3 findings (critical 1, high 2, medium 0, low 0)');
    p.stop();
    expect(logger.messages('info')).toEqual([
      '[1/40] scanning ghcr.io/acme/api:1.2 (sha256:abc)',
      '[1/40] ghcr.io/acme/api:1.2: 3 findings (critical 1, high 2, medium 0, low 0) in 4.2s',
    ]);
  });

  test('a heartbeat every 30 s names what is still running, longest first, and stops with the pool', () => {
    const logger = new MemoryLogger();
    const { timer, advance } = manualTimer();
    const p = scanProgress(3, { logger, timer });
    const slow = p.started('registry.local/slow:1');
    advance(10_000);
    const fast = p.started('registry.local/fast:1');
    advance(5_000);
    p.finished(fast, 'registry.local/fast:1', '0 findings');
    advance(15_000); // 30 s: one beat
    const heartbeat = logger.messages('info').filter((m) => m.startsWith('Still'));
    expect(heartbeat).toEqual(['Still scanning 1 image (1 of 3 done): registry.local/slow:1 (30.0s)']);

    const third = p.started('registry.local/third:1');
    advance(30_000);
    expect(logger.messages('info').at(-1)).toBe(
      'Still scanning 2 images (1 of 3 done): registry.local/slow:1 (1m00s), registry.local/third:1 (30.0s)',
    );
    p.finished(slow, 'registry.local/slow:1', 'scan failed: x');
    p.finished(third, 'registry.local/third:1', '0 findings');
    p.stop();
    const lines = logger.messages('info').length;
    advance(120_000);
    expect(logger.messages('info')).toHaveLength(lines);
  });

  test('nothing running: no heartbeat line', () => {
    const logger = new MemoryLogger();
    const { timer, advance } = manualTimer();
    scanProgress(2, { logger, timer });
    advance(90_000);
    expect(logger.entries).toEqual([]);
  });
});

test.each([
  [850, '850ms'],
  [4_230, '4.2s'],
  [59_999, '59.9s'],
  [125_000, '2m05s'],
  [3_725_000, '1h02m'],
])('elapsedText(%i) = %s', (ms, text) => {
  expect(elapsedText(ms)).toBe(text);
});
