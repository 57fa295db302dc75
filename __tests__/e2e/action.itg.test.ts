import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startGitHubApi, type GitHubApi } from '../../test-support/github-api.js';
import { startRegistry, type TestRegistry } from '../../test-support/registry.js';
import { startReleaseMirror, type ReleaseMirror } from '../../test-support/release-mirror.js';
import { parseWorkflowCommands, runAction } from '../../test-support/run-action.js';
import {
  filesUnder,
  pullRequestEvent,
  readStandinLog,
  scansIn,
  templateCounts,
  tempDir,
} from './fixtures.js';

// The bundle (dist/index.js) run as the runner runs it, under Node 24: the real installer downloads the Trivy
// stand-in from a local release mirror and verifies it; images pushed to the real Debian registry (htpasswd over
// TLS) are scanned; a local GitHub API checks every request against GitHub's OpenAPI description.

const PASSWORD_USER = 'scanner';
const PASSWORD = 'Reg1stry-S3cret-Value';
const GITHUB_TOKEN = 'ghs_e2eTokenValue0123456789';

let registry: TestRegistry;
let mirror: ReleaseMirror;
let digests: Record<string, string>;

beforeAll(async () => {
  [registry, mirror] = await Promise.all([
    startRegistry({ auth: 'htpasswd', tls: true, users: { [PASSWORD_USER]: PASSWORD } }),
    startReleaseMirror(),
  ]);
  const apiImage = {
    labels: { 'standin.report': 'alpine-vulns' },
    layerContent: 'api',
    created: '2026-10-01T08:00:00Z',
  };
  const api = await registry.push('shop/api', '1.0', apiImage);
  const stable = await registry.push('shop/api', 'stable', apiImage); // the same image under a second tag
  if (stable.digest !== api.digest)
    throw new Error('fixture: shop/api:stable should share the digest of 1.0');
  const web = await registry.push('shop/web', '2.0', {
    labels: { 'standin.report': 'node-app' },
    layerContent: 'web',
  });
  const tools = await registry.push('base/tools', '3.1', {
    labels: { 'standin.report': 'clean' },
    layerContent: 'tools',
  });
  digests = { api: api.digest, web: web.digest, tools: tools.digest };
}, 120_000);

afterAll(async () => {
  await Promise.all([registry?.close(), mirror?.close()]);
});

function workspaceWithDockerfile(): string {
  const ws = tempDir('isg-ws-');
  fs.writeFileSync(
    path.join(ws, 'Dockerfile'),
    [
      `FROM ${registry.host}/shop/api:1.0 AS build`,
      'RUN make',
      `FROM ${registry.host}/shop/web:2.0`,
      'COPY --from=build /out /app',
      '',
    ].join('\n'),
  );
  return ws;
}

function scanInputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    images: [
      `${registry.host}/shop/api:1.0`,
      `${registry.host}/shop/api:stable`,
      `${registry.host}/base/tools:3.1`,
    ].join('\n'),
    'discover-files': 'Dockerfile',
    'registry-username': PASSWORD_USER,
    'registry-password': PASSWORD,
    'github-token': GITHUB_TOKEN,
    'trivy-download-url': mirror.baseUrl,
    'trivy-checksum': mirror.sha256,
    'cache-db': 'true',
    parallel: '2',
    'fail-on': 'high',
    ...extra,
  };
}

