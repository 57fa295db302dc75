import { afterEach, describe, expect, test } from 'vitest';
import { startGitHubApi, type GitHubApi } from '../../test-support/github-api.js';

// The fake checks requests against GitHub's OpenAPI description; the other suites trust `violations` being
// empty, so prove here that it is not empty when a request is wrong.

let api: GitHubApi | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

async function send(method: string, path: string, body?: unknown) {
  const res = await fetch(`${api!.url}${path}`, {
    method,
    headers: {
      authorization: 'token t',
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

describe('the local GitHub API checks requests against the OpenAPI description', () => {
  test('a documented request with a valid body is accepted and matched to its operation', async () => {
    api = await startGitHubApi();
    const res = await send('POST', '/repos/acme/shop/issues/7/comments', { body: 'hello' });
    expect(res.status).toBe(201);
    expect(api.violations).toEqual([]);
    expect(api.requests[0].operationId).toBe('issues/create-comment');
    expect(api.requests[0].params).toEqual({ owner: 'acme', repo: 'shop', issue_number: '7' });
  });

  test('an unknown route is a violation', async () => {
    api = await startGitHubApi();
    const res = await send('POST', '/repos/acme/shop/code-scanning/sarif', { sarif: 'x' });
    expect(res.status).toBe(404);
    expect(api.violations).toHaveLength(1);
    expect(api.violations[0]).toMatch(/no such operation/);
  });

  test('a known path with the wrong method is a violation', async () => {
    api = await startGitHubApi();
    await send('PUT', '/repos/acme/shop/issues/comments/5', { body: 'x' });
    expect(api.violations[0]).toMatch(/no such operation/);
  });

  test('a body that breaks the requestBody schema is a violation naming the field', async () => {
    api = await startGitHubApi();
    await send('POST', '/repos/acme/shop/code-scanning/sarifs', {
      commit_sha: 'not-a-sha',
      ref: 'main',
      sarif: 'H4sI',
      unknown_field: true,
    });
    const joined = api.violations.join('\n');
    expect(joined).toMatch(/\/commit_sha/);
    expect(joined).toMatch(/\/ref must match pattern/);
    expect(joined).toMatch(/additional properties/);
  });

  test('a missing required body and undeclared or mistyped parameters are violations', async () => {
    api = await startGitHubApi();
    await send('PATCH', '/repos/acme/shop/issues/comments/5');
    await send('GET', '/repos/acme/shop/issues/7/comments?per_page=100&sort=created');
    await send('GET', '/repos/acme/shop/issues/seven/comments');
    const joined = api.violations.join('\n');
    expect(joined).toMatch(/request body is required/);
    expect(joined).toMatch(/query parameter "sort" is not in GitHub's description/);
    expect(joined).toMatch(/path parameter issue_number=seven/);
  });

  test('SARIF that is not gzip + base64, or holds two runs with one category, is refused', async () => {
    api = await startGitHubApi();
    const common = { commit_sha: 'a'.repeat(40), ref: 'refs/heads/main' };
    const notGzip = await send('POST', '/repos/acme/shop/code-scanning/sarifs', {
      ...common,
      sarif: Buffer.from('{"version":"2.1.0"}').toString('base64'),
    });
    expect(notGzip.status).toBe(400);
    const { gzipSync } = await import('node:zlib');
    const run = { tool: { driver: { name: 'T' } }, automationDetails: { id: 'same/' }, results: [] };
    const twice = await send('POST', '/repos/acme/shop/code-scanning/sarifs', {
      ...common,
      sarif: gzipSync(JSON.stringify({ version: '2.1.0', runs: [run, run] })).toString('base64'),
    });
    expect(twice.status).toBe(400);
    expect(api.violations).toHaveLength(2);
    expect(api.violations[1]).toMatch(/share tool "T" and category "same"/);
  });

  test('read-only token mode answers writes with 403 and reads normally', async () => {
    api = await startGitHubApi({ forkReadOnly: true });
    const write = await send('POST', '/repos/acme/shop/issues/7/comments', { body: 'hello' });
    const read = await send('GET', '/repos/acme/shop/issues/7/comments');
    expect(write.status).toBe(403);
    expect(JSON.parse(write.text).message).toBe('Resource not accessible by integration');
    expect(read.status).toBe(200);
    expect(api.state.comments.size).toBe(0);
  });

  test('comment listing pages with Link headers like GitHub', async () => {
    api = await startGitHubApi();
    for (let i = 0; i < 5; i++) api.addComment(7, `c${i}`);
    const res = await fetch(`${api.url}/repos/acme/shop/issues/7/comments?per_page=2&page=2`);
    const page = (await res.json()) as { body: string }[];
    expect(page.map((c) => c.body)).toEqual(['c2', 'c3']);
    const link = res.headers.get('link')!;
    expect(link).toContain('page=3>; rel="next"');
    expect(link).toContain('page=1>; rel="prev"');
    expect(api.violations).toEqual([]);
  });
});
