import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { MemoryLogger } from '../../src/infra/logger.js';
import { uploadSarifFiles } from '../../src/publish/code-scanning.js';
import { createGitHubClient } from '../../src/publish/github-client.js';
import {
  errorReply,
  startGitHubApi,
  type GitHubApi,
  type GitHubApiOptions,
} from '../../test-support/github-api.js';
import { fakeClock, MERGE_SHA, runContext, sarifLog } from './fixtures/github-run.js';

let api: GitHubApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function setUp(options: GitHubApiOptions = {}, event?: Parameters<typeof runContext>[1]) {
  api = await startGitHubApi(options);
  const logger = new MemoryLogger();
  const clock = fakeClock();
  const octokit = createGitHubClient({ token: 'ghs_secret_token', apiUrl: api.url, logger, clock });
  const ctx = runContext(api.url, event);
  const deps = { octokit, logger, clock, startedAt: '2026-05-01T11:58:00Z', toolName: 'Image Scan Gate' };
  return { api, logger, clock, ctx, deps };
}

const warningsOf = (logger: MemoryLogger) => logger.messages('warning');

describe('uploadSarifFiles', () => {
  test('uploads the SARIF files written, for the PR merge ref and commit, and waits until processed', async () => {
    const { api, logger, clock, ctx, deps } = await setUp(
      { sarif: { pendingPolls: 2 } },
      {
        name: 'pull_request',
        pullRequest: { number: 17 },
      },
    );
    // As the action does: the report stage writes files, publish reads them back.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'isg-sarif-'));
    const written = [
      sarifLog(['ghcr.io/acme/api:1', 'ghcr.io/acme/web:2']),
      sarifLog(['docker.io/library/redis:7']),
    ];
    written.forEach((log, i) => fs.writeFileSync(path.join(dir, `${i}.sarif`), JSON.stringify(log)));
    const files = written.map((_, i) => JSON.parse(fs.readFileSync(path.join(dir, `${i}.sarif`), 'utf8')));

    const result = await uploadSarifFiles(files, ctx, deps);

    expect(api.violations).toEqual([]);
    expect(result.status).toBe('uploaded');
    expect(result.warnings).toEqual([]);
    expect(result.ids).toHaveLength(2);
    const stored = result.ids.map((id) => api.state.sarifs.get(id)!);
    expect(stored.map((s) => s.sarif)).toEqual(
      written.map((_, i) => JSON.parse(fs.readFileSync(path.join(dir, `${i}.sarif`), 'utf8'))),
    );
    for (const s of stored) {
      expect(s).toMatchObject({
        owner: 'acme',
        repo: 'shop',
        commitSha: MERGE_SHA,
        ref: 'refs/pull/17/merge',
        checkoutUri: 'file:///home/runner/work/shop/shop',
        startedAt: '2026-05-01T11:58:00Z',
        toolName: 'Image Scan Gate',
      });
      // pending twice, then complete: the poll loop went on until complete, and no further.
      expect(s.polls).toBe(3);
    }
    const polls = api.requests.filter((r) => r.operationId === 'code-scanning/get-sarif');
    expect(polls.every((r) => r.status === 200)).toBe(true);
    // Waiting went through the clock (tests never wait), with growing delays.
    expect(clock.sleeps.length).toBe(4);
    expect(clock.sleeps[1]).toBeGreaterThan(clock.sleeps[0]);
    expect(logger.messages('info').filter((m) => m.includes('processed'))).toHaveLength(2);
    expect(api.requests[0].headers.authorization).toBe('token ghs_secret_token');
    expect(logger.secrets).toContain('ghs_secret_token');
  });

  test('on a push, the ref is the branch', async () => {
    const { api, ctx, deps } = await setUp();
    const result = await uploadSarifFiles([sarifLog(['alpine:3.19'])], ctx, deps);
    expect(result.status).toBe('uploaded');
    expect(api.state.sarifs.get(result.ids[0])!.ref).toBe('refs/heads/main');
    expect(api.violations).toEqual([]);
  });

  test("processing that fails shows GitHub's errors as one warning", async () => {
    const { api, logger, ctx, deps } = await setUp({
      sarif: { outcome: 'failed', errors: ['locationFromSarifResult: expected artifact location'] },
    });
    const result = await uploadSarifFiles([sarifLog(['alpine:3.19'])], ctx, deps);
    expect(result.status).toBe('skipped');
    expect(result.ids).toHaveLength(1);
    expect(warningsOf(logger)).toHaveLength(1);
    expect(warningsOf(logger)[0]).toContain('expected artifact location');
    expect(api.violations).toEqual([]);
  });

  test('the wait is bounded: a never-ending pending stops polling and is not a failure', async () => {
    const { api, logger, clock, ctx, deps } = await setUp({ sarif: { pendingPolls: 1_000 } });
    const result = await uploadSarifFiles([sarifLog(['alpine:3.19'])], ctx, { ...deps, maxWaitMs: 30_000 });
    expect(result.status).toBe('uploaded');
    expect(clock.sleeps.reduce((a, b) => a + b, 0)).toBe(30_000);
    expect(warningsOf(logger)).toEqual([]);
    expect(logger.messages('info').some((m) => m.includes('still being processed'))).toBe(true);
    expect(api.violations).toEqual([]);
  });

  test.each([
    [
      'code security not enabled',
      errorReply(403, 'Advanced Security must be enabled for this repository to use code scanning.'),
      /403.*Advanced Security must be enabled.*Enable code scanning.*security-events: write/,
    ],
    [
      'the token lacks security-events: write',
      errorReply(403, 'Resource not accessible by integration'),
      /403.*Resource not accessible by integration.*permissions: security-events: write/,
    ],
    [
      'the repository is not visible',
      errorReply(404, 'Not Found'),
      /404.*github-token.*security-events: write/,
    ],
    ['the file is too large', errorReply(413, 'Payload Too Large'), /over 10 MB gzipped \(413\).*severity/],
  ])('%s: one warning saying what to change, no throw, nothing else sent', async (_name, reply, expected) => {
    const { api, logger, ctx, deps } = await setUp({
      handlers: { 'code-scanning/upload-sarif': () => reply },
    });
    const result = await uploadSarifFiles([sarifLog(['alpine:3.19'])], ctx, deps);
    expect(result).toMatchObject({ ids: [], status: 'skipped' });
    expect(warningsOf(logger)).toHaveLength(1);
    expect(warningsOf(logger)[0]).toMatch(expected);
    expect(result.warnings).toEqual(warningsOf(logger));
    // A refusal is not retried, and there is nothing to poll.
    expect(api.requests.map((r) => r.operationId)).toEqual(['code-scanning/upload-sarif']);
    expect(api.violations).toEqual([]);
  });

  test('a 403 stops the remaining files (same answer for the repository): one warning for all', async () => {
    const { api, logger, ctx, deps } = await setUp({
      handlers: {
        'code-scanning/upload-sarif': () => errorReply(403, 'Resource not accessible by integration'),
      },
    });
    const result = await uploadSarifFiles(
      [sarifLog(['a:1']), sarifLog(['b:1']), sarifLog(['c:1'])],
      ctx,
      deps,
    );
    expect(result.status).toBe('skipped');
    expect(api.requests).toHaveLength(1);
    expect(warningsOf(logger)).toHaveLength(1);
  });

  test('a 413 on one file of several: the others are uploaded and the result is partial', async () => {
    let calls = 0;
    const { api, logger, ctx, deps } = await setUp({
      handlers: {
        'code-scanning/upload-sarif': () =>
          ++calls === 2 ? errorReply(413, 'Payload Too Large') : undefined,
      },
    });
    const result = await uploadSarifFiles(
      [sarifLog(['a:1']), sarifLog(['b:1']), sarifLog(['c:1'])],
      ctx,
      deps,
    );
    expect(result.status).toBe('partial');
    expect(result.ids).toHaveLength(2);
    expect(warningsOf(logger)).toHaveLength(1);
    expect(warningsOf(logger)[0]).toContain('SARIF 2/3 (image-scan/b:1/)');
    expect(api.violations).toEqual([]);
  });

  test('a file over 10 MB gzipped is not sent at all', async () => {
    const { api, logger, ctx, deps } = await setUp();
    const big = sarifLog(['a:1']) as { runs: { results: unknown[] }[] };
    // Random bytes do not compress: ~15 MB of their base64 still gzips to ~11 MB, over the limit.
    const { randomBytes } = await import('node:crypto');
    big.runs[0].results.push({ ruleId: 'X', message: { text: randomBytes(11_000_000).toString('base64') } });
    const result = await uploadSarifFiles([big], ctx, deps);
    expect(result.status).toBe('skipped');
    expect(api.requests).toHaveLength(0);
    expect(warningsOf(logger)[0]).toMatch(/over 10 MB gzipped/);
  });

  test('a pull request from a fork: skipped with one notice and no request at all', async () => {
    const { api, logger, ctx, deps } = await setUp(
      {},
      {
        name: 'pull_request',
        pullRequest: { number: 17, headRepo: 'stranger/shop' },
      },
    );
    const result = await uploadSarifFiles([sarifLog(['alpine:3.19'])], ctx, deps);
    expect(result).toMatchObject({ ids: [], status: 'skipped', warnings: [] });
    expect(logger.messages('notice')).toHaveLength(1);
    expect(logger.messages('notice')[0]).toMatch(/fork/);
    expect(warningsOf(logger)).toEqual([]);
    expect(api.requests).toHaveLength(0);
  });

  test('an unreachable API: retried through the clock, then one warning and no throw', async () => {
    const { api, logger, clock, ctx } = await setUp();
    const { url } = api;
    await api.close();
    const octokit = createGitHubClient({ token: 'ghs_unused_token', apiUrl: url, logger, clock, retries: 2 });
    const result = await uploadSarifFiles([sarifLog(['alpine:3.19'])], ctx, {
      octokit,
      logger,
      clock,
      startedAt: '2026-05-01T11:58:00Z',
    });
    expect(result).toMatchObject({ ids: [], status: 'skipped' });
    expect(clock.sleeps).toHaveLength(2);
    expect(warningsOf(logger)).toHaveLength(1);
    expect(warningsOf(logger)[0]).toMatch(/upload of SARIF 1\/1 .*failed: .*ECONNREFUSED.*not affected/);
  });

  test('transient 503s are retried through the clock, then the upload succeeds', async () => {
    let failures = 2;
    const { api, clock, ctx, deps } = await setUp({
      handlers: {
        'code-scanning/upload-sarif': () =>
          failures-- > 0 ? errorReply(503, 'Service Unavailable', { 'retry-after': '2' }) : undefined,
      },
    });
    const result = await uploadSarifFiles([sarifLog(['alpine:3.19'])], ctx, deps);
    expect(result.status).toBe('uploaded');
    expect(
      api.requests.filter((r) => r.operationId === 'code-scanning/upload-sarif').map((r) => r.status),
    ).toEqual([503, 503, 202]);
    // Retry-After: 2 seconds, honoured twice before the polling sleeps.
    expect(clock.sleeps.slice(0, 2)).toEqual([2000, 2000]);
  });
});