describe('scan mode, end to end, on a pull request', () => {
  let github: GitHubApi;
  let first: Awaited<ReturnType<typeof runAction>>;
  let second: Awaited<ReturnType<typeof runAction>>;
  /** summary.md as the first run wrote it (the second run writes the same path, maybe a minute later). */
  let firstSummaryFile: string;
  let log: string;

  beforeAll(async () => {
    github = await startGitHubApi();
    const dirs = tempDir('isg-e2e-');
    log = path.join(dirs, 'standin.log');
    const workspace = workspaceWithDockerfile();
    const env = {
      ...registry.env,
      GITHUB_API_URL: github.url,
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: pullRequestEvent(dirs, { number: 7 }),
      GITHUB_REF: 'refs/pull/7/merge',
      STANDIN_LOG: log,
    };
    first = await runAction({ inputs: scanInputs(), env, dirs: { workspace }, post: true });
    firstSummaryFile = fs.readFileSync(first.outputs['summary-file'], 'utf8');
    second = await runAction({
      inputs: scanInputs(),
      env,
      dirs: { workspace, toolCache: first.dirs.toolCache },
      post: true,
    });
  }, 240_000);

  afterAll(async () => {
    await github?.close();
  });

  test('the gate fails the step (fail-on: high) and says why', () => {
    expect(first.exitCode, first.stderr + first.stdout).toBe(1);
    expect(first.outputs.result).toBe('fail');
    expect(first.stdout).toContain('::error::Image Scan Gate: the policy failed.');
    expect(Number(first.outputs.violations)).toBeGreaterThan(0);
  });

  test('each unique digest is scanned once: api:1.0 and api:stable share one scan', () => {
    const scans = scansIn(readStandinLog(log));
    const firstRunScans = scans.filter((s) => s.start <= fs.statSync(first.dirs.files).mtimeMs + 1e9).length;
    expect(firstRunScans).toBeGreaterThan(0);
    const refs = scans
      .map((s) => s.argv.at(-1))
      .slice(0, 3)
      .sort();
    expect(refs).toEqual(
      [
        `${registry.host}/base/tools:3.1`,
        `${registry.host}/shop/api:1.0`,
        `${registry.host}/shop/web:2.0`,
      ].sort(),
    );
    for (const s of scans) {
      expect(s.argv).toEqual(
        expect.arrayContaining(['--format', 'json', '--skip-db-update', '--cache-backend', 'memory']),
      );
      expect(s.argv).not.toContain('--exit-code');
    }
  });

  test('outputs count what the reports hold (counted independently from the templates)', () => {
    const api = templateCounts('alpine-vulns');
    const web = templateCounts('node-app');
    expect(Number(first.outputs.critical)).toBe(api.CRITICAL + web.CRITICAL);
    expect(Number(first.outputs.high)).toBe(api.HIGH + web.HIGH);
    expect(Number(first.outputs.medium)).toBe(api.MEDIUM + web.MEDIUM);
    expect(Number(first.outputs.low)).toBe(api.LOW + web.LOW);
    expect(Number(first.outputs.fixable)).toBe(api.fixable + web.fixable);
    const images = JSON.parse(first.outputs.images) as { ref: string; digest: string; verdict: string }[];
    const byRef = Object.fromEntries(images.map((i) => [i.ref, i]));
    expect(images).toHaveLength(3);
    expect(byRef[`${registry.host}/shop/api:1.0`].digest).toBe(digests.api);
    expect(byRef[`${registry.host}/shop/web:2.0`].digest).toBe(digests.web);
    expect(byRef[`${registry.host}/base/tools:3.1`]).toMatchObject({
      digest: digests.tools,
      verdict: 'pass',
    });
  });

  test('output-dir holds the results file, raw reports, SARIF and the summary', () => {
    const results = JSON.parse(fs.readFileSync(first.outputs['results-file'], 'utf8'));
    expect(results.schema).toBe('image-scan-gate/results@1');
    expect(results.verdict.result).toBe('fail');
    const api = results.images.find((i: { digest: string }) => i.digest === digests.api);
    expect([api.target.tag, ...(api.target.tags ?? [])].sort()).toEqual(['1.0', 'stable']);
    expect(api.target.origins.map((o: { file: string; line: number }) => `${o.file}:${o.line}`)).toEqual([
      'Dockerfile:1',
    ]);
    // Compared with what the first run wrote: its "DB updated N min ago" may differ from the second run's.
    expect(first.summary).toContain(firstSummaryFile.trim());
    expect(first.summary).toContain('fail');
    for (const ref of ['shop/api', 'shop/web', 'base/tools']) expect(first.summary).toContain(ref);
    const reports = fs.readdirSync(path.join(path.dirname(first.outputs['results-file']), 'reports'));
    expect(reports).toHaveLength(3);
    expect(fs.existsSync(first.outputs['sarif-file'])).toBe(true);
  });

  test('annotations land on the Dockerfile lines that pull the images in', () => {
    const cmds = parseWorkflowCommands(first.stdout).filter((c) => c.properties.file === 'Dockerfile');
    const lines = cmds.map((c) => Number(c.properties.line)).sort();
    expect(lines).toEqual([1, 3]);
    expect(cmds.find((c) => c.properties.line === '1')?.command).toBe('error');
  });

  test('one sticky comment: created by the first run, updated by the second', () => {
    const comments = [...github.state.comments.values()];
    expect(comments).toHaveLength(1);
    expect(comments[0].issueNumber).toBe(7);
    expect(comments[0].body).toMatch(/^<!-- image-scan-gate:image-scan key=[0-9a-f]{16} -->/);
    const posts = github.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/issues/7/comments'));
    const patches = github.requests.filter((r) => r.method === 'PATCH');
    expect(posts).toHaveLength(1);
    expect(patches).toHaveLength(1);
    expect(first.outputs['comment-url']).toBe(second.outputs['comment-url']);
  });

  test('SARIF is uploaded for the merge ref and equals the file written', () => {
    const uploads = [...github.state.sarifs.values()];
    expect(uploads.length).toBe(2); // one per run
    expect(uploads[0]).toMatchObject({ ref: 'refs/pull/7/merge', commitSha: 'a'.repeat(40) });
    expect(uploads[0].sarif).toEqual(JSON.parse(fs.readFileSync(first.outputs['sarif-file'], 'utf8')));
    expect(first.outputs['sarif-ids']).toBe(uploads[0].id);
  });

  test('every GitHub request matches the OpenAPI description', () => {
    expect(github.violations).toEqual([]);
  });

  test('the second run in the same tool cache downloads nothing', () => {
    const assetRequests = mirror.requests.filter((r) => r.endsWith(mirror.assetName));
    expect(assetRequests).toHaveLength(1);
    expect(second.exitCode).toBe(1);
    expect(second.outputs.result).toBe('fail');
  });

  test('secrets never reach logs, outputs, files or any process argv', () => {
    const invocations = readStandinLog(log);
    expect(invocations.length).toBeGreaterThan(0);
    for (const run of [first, second]) {
      const haystacks = [
        run.stdout,
        run.stderr,
        JSON.stringify(run.outputs),
        run.summary,
        run.post?.stdout ?? '',
        run.post?.stderr ?? '',
        ...filesUnder(path.dirname(run.outputs['results-file'])).map((f) => fs.readFileSync(f, 'utf8')),
        ...invocations.map((i) => JSON.stringify(i.argv)),
      ];
      for (const raw of haystacks) {
        // `::add-mask::` is how a secret is handed to the runner to mask; the runner never displays it.
        const text = raw.replace(/^::add-mask::.*$/gm, '');
        expect(text).not.toContain(PASSWORD);
        expect(text).not.toContain(GITHUB_TOKEN);
        expect(text).not.toContain(Buffer.from(`${PASSWORD_USER}:${PASSWORD}`).toString('base64'));
      }
    }
    // Trivy got credentials from the private Docker config, never from TRIVY_USERNAME/TRIVY_PASSWORD.
    for (const i of scansIn(invocations)) expect(i.credentialEnv).toEqual(['DOCKER_CONFIG']);
  });

  test('the post step leaves no temporary credentials behind', () => {
    const dir = first.state.dockerConfigDir;
    expect(dir).toBeTruthy();
    expect(first.post?.exitCode).toBe(0);
    expect(fs.existsSync(dir)).toBe(false);
  });
});

