import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ResultsFile } from '../../src/model.js';
import { startGitHubApi, type GitHubApi } from '../../test-support/github-api.js';
import { startRegistry, type TestRegistry } from '../../test-support/registry.js';
import { startReleaseMirror, type ReleaseMirror } from '../../test-support/release-mirror.js';
import { runAction, type ActionRun } from '../../test-support/run-action.js';
import { pullRequestEvent, readStandinLog, scansIn, tempDir, type StandinInvocation } from './fixtures.js';
import { expectNoLeak, markedCredentialInputs } from './hardening-harness.js';

// Base image advice, run as the runner runs it against the real registry: a Dockerfile FROM base/alpine:3.18.4
// (the stand-in's alpine-vulns report: 2 critical, 3 high, fixable) and, in the same repository, newer tags with
// other reports — 3.18.5 (alpine-vulns-next: 2 critical, 1 high), 3.18.6 (clean), 3.18.10 (critical-heavy: 20
// critical, 6 high) — plus tags off the track (3.19.0, 3.18.9-slim) and an older one (3.18.3), all clean, that
// must not be scanned. The advice must pick 3.18.6: not the newest tag (3.18.10 is worse), and 3.18.10 is newer
// than 3.18.6 only by version, not by text.

let registry: TestRegistry;
let mirror: ReleaseMirror;
let toolCache: string;
let repo: string;

const TAGS: [string, string][] = [
  ['3.18.3', 'clean'],
  ['3.18.4', 'alpine-vulns'],
  ['3.18.5', 'alpine-vulns-next'],
  ['3.18.6', 'clean'],
  ['3.18.10', 'critical-heavy'],
  ['3.18.9-slim', 'clean'],
  ['3.19.0', 'clean'],
];

beforeAll(async () => {
  [registry, mirror] = await Promise.all([startRegistry(), startReleaseMirror()]);
  for (const [tag, report] of TAGS) {
    await registry.push('base/alpine', tag, {
      labels: { 'standin.report': report },
      layerContent: `alpine-${tag}`,
    });
  }
  repo = `${registry.host}/base/alpine`;
  toolCache = tempDir('isg-advice-tools-');
}, 120_000);

afterAll(async () => {
  await Promise.all([registry?.close(), mirror?.close()]);
});

interface Run extends ActionRun {
  results: ResultsFile;
  scanned: string[];
  trivyCalls: StandinInvocation[];
}

let logs = 0;

