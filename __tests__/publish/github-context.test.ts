import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { githubLinks, readGitHubContext } from '../../src/publish/github-context.js';

const SHA = '3f1e2d3c4b5a69788796a5b4c3d2e1f0a1b2c3d4';
const baseEnv: NodeJS.ProcessEnv = {
  GITHUB_REPOSITORY: 'acme/shop',
  GITHUB_SHA: SHA,
  GITHUB_REF: 'refs/heads/main',
  GITHUB_EVENT_NAME: 'push',
  GITHUB_EVENT_PATH: '/event.json',
  GITHUB_WORKSPACE: '/home/runner/work/shop/shop',
  GITHUB_RUN_ID: '4242',
  GITHUB_RUN_ATTEMPT: '1',
};

function prPayload(number: number, headRepo: string | null, baseRepo = 'acme/shop') {
  return {
    action: 'synchronize',
    number,
    pull_request: {
      number,
      head: { sha: 'b'.repeat(40), ref: 'feature', repo: headRepo === null ? null : { full_name: headRepo } },
      base: { sha: 'c'.repeat(40), ref: 'main', repo: { full_name: baseRepo } },
    },
  };
}

const read = (payload: unknown) => (path: string) => {
  if (path !== '/event.json') throw new Error(`unexpected read of ${path}`);
  return JSON.stringify(payload);
};

describe('readGitHubContext', () => {
  test('a push: the branch ref and the pushed commit, no pull request, defaults for the URLs', () => {
    const ctx = readGitHubContext(baseEnv, read({ ref: 'refs/heads/main' }));
    expect(ctx).toMatchObject({
      apiUrl: 'https://api.github.com',
      serverUrl: 'https://github.com',
      repository: { owner: 'acme', repo: 'shop' },
      eventName: 'push',
      sha: SHA,
      ref: 'refs/heads/main',
      runId: '4242',
      readOnlyToken: false,
      workspace: '/home/runner/work/shop/shop',
    });
    expect(ctx.pullRequest).toBeUndefined();
  });

  test.each([
    // event, head repo, isFork, readOnlyToken
    ['pull_request', 'acme/shop', false, false],
    ['pull_request', 'stranger/shop', true, true],
    ['pull_request', 'ACME/Shop', false, false],
    // the fork was deleted: GitHub sends head.repo null
    ['pull_request', null, true, true],
    // pull_request_target runs with the base repository's token, even for a fork
    ['pull_request_target', 'stranger/shop', true, false],
  ] as const)('%s from %s: fork %s, read-only token %s', (event, headRepo, isFork, readOnly) => {
    const env = { ...baseEnv, GITHUB_EVENT_NAME: event, GITHUB_REF: 'refs/pull/17/merge' };
    const ctx = readGitHubContext(env, read(prPayload(17, headRepo)));
    expect(ctx.pullRequest).toEqual({
      number: 17,
      headSha: 'b'.repeat(40),
      headRepoFullName: headRepo ?? '',
      baseRepoFullName: 'acme/shop',
      isFork,
      mergeRef: 'refs/pull/17/merge',
    });
    expect(ctx.readOnlyToken).toBe(readOnly);
    // Code scanning files PR results under the merge ref, for the commit the workflow checked out.
    expect(ctx.ref).toBe('refs/pull/17/merge');
    expect(ctx.sha).toBe(SHA);
  });

  test('pull_request_target: the ref is the PR merge ref even though GITHUB_REF names the base branch', () => {
    const env = { ...baseEnv, GITHUB_EVENT_NAME: 'pull_request_target', GITHUB_REF: 'refs/heads/main' };
    expect(readGitHubContext(env, read(prPayload(5, 'acme/shop'))).ref).toBe('refs/pull/5/merge');
  });

  test('an unreadable event file on a PR: the number comes from GITHUB_REF', () => {
    const env = { ...baseEnv, GITHUB_EVENT_NAME: 'pull_request', GITHUB_REF: 'refs/pull/23/merge' };
    const ctx = readGitHubContext(env, () => {
      throw new Error('ENOENT');
    });
    expect(ctx.pullRequest).toMatchObject({ number: 23, isFork: false, mergeRef: 'refs/pull/23/merge' });
  });

  test('GHES URLs lose their trailing slash', () => {
    const env = {
      ...baseEnv,
      GITHUB_API_URL: 'https://ghes.example/api/v3/',
      GITHUB_SERVER_URL: 'https://ghes.example/',
    };
    const ctx = readGitHubContext(env, read({}));
    expect([ctx.apiUrl, ctx.serverUrl]).toEqual(['https://ghes.example/api/v3', 'https://ghes.example']);
  });

  test.each([
    ['GITHUB_REPOSITORY', { GITHUB_REPOSITORY: undefined }, /GITHUB_REPOSITORY is not set/],
    [
      'GITHUB_REPOSITORY',
      { GITHUB_REPOSITORY: 'just-a-name' },
      /GITHUB_REPOSITORY is "just-a-name".*owner\/repo/,
    ],
    ['GITHUB_SHA', { GITHUB_SHA: '' }, /GITHUB_SHA is not set/],
  ])(
    'a missing or malformed %s is a ConfigurationError that says what to set',
    (_name, override, message) => {
      const call = () => readGitHubContext({ ...baseEnv, ...override }, read({}));
      expect(call).toThrow(ConfigurationError);
      expect(call).toThrow(message);
    },
  );
});

describe('githubLinks', () => {
  test('a pull request: the Security tab filtered to the PR, and the run (its first attempt)', () => {
    const env = { ...baseEnv, GITHUB_EVENT_NAME: 'pull_request', GITHUB_REF: 'refs/pull/17/merge' };
    const links = githubLinks(readGitHubContext(env, read(prPayload(17, 'acme/shop'))), 'Image Scan Gate');
    expect(links).toEqual({
      // The attempt even when it is the first: a bare run URL shows the latest attempt once the run is re-run.
      runUrl: 'https://github.com/acme/shop/actions/runs/4242/attempts/1',
      securityUrl: 'https://github.com/acme/shop/security/code-scanning?query=pr%3A17',
      pullRequestUrl: 'https://github.com/acme/shop/pull/17',
    });
  });

  test('a push: filtered to the tool (quoted, it has spaces) on the branch; a re-run links its attempt', () => {
    const ctx = readGitHubContext({ ...baseEnv, GITHUB_RUN_ATTEMPT: '2' }, read({}));
    const links = githubLinks(ctx, 'Image Scan Gate');
    expect(decodeURIComponent(new URL(links.securityUrl).searchParams.get('query')!)).toBe(
      'tool:"Image Scan Gate" branch:main',
    );
    expect(links.runUrl).toBe('https://github.com/acme/shop/actions/runs/4242/attempts/2');
    expect(links.pullRequestUrl).toBeUndefined();
  });
});