describe('refusals', () => {
  test('a tampered archive is refused with a clear error and nothing is cached', async () => {
    const tampered = await startReleaseMirror({ tamper: true });
    try {
      const run = await runAction({
        inputs: {
          ...scanInputs(),
          'trivy-download-url': tampered.baseUrl,
          'trivy-checksum': tampered.sha256,
        },
        env: { ...registry.env, GITHUB_EVENT_NAME: 'push' },
      });
      expect(run.exitCode).toBe(1);
      expect(run.stdout).toMatch(/SHA-256/i);
      expect(run.stdout).toContain(tampered.sha256);
      expect(fs.readdirSync(run.dirs.toolCache)).toEqual([]);
      expect(run.outputs.result).toBeUndefined();
    } finally {
      await tampered.close();
    }
  }, 120_000);

  test('without trivy-checksum, the built-in pin for 0.74.0 refuses the stand-in archive', async () => {
    const inputs = scanInputs();
    delete inputs['trivy-checksum'];
    const run = await runAction({ inputs, env: { ...registry.env, GITHUB_EVENT_NAME: 'push' } });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('2ae6fe3ee734b7fdf11335663e18c75ea12dccc76062f09f164a3b0f8be4371a');
  }, 120_000);

  test.each([
    [{ 'fail-on': 'severe' }, 'fail-on'],
    [{ parallel: '-1' }, 'parallel'],
    [{ images: 'Shop/API:1' }, 'images'],
    [{ mode: 'report', reports: 'missing/*.json' }, 'reports'],
  ])(
    'bad input %j fails before any download, naming `%s`',
    async (bad, input) => {
      const before = mirror.requests.length;
      const run = await runAction({
        inputs: { ...scanInputs(), ...bad },
        env: { GITHUB_EVENT_NAME: 'push' },
      });
      expect(run.exitCode).toBe(1);
      expect(run.stdout).toMatch(new RegExp(`::error::.*${input}`));
      expect(mirror.requests.length).toBe(before);
      expect(run.outputs.result).toBeUndefined();
    },
    60_000,
  );
});

