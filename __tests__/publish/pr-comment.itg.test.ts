import { afterEach, describe, expect, test } from 'vitest';
import { MemoryLogger } from '../../src/infra/logger.js';
import { createGitHubClient } from '../../src/publish/github-client.js';
import { upsertPrComment, type PrCommentDeps } from '../../src/publish/pr-comment.js';
import {
  errorReply,
  startGitHubApi,
  type GitHubApi,
  type GitHubApiOptions,
} from '../../test-support/github-api.js';
import { fakeClock, MERGE_SHA, runContext } from './fixtures/github-run.js';

const MARKER = '<!-- image-scan-gate:image-scan -->';
const body = (text: string) => `${MARKER}\n${text}`;

let api: GitHubApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function setUp(
  options: GitHubApiOptions = {},
  event: Parameters<typeof runContext>[1] = { name: 'pull_request', pullRequest: { number: 17 } },
  mode?: PrCommentDeps['mode'],
) {
  api = await startGitHubApi(options);
  const logger = new MemoryLogger();
  const octokit = createGitHubClient({
    token: 'ghs_secret_token',
    apiUrl: api.url,
    logger,
    clock: fakeClock(),
  });
  return { api, logger, ctx: runContext(api.url, event), deps: { octokit, logger, mode } };
}

const onPr17 = (api: GitHubApi) => [...api.state.comments.values()].filter((c) => c.issueNumber === 17);

