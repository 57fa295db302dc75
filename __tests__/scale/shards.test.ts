import { describe, expect, test } from 'vitest';
import { planShards } from '../../src/scale/shards.js';
import type { Target } from '../../src/model.js';

function target(ref: string, digest?: string): Target {
  const [, registry, repository] = /^([^/]+)\/([^:@]+)/.exec(ref)!;
  return {
    ref,
    input: ref,
    registry,
    repository,
    ...(digest && { digest }),
    origins: [],
    sources: ['registry'],
  };
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
    const { include } = planShards(many(images), shards);
    expect(include.map((e) => e.count)).toEqual(sizes);
    expect(include.map((e) => e.shard)).toEqual(sizes.map((_, i) => i + 1));
    for (const e of include) expect(e.images.split('\n')).toHaveLength(e.count);
    // Every image exactly once.
    const all = include.flatMap((e) => e.images.split('\n'));
    expect(new Set(all).size).toBe(images);
  });

  test('no images: an empty matrix (the caller says so rather than starting empty jobs)', () => {
    expect(planShards([], 4)).toEqual({ include: [] });
  });

  test('shards below 1 are treated as one shard', () => {
    expect(planShards(many(3), 0).include).toHaveLength(1);
  });

  test('the same targets in another order give the same matrix, sorted by ref and contiguous', () => {
    const targets = many(11);
    const shuffled = [...targets.slice(5), ...targets.slice(0, 5)].reverse();
    const a = planShards(targets, 3);
    expect(planShards(shuffled, 3)).toEqual(a);
    expect(a.include[0].images.split('\n')[0]).toBe('ghcr.io/acme/svc-000:1');
    expect(a.include[2].images.split('\n').at(-1)).toBe('ghcr.io/acme/svc-010:1');
  });

  test('tags of one digest stay in one shard and count as one image for balance', () => {
    const targets = [
      target('ghcr.io/acme/a:1', digest(1)),
      target('ghcr.io/acme/z:latest', digest(1)),
      target('ghcr.io/acme/b:1', digest(2)),
      target('ghcr.io/acme/c:1', digest(3)),
      target('ghcr.io/acme/d:1'), // no digest known: its own unit
    ];
    const { include } = planShards(targets, 2);
    const shardOf = (ref: string) => include.find((e) => e.images.split('\n').includes(ref))!.shard;
    expect(shardOf('ghcr.io/acme/a:1')).toBe(shardOf('ghcr.io/acme/z:latest'));
    // Four unique images: two per shard.
    expect(include.map((e) => e.images.split('\n'))).toEqual([
      ['ghcr.io/acme/a:1', 'ghcr.io/acme/z:latest', 'ghcr.io/acme/b:1'],
      ['ghcr.io/acme/c:1', 'ghcr.io/acme/d:1'],
    ]);
    expect(include.map((e) => e.count)).toEqual([3, 2]);
  });

  test('the matrix is plain JSON for fromJSON()', () => {
    const m = planShards(many(2), 2);
    expect(JSON.parse(JSON.stringify(m))).toEqual(m);
  });
});
