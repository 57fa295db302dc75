import { describe, expect, test } from 'vitest';
import type { Target } from '../../src/model.js';
import { resolveListedTargets } from '../../src/targets/listed-images.js';
import { mergeTargets } from '../../src/targets/merge-targets.js';

function target(ref: string, extra: Partial<Target> = {}): Target {
  return {
    ref,
    input: ref,
    registry: 'ghcr.io',
    repository: 'a/b',
    origins: [],
    sources: ['listed'],
    ...extra,
  };
}

test('one target per ref, first seen first, with origins and sources united', () => {
  const listed = [target('ghcr.io/a/b:1'), target('ghcr.io/a/c:1')];
  const registry = [
    target('ghcr.io/a/d:1', { sources: ['registry'] }),
    target('ghcr.io/a/b:1', { sources: ['registry'], digest: 'sha256:x', tags: ['1', 'latest'] }),
  ];
  const files = [
    target('ghcr.io/a/b:1', {
      sources: ['file'],
      input: 'ghcr.io/a/b:1',
      origins: [{ file: 'Dockerfile', line: 1 }],
    }),
    target('ghcr.io/a/b:1', {
      sources: ['file'],
      origins: [
        { file: 'Dockerfile', line: 1 },
        { file: 'k8s.yaml', line: 9, column: 14 },
      ],
    }),
  ];
  const merged = mergeTargets(listed, registry, files);
  expect(merged.map((t) => t.ref)).toEqual(['ghcr.io/a/b:1', 'ghcr.io/a/c:1', 'ghcr.io/a/d:1']);
  const b = merged[0];
  expect(b.sources).toEqual(['listed', 'registry', 'file']);
  expect(b.origins).toEqual([
    { file: 'Dockerfile', line: 1 },
    { file: 'k8s.yaml', line: 9, column: 14 },
  ]);
  expect(b.digest).toBe('sha256:x'); // filled in from discovery
  expect(b.tags).toEqual(['1', 'latest']);
});

test('the inputs are not modified', () => {
  const a = target('x.io/a:1', { origins: [{ file: 'a', line: 1 }] });
  const b = target('x.io/a:1', { origins: [{ file: 'b', line: 2 }], sources: ['file'] });
  mergeTargets([a], [b]);
  expect(a.origins).toEqual([{ file: 'a', line: 1 }]);
  expect(a.sources).toEqual(['listed']);
});

test('the first occurrence keeps its own fields', () => {
  const merged = mergeTargets(
    [target('x.io/a:1', { input: 'x.io/a:1', platform: 'linux/arm64' })],
    [target('x.io/a:1', { input: 'other' })],
  );
  expect(merged).toHaveLength(1);
  expect(merged[0].input).toBe('x.io/a:1');
  expect(merged[0].platform).toBe('linux/arm64');
});

test('the same ref for two platforms stays two targets; one without a platform joins the first', () => {
  const merged = mergeTargets(
    [target('x.io/a:1', { input: 'listed' })],
    [
      target('x.io/a:1', { input: 'arm', platform: 'linux/arm64' }),
      target('x.io/a:1', { input: 'amd', platform: 'linux/amd64' }),
      target('x.io/a:1', { input: 'arm again', platform: 'linux/arm64' }),
    ],
  );
  expect(merged.map((t) => [t.input, t.platform])).toEqual([
    ['listed', 'linux/arm64'],
    ['amd', 'linux/amd64'],
  ]);
});

test('no lists, no targets', () => {
  expect(mergeTargets()).toEqual([]);
  expect(mergeTargets([], [])).toEqual([]);
});

describe('mergeTargets with local images', () => {
  test('a daemon image, an archive and the registry image of one name stay three targets', () => {
    const remote = resolveListedTargets(['acme/app:1']);
    const local = resolveListedTargets(['docker:acme/app:1']);
    const archive = [
      { ...remote[0], local: { kind: 'archive' as const, format: 'oci-dir' as const, path: '/ws/oci' } },
    ];
    const merged = mergeTargets(remote, local, archive, resolveListedTargets(['acme/app:1']));
    expect(merged.map((t) => t.local?.kind ?? 'remote')).toEqual(['remote', 'daemon', 'archive']);
  });
});
