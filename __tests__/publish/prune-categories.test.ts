import { describe, expect, test } from 'vitest';
import type { GitHubRunContext } from '../../src/publish/github-context.js';
import { currentCategories, pruneBlocker, staleCategories } from '../../src/publish/prune-categories.js';
import { makeImage, makeTarget } from '../report/fixtures/sarif/synthetic-images.js';

const push: GitHubRunContext = {
  apiUrl: 'https://api.github.com',
  serverUrl: 'https://github.com',
  repository: { owner: 'acme', repo: 'shop' },
  eventName: 'push',
  sha: 'a'.repeat(40),
  ref: 'refs/heads/main',
  readOnlyToken: false,
  workspace: '/ws',
};

describe('pruneBlocker: only complete runs outside pull requests prune', () => {
  test('a push with every image may prune', () => {
    expect(pruneBlocker({ github: push, partialReasons: [] })).toBeUndefined();
    expect(pruneBlocker({ github: { ...push, eventName: 'schedule' }, partialReasons: [] })).toBeUndefined();
  });

  test.each([
    [{ eventName: 'pull_request', ref: 'refs/pull/7/merge' }, /not on pull requests/],
    [{ eventName: 'pull_request_target' }, /not on pull requests/],
    [{ readOnlyToken: true }, /read-only/],
  ])('%o is refused', (over, reason) => {
    expect(pruneBlocker({ github: { ...push, ...over }, partialReasons: [] })).toMatch(reason);
  });

  test('a partial run (a shard job, missing shards) is refused with its reason', () => {
    expect(pruneBlocker({ github: push, partialReasons: ['shard 2/2 sent nothing'] })).toBe(
      'this run may not hold every image (shard 2/2 sent nothing)',
    );
  });
});

describe('which categories are stale', () => {
  const opts = { category: 'image-scan' };
  const api1 = makeImage(makeTarget({ repository: 'acme/api', tag: '1' }), []);
  const api2 = makeImage(makeTarget({ repository: 'acme/api', tag: '2' }), []);
  const failed = {
    ...makeImage(makeTarget({ repository: 'acme/broken', tag: '1' }), []),
    status: 'failed' as const,
  };

  test('current: every image (failed ones too) and every image skipped by a cap, without the trailing slash', () => {
    const current = currentCategories(
      [api1, api2, failed],
      [{ ref: 'ghcr.io/acme/capped:9', reason: 'max-images' }],
      opts,
    );
    expect([...current.categories].sort()).toEqual([
      'image-scan/ghcr.io/acme/api',
      'image-scan/ghcr.io/acme/broken',
      'image-scan/ghcr.io/acme/capped',
    ]);
    expect(current.unreadable).toEqual([]);
  });

  test('a skipped reference that cannot be read is reported (its category is unknown)', () => {
    expect(currentCategories([], [{ ref: 'Not A Ref', reason: 'x' }], opts).unreadable).toEqual([
      'Not A Ref',
    ]);
  });

  test("only this action's categories under the prefix that no current image has; GitHub's spellings tolerated", () => {
    const current = currentCategories([api1, failed], [], opts).categories;
    const previous = [
      'image-scan/ghcr.io/acme/api', // still scanned
      'image-scan/ghcr.io/acme/api/', // the same, as the API may spell it
      'image-scan/ghcr.io/acme/broken', // failed now: keeps its alerts
      'image-scan/ghcr.io/acme/gone/', // stale
      'image-scan/localhost:5000/team/old', // stale
      'image-scan/ghcr.io/acme/gone', // the same stale category twice
      'image-scan-other/ghcr.io/acme/x', // another prefix that merely starts alike
      'image-scan', // the bare prefix: not this action's shape
      'image-scan/ghcr.io', // a registry without a repository: not this action's shape
      '.github/workflows/scan.yml:scan', // trivy-action's
    ];
    expect(staleCategories(previous, current, opts)).toEqual([
      'image-scan/ghcr.io/acme/gone',
      'image-scan/localhost:5000/team/old',
    ]);
  });

  test('a nested prefix is matched as a whole', () => {
    const current = currentCategories([api1], [], { category: 'sec/images' }).categories;
    expect(
      staleCategories(
        ['sec/images/ghcr.io/acme/old', 'sec/ghcr.io/acme/old', 'sec/images/ghcr.io/acme/api'],
        current,
        {
          category: 'sec/images',
        },
      ),
    ).toEqual(['sec/images/ghcr.io/acme/old']);
  });
});
