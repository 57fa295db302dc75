import type { Target } from '../model.js';

export interface CappedTargets {
  kept: Target[];
  /** Targets of images beyond the cap, in the order given. */
  over: Target[];
  /** Unique images found, kept or not. */
  found: number;
}

/**
 * The `max-images` cap, in the order given: it counts unique images (by digest when known), so another tag or
 * repository of an image already kept is kept too and costs nothing more.
 */
export function capUniqueImages(targets: readonly Target[], max: number): CappedTargets {
  const kept: Target[] = [];
  const over: Target[] = [];
  const counted = new Set<string>();
  const uncounted = new Set<string>();
  for (const t of targets) {
    const key = t.digest ?? t.ref;
    if (counted.has(key)) kept.push(t);
    else if (counted.size < max) {
      counted.add(key);
      kept.push(t);
    } else {
      uncounted.add(key);
      over.push(t);
    }
  }
  return { kept, over, found: counted.size + uncounted.size };
}
