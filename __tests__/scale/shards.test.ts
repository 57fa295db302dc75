import { describe, expect, test } from 'vitest';
import { parseShardHeader, parsePlanInput } from '../../src/scale/plan.js';
import { planShards, type ShardEntry } from '../../src/scale/shards.js';
import type { Target } from '../../src/model.js';

function target(ref: string, digest?: string, tags?: string[]): Target {
  const [, registry, repository, tag] = /^([^/]+)\/([^:@]+)(?::([^@]+))?/.exec(ref)!;
  return {
    ref,
    input: ref,
    registry,
    repository,
    ...(tag && { tag }),
    ...(digest && { digest }),
    ...(tags && { tags }),
    origins: [],
    sources: ['registry'],
  };
}

/** The refs of a matrix entry: its `images` without the plan's header line. */
function refsOf(entry: ShardEntry): string[] {
  const [header, ...refs] = entry.images.split('\n');
  expect(header).toMatch(/^# image-scan-gate plan [0-9a-f]{12} shard \d+\/\d+$/);
  return refs;
}

const digest = (n: number) => 'sha256:' + n.toString(16).padStart(64, '0');
const many = (n: number) =>
  Array.from({ length: n }, (_, i) =>
    target(`ghcr.io/acme/svc-${String(i).padStart(3, '0')}:1`, digest(i + 1)),
  );

describe('planShards', () => {
  test.each([
    [10, 3, [4, 3, 3]],
    [9, 3, [3, 3, 3]],
    [7, 4, [2, 2, 2, 1]],
    [500, 20, Array(20).fill(25)],
    [3, 5, [1, 1, 1]], // more shards than images: fewer entries, none empty
    [5, 1, [5]],
  ])('%i images into %i shards: sizes %j', (images, shards, sizes) => {
    const { include } = planShards(many(images), shards).matrix;
    expect(include.map((e) => e.count)).toEqual(sizes);
    expect(include.map((e) => e.shard)).toEqual(sizes.map((_, i) => i + 1));
    for (const e of include) expect(refsOf(e)).toHaveLength(e.count);
    // Every image exactly once.
    const all = include.flatMap(refsOf);
    expect(new Set(all).size).toBe(images);
  });

  test('no images: an empty matrix (the caller says so rather than starting empty jobs)', () => {
    expect(planShards([], 4).matrix).toEqual({ include: [] });
  });

  test('shards below 1 are treated as one shard', () => {
    expect(planShards(many(3), 0).matrix.include).toHaveLength(1);
  });

  test('the same targets in another order give the same matrix, sorted by ref and contiguous', () => {
    const targets = many(11);
    const shuffled = [...targets.slice(5), ...targets.slice(0, 5)].reverse();
    const a = planShards(targets, 3);
    expect(planShards(shuffled, 3)).toEqual(a);
    expect(refsOf(a.matrix.include[0])[0]).toBe(`ghcr.io/acme/svc-000:1@${digest(1)}`);
    expect(refsOf(a.matrix.include[2]).at(-1)).toBe(`ghcr.io/acme/svc-010:1@${digest(11)}`);
  });

  test('tags of one digest stay in one shard and count as one image for balance', () => {
    const targets = [
      target('ghcr.io/acme/a:1', digest(1)),
      target('ghcr.io/acme/z:latest', digest(1)),
      target('ghcr.io/acme/b:1', digest(2)),
      target('ghcr.io/acme/c:1', digest(3)),
      target('ghcr.io/acme/d:1'), // no digest known: its own unit
    ];
    const { include } = planShards(targets, 2).matrix;
    const shardOf = (ref: string) => include.find((e) => refsOf(e).includes(ref))!.shard;
    expect(shardOf(`ghcr.io/acme/a:1@${digest(1)}`)).toBe(shardOf(`ghcr.io/acme/z:latest@${digest(1)}`));
    // Four unique images: two per shard.
    expect(include.map(refsOf)).toEqual([
      [
        `ghcr.io/acme/a:1@${digest(1)}`,
        `ghcr.io/acme/z:latest@${digest(1)}`,
        `ghcr.io/acme/b:1@${digest(2)}`,
      ],
      [`ghcr.io/acme/c:1@${digest(3)}`, 'ghcr.io/acme/d:1'],
    ]);
    expect(include.map((e) => e.count)).toEqual([3, 2]);
  });

  test('the matrix is plain JSON for fromJSON()', () => {
    const m = planShards(many(2), 2);
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });

  test('each ref is pinned to its digest, every tag of a digest in the same shard, pinned too', () => {
    const targets = [
      target('ghcr.io/acme/api:1.0', digest(1), ['1.0', 'stable']),
      target('ghcr.io/acme/web:1', digest(2)),
      target('ghcr.io/acme/web:10', digest(3)),
    ];
    const { include } = planShards(targets, 3).matrix;
    expect(include.map(refsOf)).toEqual([
      [`ghcr.io/acme/api:1.0@${digest(1)}`, `ghcr.io/acme/api:stable@${digest(1)}`],
      // Ordered by ref, as before pinning (by pinned line, '@' would sort web:1@ after web:10@).
      [`ghcr.io/acme/web:1@${digest(2)}`],
      [`ghcr.io/acme/web:10@${digest(3)}`],
    ]);
    expect(include.map((e) => e.count)).toEqual([2, 1, 1]);
  });

  test('a ref listed by tag and also found as another tag of a digest is planned once, pinned', () => {
    const targets = [
      target('ghcr.io/acme/api:stable'), // listed, digest not resolved
      target('ghcr.io/acme/api:1.0', digest(1), ['stable']),
    ];
    const { include } = planShards(targets, 2).matrix;
    expect(include.map(refsOf)).toEqual([
      [`ghcr.io/acme/api:1.0@${digest(1)}`, `ghcr.io/acme/api:stable@${digest(1)}`],
    ]);
  });

  test('the plan: one id for the same images, a header per entry naming it, the shards as the matrix holds them', () => {
    const a = planShards(many(5), 2);
    const again = planShards([...many(5)].reverse(), 2);
    expect(again).toEqual(a);
    expect(a.plan.id).toMatch(/^[0-9a-f]{12}$/);
    expect(a.plan.shards.map((s) => s.images)).toEqual(a.matrix.include.map(refsOf));
    expect(a.matrix.include.map((e) => parseShardHeader(e.images))).toEqual([
      { id: a.plan.id, shard: 1, shards: 2 },
      { id: a.plan.id, shard: 2, shards: 2 },
    ]);
    // Other images or another shard count: another plan.
    expect(planShards(many(6), 2).plan.id).not.toBe(a.plan.id);
    expect(planShards(many(5), 3).plan.id).not.toBe(a.plan.id);
    // The matrix reads back as the report job's `plan` input.
    expect(parsePlanInput(JSON.stringify(a.matrix))).toEqual(a.plan);
  });
});