describe('upsertPrComment', () => {
  test('keyed markers: two jobs keep two comments; a comment with the old marker is taken over once', async () => {
    const { api, ctx, deps } = await setUp();
    const legacy = MARKER;
    const jobA = '<!-- image-scan-gate:image-scan key=aaaaaaaaaaaaaaaa -->';
    const jobB = '<!-- image-scan-gate:image-scan key=bbbbbbbbbbbbbbbb -->';
    const old = api.addComment(17, `${legacy}\nverdict of an older version`, {
      login: 'github-actions[bot]',
      type: 'Bot',
    });

    // The first job after the upgrade edits the old comment (now keyed by its marker)...
    const a = await upsertPrComment(`${jobA}\nA fails`, jobA, ctx, { ...deps, legacyMarker: legacy });
    expect(a.action).toBe('updated');
    expect(api.state.comments.get(old.id)!.body).toBe(`${jobA}\nA fails`);
    // ...the second job finds no comment of its own and no unclaimed old one: it writes its own.
    const b = await upsertPrComment(`${jobB}\nB passes`, jobB, ctx, { ...deps, legacyMarker: legacy });
    expect(b.action).toBe('created');
    // A re-run of the first job updates its own comment, not the other job's.
    const again = await upsertPrComment(`${jobA}\nA passes now`, jobA, ctx, {
      ...deps,
      legacyMarker: legacy,
    });
    expect(again).toEqual({ action: 'updated', url: a.url });
    expect(
      onPr17(api)
        .map((c) => c.body)
        .sort(),
    ).toEqual([`${jobA}\nA passes now`, `${jobB}\nB passes`]);
  });

  test('creates the comment once, then updates it in place on the next run', async () => {
    const { api, logger, ctx, deps } = await setUp();
    api.addComment(17, 'LGTM');

    const first = await upsertPrComment(body('2 critical'), MARKER, ctx, deps);
    expect(first.action).toBe('created');
    expect(onPr17(api)).toHaveLength(2);
    const ours = onPr17(api).find((c) => c.body.includes(MARKER))!;
    expect(first.url).toBe(`https://github.com/acme/shop/pull/17#issuecomment-${ours.id}`);

    const second = await upsertPrComment(body('all clear'), MARKER, ctx, deps);
    expect(second).toEqual({ action: 'updated', url: first.url });
    expect(onPr17(api)).toHaveLength(2);
    expect(api.state.comments.get(ours.id)!.body).toBe(body('all clear'));
    expect(api.requests.map((r) => r.operationId)).toEqual([
      'issues/list-comments',
      'issues/create-comment',
      'issues/list-comments',
      'issues/update-comment',
    ]);
    expect(api.violations).toEqual([]);
    expect(logger.messages('warning')).toEqual([]);
  });

  test('finds its comment beyond the first page of a long discussion', async () => {
    const { api, ctx, deps } = await setUp();
    for (let i = 0; i < 150; i++) api.addComment(17, `comment ${i}`);
    const ours = api.addComment(17, body('old'), { login: 'github-actions[bot]', type: 'Bot' });
    for (let i = 0; i < 30; i++) api.addComment(17, `later ${i}`);

    const result = await upsertPrComment(body('new'), MARKER, ctx, deps);
    expect(result.action).toBe('updated');
    expect(api.state.comments.get(ours.id)!.body).toBe(body('new'));
    const pages = api.requests.filter((r) => r.operationId === 'issues/list-comments');
    expect(pages.map((r) => r.query.page ?? '1')).toEqual(['1', '2']);
    expect(pages.every((r) => r.query.per_page === '100')).toBe(true);
    expect(api.violations).toEqual([]);
  });

  test('a deleted comment is recreated', async () => {
    const { api, ctx, deps } = await setUp();
    const first = await upsertPrComment(body('v1'), MARKER, ctx, deps);
    const id = Number(/issuecomment-(\d+)/.exec(first.url!)![1]);
    const del = await fetch(`${api.url}/repos/acme/shop/issues/comments/${id}`, {
      method: 'DELETE',
      headers: { authorization: 'token t' },
    });
    expect(del.status).toBe(204);

    const again = await upsertPrComment(body('v2'), MARKER, ctx, deps);
    expect(again.action).toBe('created');
    expect(again.url).not.toBe(first.url);
    expect(onPr17(api).map((c) => c.body)).toEqual([body('v2')]);
    expect(api.violations).toEqual([]);
  });

  test("several marked comments: the bot's is updated, one warning, nothing created", async () => {
    const { api, logger, ctx, deps } = await setUp();
    const quoted = api.addComment(17, `> ${body('quoted by a human')}`);
    const ours = api.addComment(17, body('old'), { login: 'github-actions[bot]', type: 'Bot' });
    const result = await upsertPrComment(body('new'), MARKER, ctx, deps);
    expect(result.action).toBe('updated');
    expect(api.state.comments.get(ours.id)!.body).toBe(body('new'));
    expect(api.state.comments.get(quoted.id)!.body).toContain('quoted by a human');
    expect(logger.messages('warning')).toHaveLength(1);
    expect(onPr17(api)).toHaveLength(2);
  });

  test('a push event: skipped with one notice, no request', async () => {
    const { api, logger, ctx, deps } = await setUp({}, { name: 'push' });
    const result = await upsertPrComment(body('x'), MARKER, ctx, deps);
    expect(result.action).toBe('skipped');
    expect(logger.messages('notice')).toHaveLength(1);
    expect(api.requests).toHaveLength(0);
  });

  test('a pull request from a fork: skipped with one notice, no request at all', async () => {
    const { api, logger, ctx, deps } = await setUp(
      { forkReadOnly: true },
      {
        name: 'pull_request',
        pullRequest: { number: 17, headRepo: 'stranger/shop' },
      },
    );
    const result = await upsertPrComment(body('x'), MARKER, ctx, deps);
    expect(result).toMatchObject({ action: 'skipped' });
    expect(logger.messages('notice')).toHaveLength(1);
    expect(logger.messages('notice')[0]).toMatch(/fork/);
    expect(logger.messages('warning')).toEqual([]);
    expect(api.requests).toHaveLength(0);
  });

  test('a read-only token that was not foreseen: the 403 on write is one warning with the fix', async () => {
    const { api, logger, ctx, deps } = await setUp({ forkReadOnly: true });
    const result = await upsertPrComment(body('x'), MARKER, ctx, deps);
    expect(result.action).toBe('skipped');
    expect(logger.messages('warning')).toHaveLength(1);
    expect(logger.messages('warning')[0]).toMatch(
      /403.*Resource not accessible by integration.*pull-requests: write/,
    );
    expect(api.state.comments.size).toBe(0);
    expect(api.violations).toEqual([]);
  });

  test('any other refusal is one warning, never a throw', async () => {
    const { logger, ctx, deps } = await setUp({
      handlers: { 'issues/list-comments': () => errorReply(404, 'Not Found') },
    });
    const result = await upsertPrComment(body('x'), MARKER, ctx, deps);
    expect(result.action).toBe('skipped');
    expect(logger.messages('warning')).toHaveLength(1);
    expect(logger.messages('warning')[0]).toMatch(/404.*github-token/);
  });

  test('pr-comment always on a push: comments on the open PR that holds the commit', async () => {
    const { api, ctx, deps } = await setUp({}, { name: 'push' }, 'always');
    api.state.pullsForCommit.set(MERGE_SHA, [
      { number: 9, state: 'closed' },
      { number: 17, state: 'open' },
    ]);
    const result = await upsertPrComment(body('x'), MARKER, ctx, deps);
    expect(result.action).toBe('created');
    expect(onPr17(api)).toHaveLength(1);
    expect(api.requests[0]).toMatchObject({
      operationId: 'repos/list-pull-requests-associated-with-commit',
      params: { commit_sha: MERGE_SHA },
    });
    expect(api.violations).toEqual([]);
  });

  test('pr-comment always on a push with no open PR: skipped with one notice', async () => {
    const { api, logger, ctx, deps } = await setUp({}, { name: 'push' }, 'always');
    const result = await upsertPrComment(body('x'), MARKER, ctx, deps);
    expect(result.action).toBe('skipped');
    expect(logger.messages('notice')).toHaveLength(1);
    expect(api.requests.map((r) => r.operationId)).toEqual([
      'repos/list-pull-requests-associated-with-commit',
    ]);
    expect(api.violations).toEqual([]);
  });
});
