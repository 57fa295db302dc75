import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { resolveListedTargets } from '../../src/targets/listed-images.js';

describe('resolveListedTargets', () => {
  test('normalises each entry and keeps what the user wrote', () => {
    const [t] = resolveListedTargets(['alpine:3.19']);
    expect(t).toEqual({
      ref: 'docker.io/library/alpine:3.19',
      input: 'alpine:3.19',
      registry: 'docker.io',
      repository: 'library/alpine',
      tag: '3.19',
      origins: [],
      sources: ['listed'],
    });
  });

  test('entries naming the same image are scanned once, in first-seen order', () => {
    const targets = resolveListedTargets([
      'nginx',
      'alpine',
      'docker.io/library/alpine:latest',
      'alpine:latest',
    ]);
    expect(targets.map((t) => t.ref)).toEqual([
      'docker.io/library/nginx:latest',
      'docker.io/library/alpine:latest',
    ]);
    expect(targets[1].input).toBe('alpine');
  });

  test('a platform applies to every listed target', () => {
    expect(resolveListedTargets(['alpine'], { platform: 'linux/arm64' })[0].platform).toBe('linux/arm64');
    expect(resolveListedTargets(['alpine'])[0]).not.toHaveProperty('platform');
  });

  test('a digest-only reference has no tag', () => {
    const d = `sha256:${'b'.repeat(64)}`;
    const [t] = resolveListedTargets([`ghcr.io/a/b@${d}`]);
    expect(t.digest).toBe(d);
    expect(t.tag).toBeUndefined();
  });

  test("a plan shard's repo:tag@digest is named by its tag and pinned to its digest; by hand it keeps both", () => {
    const d = `sha256:${'c'.repeat(64)}`;
    const [planned] = resolveListedTargets([`ghcr.io/a/b:1.0@${d}`, `ghcr.io/a/c@${d}`], { fromPlan: true });
    expect(planned).toMatchObject({ ref: 'ghcr.io/a/b:1.0', tag: '1.0', digest: d, pinned: true });
    // A digest-only line names no tag: nothing to pin.
    const byDigest = resolveListedTargets([`ghcr.io/a/c@${d}`], { fromPlan: true })[0];
    expect(byDigest.ref).toBe(`ghcr.io/a/c@${d}`);
    expect(byDigest).not.toHaveProperty('pinned');
    const [byHand] = resolveListedTargets([`ghcr.io/a/b:1.0@${d}`]);
    expect(byHand.ref).toBe(`ghcr.io/a/b:1.0@${d}`);
    expect(byHand).not.toHaveProperty('pinned');
  });

  test('one bad entry: the message names it and why', () => {
    expect(() => resolveListedTargets(['alpine', 'Alpine:3'])).toThrow(
      'images: "Alpine:3" is not a valid image reference (repository names must be lower-case)',
    );
  });

  test('every bad entry is reported at once', () => {
    let error: unknown;
    try {
      resolveListedTargets(['Alpine:3', 'nginx', 'https://ghcr.io/a', 'redis:']);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    const message = (error as Error).message;
    expect(message).toMatch(/^images: 3 entries are not valid image references:/);
    expect(message).toContain('"Alpine:3"');
    expect(message).toContain('"https://ghcr.io/a"');
    expect(message).toContain('"redis:"');
    expect(message).not.toContain('"nginx"');
  });
});
