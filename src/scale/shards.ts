import { compareText } from '../infra/text-order.js';
import type { Target } from '../model.js';
import { makePlan, pinnedRef, shardHeader, type Plan } from './plan.js';

// `mode: discover` + `shards`: the images split into matrix entries, one scan job each. Pure.
//
// Work is one Trivy scan per unique image, so the unit dealt out is an image — a digest with every ref that points
// at it (they must land in one shard, or two jobs would scan the same digest). Images are sorted by their first
// ref and cut into contiguous runs whose sizes differ by at most one: the same targets in any order give the same
// matrix, and neighbouring repositories share a job. Each ref is pinned to the digest discovery resolved
// (`repo:tag@sha256:...`), so the shard job scans what was planned, and `images` opens with the plan's header line
// (plan.ts), so the fan-in job can tell which shard a results file stands for and which are missing.

export interface ShardEntry {
  /** 1-based, for job names. */
  shard: number;
  /** The plan's header line, then the refs to scan, one per line: the `images` input of the shard's job. */
  images: string;
  /** How many refs `images` holds. */
  count: number;
}

export interface ShardMatrix {
  include: ShardEntry[];
}

export function planShards(targets: readonly Target[], shards: number): { matrix: ShardMatrix; plan: Plan } {
  const units = imageUnits(targets);
  const n = Math.max(1, Math.min(Math.floor(shards), units.length));
  const planned: Plan['shards'] = [];
  const base = Math.floor(units.length / n);
  const extra = units.length % n;
  let next = 0;
  for (let i = 0; units.length > 0 && i < n; i++) {
    const size = base + (i < extra ? 1 : 0);
    planned.push({ shard: i + 1, images: units.slice(next, next + size).flat() });
    next += size;
  }
  const plan = makePlan(planned);
  const include = planned.map(({ shard, images }) => ({
    shard,
    images: [shardHeader({ id: plan.id, shard, shards: planned.length }), ...images].join('\n'),
    count: images.length,
  }));
  return { matrix: { include }, plan };
}

/**
 * Pinned refs grouped by digest (refs without one stand alone), groups sorted by first ref. Within a group the
 * targets are sorted by ref, each followed by the other tags discovery merged into it (`tags`): the shard job must
 * list them too, or it would scan the image under one tag only and per-image policy rules or ignores naming another
 * tag would stop matching in the fan-in job. The target's own ref stays first, so the shard job reports the image
 * under the same ref a single run would.
 */
function imageUnits(targets: readonly Target[]): string[][] {
  const byKey = new Map<string, Target[]>();
  for (const t of targets) {
    const key = t.digest ? `digest\u0000${t.digest}` : `ref\u0000${t.ref}`;
    byKey.set(key, [...(byKey.get(key) ?? []), t]);
  }
  const units = [...byKey.values()].map((group) => [
    ...new Map(
      [...group]
        .sort((a, b) => compareText(a.ref, b.ref))
        .flatMap((t) => [t, ...otherTags(t)])
        .map((t) => [t.ref, pinnedRef(t)] as const),
    ),
  ]);
  // One ref without a digest can also appear in a digest group (listed by tag and found by digest): keep it once,
  // pinned.
  const placed = new Set<string>();
  const unique: (readonly [string, string])[][] = [];
  for (const unit of units.sort((a, b) => b.length - a.length || compareText(a[0][0], b[0][0]))) {
    const fresh = unit.filter(([ref]) => !placed.has(ref));
    for (const [ref] of fresh) placed.add(ref);
    if (fresh.length > 0) unique.push(fresh);
  }
  return unique.sort((a, b) => compareText(a[0][0], b[0][0])).map((unit) => unit.map(([, line]) => line));
}

/** The target under each other tag sharing its digest, sorted by tag. */
function otherTags(t: Target): Target[] {
  if (!t.registry || !t.repository || !t.tags?.length) return [];
  const own = t.tag;
  return [...new Set(t.tags)]
    .filter((tag) => tag !== own)
    .sort(compareText)
    .map((tag) => ({ ...t, ref: `${t.registry}/${t.repository}:${tag}`, tag }));
}
