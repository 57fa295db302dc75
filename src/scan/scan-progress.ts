import type { Logger } from '../infra/logger.js';
import type { Timer } from '../infra/timer.js';
import { plural } from '../infra/wording.js';

// The step log of the scan stage: a numbered line when each image starts and ends, and a heartbeat naming what is
// still running, so a long run can be followed (and a hung image spotted) while it happens.

const HEARTBEAT_MS = 30_000;

export interface ScanProgress {
  /** Logs `[n/total] scanning ref (sha256:…)`; returns the number to pass to `finished`. */
  started(ref: string, digest?: string): number;
  /** Logs `[n/total] ref: what` with the time since `started`. */
  finished(n: number, ref: string, outcome: string): void;
  /** Stops the heartbeat. */
  stop(): void;
}

/**
 * `total` counts unique digests (each is scanned once); the heartbeat every `heartbeatMs` names each running image
 * with how long it has been running, longest first.
 */
export function scanProgress(
  total: number,
  deps: { logger: Logger; timer: Timer; heartbeatMs?: number },
): ScanProgress {
  const { logger, timer } = deps;
  const running = new Map<number, { ref: string; since: number }>();
  let next = 0;
  let done = 0;
  const prefix = (n: number) => `[${n}/${total}]`;
  const stopHeartbeat = timer.every(deps.heartbeatMs ?? HEARTBEAT_MS, () => {
    if (running.size === 0) return;
    const now = timer.now();
    const list = [...running.values()]
      .sort((a, b) => a.since - b.since)
      .map((r) => `${r.ref} (${elapsedText(now - r.since)})`);
    logger.info(
      `Still scanning ${plural(running.size, 'image')} (${done} of ${total} done): ${list.join(', ')}`,
    );
  });
  return {
    started(ref, digest) {
      const n = ++next;
      running.set(n, { ref, since: timer.now() });
      logger.info(`${prefix(n)} scanning ${ref}${digest ? ` (${digest})` : ''}`);
      return n;
    },
    finished(n, ref, outcome) {
      const since = running.get(n)?.since;
      running.delete(n);
      done++;
      const took = since === undefined ? '' : ` in ${elapsedText(timer.now() - since)}`;
      logger.info(`${prefix(n)} ${ref}: ${outcome}${took}`);
    },
    stop: stopHeartbeat,
  };
}

/** `850ms`, `4.2s`, `2m05s`, `1h02m`: short and readable, unlike Go's `1m30s500ms`. */
export function elapsedText(ms: number): string {
  const t = Math.max(0, ms);
  if (t < 1000) return `${Math.round(t)}ms`;
  if (t < 60_000) return `${(Math.floor(t / 100) / 10).toFixed(1)}s`;
  const s = Math.floor(t / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
