import { describe, expect, test } from 'vitest';
import type { Target } from '../../src/model.js';
import { capUniqueImages } from '../../src/targets/max-images.js';

function target(repository: string, tag: string, digest?: string): Target {
  const ref = `registry.example/${repository}:${tag}`;
  return {
    ref,
    input: ref,
    registry: 'registry.example',
    repository,
    tag,
    origins: [],
    sources: [],
    ...(digest && { digest }),
  };
}

describe('capUniqueImages', () => {
  test('under the cap: everything kept', () => {
    const all = [target('a', '1'), target('b', '1')];
    expect(capUniqueImages(all, 2)).toEqual({ kept: all, over: [], found: 2 });
  });

  test('another tag of a kept digest is kept and costs nothing; the cap counts images, in the order given', () => {
    const all = [
      target('a', '1', 'sha256:aa'),
      target('a', 'latest', 'sha256:aa'),
      target('b', '1'),
      target('c', '1'),
    ];
    const { kept, over, found } = capUniqueImages(all, 2);
    expect(kept.map((t) => t.ref)).toEqual([all[0].ref, all[1].ref, all[2].ref]);
    expect(over.map((t) => t.ref)).toEqual([all[3].ref]);
    expect(found).toBe(3);
  });

  // Registry discovery once said "N images match" counting the tags over the cap, so two tags of one image left out
  // made two images.
  test('tags of one image over the cap are one image found', () => {
    const all = [target('a', '1'), target('b', '1', 'sha256:bb'), target('b', 'latest', 'sha256:bb')];
    const { over, found } = capUniqueImages(all, 1);
    expect(over).toHaveLength(2);
    expect(found).toBe(2);
  });
});
