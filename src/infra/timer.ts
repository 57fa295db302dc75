/**
 * Elapsed time and repeating ticks as a seam, so a heartbeat can be driven by a test without waiting. Separate from
 * Clock (the wall clock, which `IMAGE_SCAN_GATE_NOW` may pin): durations need a clock that moves.
 */
export interface Timer {
  /** Milliseconds from an arbitrary origin; only differences mean anything. */
  now(): number;
  /** Calls `tick` every `ms` until the returned function is called. Never keeps the process alive. */
  every(ms: number, tick: () => void): () => void;
}

export const systemTimer: Timer = {
  now: () => performance.now(),
  every: (ms, tick) => {
    const handle = setInterval(tick, ms);
    handle.unref();
    return () => clearInterval(handle);
  },
};