async function scan(opts: { github?: GitHubApi; inputs?: Record<string, string> }): Promise<Run> {
  const workspace = tempDir('isg-advice-ws-');
  fs.writeFileSync(
    path.join(workspace, 'Dockerfile'),
    `# app\nFROM ${repo}:3.18.4 AS base\nRUN apk add --no-cache tini\n`,
  );
  const log = path.join(tempDir('isg-advice-log-'), `standin-${++logs}.log`);
  const pr: Record<string, string> = opts.github
    ? {
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_EVENT_PATH: pullRequestEvent(tempDir('isg-advice-event-'), { number: 12 }),
        GITHUB_REF: 'refs/pull/12/merge',
        GITHUB_BASE_REF: 'main',
        GITHUB_HEAD_REF: 'feature',
        GITHUB_API_URL: opts.github.url,
      }
    : { GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/heads/main' };
  const run = await runAction({
    inputs: {
      'discover-files': 'Dockerfile',
      'trivy-download-url': mirror.baseUrl,
      'trivy-checksum': mirror.sha256,
      'upload-sarif': 'false',
      'fail-on': 'critical',
      ...(opts.github && { 'github-token': 'ghs_adviceE2eToken0123456789' }),
      ...opts.inputs,
    },
    env: { ...registry.env, ...pr, GITHUB_RUN_ID: String(2000 + logs), STANDIN_LOG: log },
    dirs: { workspace, temp: tempDir('isg-advice-temp-'), toolCache },
  });
  const file = run.outputs['results-file'];
  const results = (file ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined) as ResultsFile;
  // The image Trivy was asked to scan is its last argument.
  const trivyCalls = readStandinLog(log);
  const scanned = scansIn(trivyCalls).map((i) => i.argv.at(-1) ?? '');
  return { ...run, results, scanned, trivyCalls };
}

describe('on a pull request, newer tags of the FROM image are scanned apart and the best one recommended', () => {
  let github: GitHubApi;
  let run: Run;

  beforeAll(async () => {
    github = await startGitHubApi();
    // The pull request changes the FROM line (line 2 of the Dockerfile is in its diff).
    github.state.pullFiles.set(12, [
      {
        filename: 'Dockerfile',
        patch: `@@ -1,3 +1,3 @@\n # app\n-FROM ${repo}:3.18.3 AS base\n+FROM ${repo}:3.18.4 AS base\n RUN apk add --no-cache tini`,
      },
    ]);
    run = await scan({ github, inputs: markedCredentialInputs() });
  }, 240_000);

  afterAll(async () => {
    await github?.close();
  });

  test('only the three newest tags on the track are scanned (by version: 3.18.10 first), none off it', () => {
    const candidates = run.scanned.filter((ref) => !ref.endsWith(':3.18.4'));
    expect(candidates.map((ref) => ref.slice(ref.lastIndexOf(':') + 1)).sort()).toEqual(
      ['3.18.10', '3.18.5', '3.18.6'].sort(),
    );
    expect(run.results.baseImageAdvice?.[0].candidates.map((c) => c.tag)).toEqual([
      '3.18.10',
      '3.18.6',
      '3.18.5',
    ]);
  });

  test('the candidates are scanned with the Trivy and DB prepared for the run: installed and checked once', () => {
    const calls = (flag: string) => run.trivyCalls.filter((i) => i.argv.includes(flag));
    expect(calls('--download-db-only')).toHaveLength(1);
    expect(calls('--version')).toHaveLength(1);
    const groups = run.stdout
      .split('\n')
      .filter((l) => l.startsWith('::group::'))
      .map((l) => l.slice('::group::'.length));
    expect(groups.filter((g) => g === 'Installing Trivy')).toHaveLength(1);
    expect(groups.filter((g) => g === "Preparing Trivy's vulnerability databases")).toHaveLength(1);
    // The image itself, then its three candidates, each in a scanning group of its own.
    expect(groups.filter((g) => g.startsWith('Scanning '))).toEqual([
      'Scanning 1 image',
      'Scanning 3 images',
    ]);
  });

  test('the recommendation is 3.18.6, with exact counts, recorded in the results file', () => {
    const [advice] = run.results.baseImageAdvice!;
    expect(run.results.baseImageAdvice).toHaveLength(1);
    expect(advice).toMatchObject({
      ref: `${repo}:3.18.4`,
      tag: '3.18.4',
      origins: [{ file: 'Dockerfile', line: 2 }],
      tally: { critical: 2, high: 3 },
    });
    expect(advice.candidates.map((c) => [c.tag, c.status, c.tally?.critical, c.tally?.high])).toEqual([
      ['3.18.10', 'scanned', 20, 6],
      ['3.18.6', 'scanned', 0, 0],
      ['3.18.5', 'scanned', 2, 1],
    ]);
    expect(advice.recommended).toMatchObject({
      tag: '3.18.6',
      ref: `${repo}:3.18.6`,
      removed: { critical: 2, high: 3 },
    });
  });

  test('the job summary and the PR comment say it in one line', () => {
    const line = `\`${repo}:3.18.4\` in Dockerfile:2 → \`${repo}:3.18.6\`: −2 critical, −3 high (scanned 3 newer tags)`;
    expect(run.summary).toContain(line);
    const comments = [...github.state.comments.values()];
    expect(comments).toHaveLength(1);
    expect(comments[0].body).toContain(line);
  });

  test('a suggested change on the FROM line replaces exactly the tag (OpenAPI-checked)', () => {
    expect(github.violations).toEqual([]);
    expect(github.state.reviewComments).toHaveLength(1);
    const [review] = github.state.reviewComments;
    expect(review).toMatchObject({ pullNumber: 12, path: 'Dockerfile', line: 2, side: 'RIGHT' });
    expect(review.body).toContain(
      `\`${repo}:3.18.6\` has 2 fewer critical and 3 fewer high findings than \`${repo}:3.18.4\``,
    );
    expect(review.body.slice(review.body.indexOf('```suggestion'))).toBe(
      `\`\`\`suggestion\nFROM ${repo}:3.18.6 AS base\n\`\`\``,
    );
  });

  test('a rerun does not post the same suggestion twice', async () => {
    const again = await scan({ github });
    expect(again.results.baseImageAdvice?.[0].recommended?.tag).toBe('3.18.6');
    expect(github.state.reviewComments).toHaveLength(1);
  }, 240_000);

  test('candidates never reach the gate or the images list', () => {
    expect(run.results.images.map((i) => i.target.ref)).toEqual([`${repo}:3.18.4`]);
    // 3.18.10's 20 criticals would fail `fail-on: critical` again; only 3.18.4's findings are violations.
    const violating = new Set(
      (run.results.verdict?.violations ?? []).map((v) => v.image).filter((i) => i !== undefined),
    );
    expect([...violating]).toEqual([`${repo}:3.18.4`]);
    expect(JSON.parse(run.outputs.images) as { ref: string }[]).toHaveLength(1);
  });

  test('no secret reached the advice, the comment or any file', () => {
    expectNoLeak(run, { api: github });
  });
});

test('base-image-candidates: 0 scans no newer tag and gives no advice', async () => {
  const run = await scan({ inputs: { 'base-image-candidates': '0' } });
  expect(run.scanned).toEqual([`${repo}:3.18.4`]);
  expect(run.results.baseImageAdvice).toBeUndefined();
  expect(run.summary).not.toContain('Base image advice');
}, 240_000);

test('a FROM line outside the pull request’s diff gets the summary line only', async () => {
  const github = await startGitHubApi();
  try {
    github.state.pullFiles.set(12, [{ filename: 'README.md', patch: '@@ -1 +1 @@\n-a\n+b' }]);
    const run = await scan({ github });
    expect(run.results.baseImageAdvice?.[0].recommended?.tag).toBe('3.18.6');
    expect(run.summary).toContain(`→ \`${repo}:3.18.6\``);
    expect(github.state.reviewComments).toEqual([]);
    expect(github.requests.some((r) => r.path.endsWith('/pulls/12/files'))).toBe(true);
    expect(github.violations).toEqual([]);
  } finally {
    await github.close();
  }
}, 240_000);

test('without write permission the suggestion is skipped with a notice, the summary keeps the advice', async () => {
  const github = await startGitHubApi({ forkReadOnly: true });
  try {
    github.state.pullFiles.set(12, [
      { filename: 'Dockerfile', patch: `@@ -2 +2 @@\n-FROM x\n+FROM ${repo}:3.18.4 AS base` },
    ]);
    const run = await scan({ github });
    expect(run.summary).toContain(`→ \`${repo}:3.18.6\``);
    expect(github.state.reviewComments).toEqual([]);
    expect(run.stdout).toMatch(/Base image advice: no suggested change: GitHub answered 403/);
  } finally {
    await github.close();
  }
}, 240_000);