describe('failures and events', () => {
  test("an image that cannot be pulled is reported with the registry's words and does not stop the others", async () => {
    const github = await startGitHubApi();
    try {
      const run = await runAction({
        inputs: scanInputs({
          images: `${registry.host}/shop/api:1.0\n${registry.host}/shop/missing:9.9`,
          'discover-files': '',
          'fail-on': 'none',
        }),
        env: { ...registry.env, GITHUB_API_URL: github.url, GITHUB_EVENT_NAME: 'push' },
      });
      const images = JSON.parse(run.outputs.images) as { ref: string; status: string; verdict: string }[];
      const missing = images.find((i) => i.ref.endsWith('shop/missing:9.9'));
      expect(missing).toMatchObject({ status: 'failed', verdict: 'error' });
      expect(images.find((i) => i.ref.endsWith('shop/api:1.0'))?.status).toBe('scanned');
      expect(run.summary).toMatch(/MANIFEST_UNKNOWN|manifest unknown/i);
      // A failed image fails the gate unless the policy says otherwise, even with fail-on: none.
      expect(run.outputs.result).toBe('fail');
      expect(run.exitCode).toBe(1);
      // A push event: no pull request, so no comment request at all.
      expect(github.requests.filter((r) => r.path.includes('/comments'))).toEqual([]);
      expect(github.violations).toEqual([]);
    } finally {
      await github.close();
    }
  }, 120_000);

  test('a fork pull request scans and summarises, but neither uploads nor comments, and says so once', async () => {
    const github = await startGitHubApi({ forkReadOnly: true });
    const dir = tempDir('isg-fork-');
    try {
      const run = await runAction({
        inputs: scanInputs({ images: `${registry.host}/base/tools:3.1`, 'discover-files': '' }),
        env: {
          ...registry.env,
          GITHUB_API_URL: github.url,
          GITHUB_EVENT_NAME: 'pull_request',
          GITHUB_EVENT_PATH: pullRequestEvent(dir, { number: 9, fork: true }),
          GITHUB_REF: 'refs/pull/9/merge',
        },
      });
      expect(run.exitCode, run.stdout).toBe(0);
      expect(run.outputs.result).toBe('pass');
      expect(run.summary).toContain('base/tools');
      expect(github.requests).toEqual([]);
      expect(run.stdout.match(/::notice::.*fork/gi)?.length ?? 0).toBeGreaterThanOrEqual(1);
    } finally {
      await github.close();
    }
  }, 120_000);
});
