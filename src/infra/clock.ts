/** Time as a seam: policy expiry, cache keys and backoff are tested with an injected clock. */
export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A clock fixed at a given instant (tests, or `IMAGE_SCAN_GATE_NOW` for reproducible runs). */
export function fixedClock(iso: string): Clock {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) throw new Error(`not a date: ${iso}`);
  return { now: () => new Date(at), sleep: (ms) => systemClock.sleep(ms) };
}
