import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ResultsFile } from '../../src/model.js';
import { startGitHubApi, type GitHubApi } from '../../test-support/github-api.js';
import { startRegistry, type TestRegistry } from '../../test-support/registry.js';
import { startReleaseMirror, type ReleaseMirror } from '../../test-support/release-mirror.js';
import { parseWorkflowCommands, runAction, type ActionRun } from '../../test-support/run-action.js';
import { pullRequestEvent, readStandinLog, scansIn, tempDir } from './fixtures.js';
import { expectNoLeak, markedCredentialInputs } from './hardening-harness.js';

// New, fixed and unchanged against the base branch, run as the runner runs it. A run on `push` to main stores its
// results as main's baseline (the Actions cache service is absent here, so the store is the runner's own directory
// under RUNNER_TEMP, which the cache would otherwise restore); a `pull_request` into main bumps the Dockerfile's
// FROM to another tag of the same repository in the real registry — a later Alpine release whose report fixes
// three findings and adds one critical — and the PR comment (through the OpenAPI-checked GitHub API) shows the
// exact delta while the gate (`new-findings-only`, `fail-on: high`) fails on the new finding alone. Without a
// baseline the gate falls back to the full policy and says so.

let registry: TestRegistry;
let mirror: ReleaseMirror;
let toolCache: string;
let base: string;
let next: string;

const NEW_ID = 'CVE-2024-6119';
const FIXED_IDS = ['CVE-2023-38545', 'CVE-2023-5363', 'CVE-2023-5363'];
const OLD_CRITICAL = 'CVE-2022-48174';

beforeAll(async () => {
  [registry, mirror] = await Promise.all([startRegistry(), startReleaseMirror()]);
  await registry.push('base/alpine', '3.18.4', {
    labels: { 'standin.report': 'alpine-vulns' },
    layerContent: 'alpine-3.18.4',
  });
  await registry.push('base/alpine', '3.18.6', {
    labels: { 'standin.report': 'alpine-vulns-next' },
    layerContent: 'alpine-3.18.6',
  });
  base = `${registry.host}/base/alpine:3.18.4`;
  next = `${registry.host}/base/alpine:3.18.6`;
  toolCache = tempDir('isg-baseline-tools-');
}, 120_000);

afterAll(async () => {
  await Promise.all([registry?.close(), mirror?.close()]);
});

function workspaceFrom(image: string): string {
  const ws = tempDir('isg-baseline-ws-');
  fs.writeFileSync(path.join(ws, 'Dockerfile'), `# app\nFROM ${image}\nRUN apk add --no-cache tini\n`);
  return ws;
}

interface Run extends ActionRun {
  results: ResultsFile & { verdict: { violations: { rule: string; findings: string[] }[] } };
  scans: number;
}

let logs = 0;

async function scan(opts: {
  workspace: string;
  temp: string;
  event: 'push' | 'pull_request';
  github?: GitHubApi;
  inputs?: Record<string, string>;
}): Promise<Run> {
  const log = path.join(tempDir('isg-baseline-log-'), `standin-${++logs}.log`);
  const pr: Record<string, string> =
    opts.event === 'pull_request'
      ? {
          GITHUB_EVENT_NAME: 'pull_request',
          GITHUB_EVENT_PATH: pullRequestEvent(tempDir('isg-baseline-event-'), { number: 11 }),
          GITHUB_REF: 'refs/pull/11/merge',
          GITHUB_BASE_REF: 'main',
          GITHUB_HEAD_REF: 'bump-alpine',
        }
      : { GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/heads/main' };
  const run = await runAction({
    inputs: {
      'discover-files': 'Dockerfile',
      'trivy-download-url': mirror.baseUrl,
      'trivy-checksum': mirror.sha256,
      'upload-sarif': 'false',
      'fail-on': 'high',
      'new-findings-only': 'true',
      ...(opts.github && { 'github-token': 'ghs_baselineE2eToken0123456789' }),
      ...opts.inputs,
    },
    env: {
      ...registry.env,
      ...pr,
      GITHUB_RUN_ID: String(1000 + logs),
      ...(opts.github && { GITHUB_API_URL: opts.github.url }),
      STANDIN_LOG: log,
    },
    dirs: { workspace: opts.workspace, temp: opts.temp, toolCache },
  });
  const file = run.outputs['results-file'];
  const results = (file ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined) as Run['results'];
  return { ...run, results, scans: scansIn(readStandinLog(log)).length };
}

function commentOf(github: GitHubApi): string {
  const comments = [...github.state.comments.values()];
  expect(comments).toHaveLength(1);
  return comments[0].body;
}

describe('a push stores the baseline; a pull request that bumps FROM to another tag is compared with it', () => {
  const runnerTemp = tempDir('isg-baseline-temp-');
  let github: GitHubApi;
  let push: Run;
  let pr: Run;

  beforeAll(async () => {
    github = await startGitHubApi();
    push = await scan({ workspace: workspaceFrom(base), temp: runnerTemp, event: 'push' });
    pr = await scan({
      workspace: workspaceFrom(next),
      temp: runnerTemp,
      event: 'pull_request',
      github,
      inputs: { ...markedCredentialInputs(), 'upload-sarif': 'false' },
    });
  }, 240_000);

  afterAll(async () => {
    await github?.close();
  });

  test('the push run had no baseline: the full policy applied, and the summary says so in one line', () => {
    expect(push.exitCode, push.stdout).toBe(1);
    expect(push.outputs.new).toBe('');
    expect(push.summary).toContain(
      'No baseline to compare with: this run is not a pull request and the baseline input is empty; the gate applies the full policy to every finding.',
    );
    expect(push.results.verdict.violations.flatMap((v) => v.findings).join(' ')).toContain(OLD_CRITICAL);
    expect(push.stdout).toMatch(/baseline: the Actions cache service is not available here/);
  });

  test('the pull request compares alpine:3.18.6 with alpine:3.18.4: exact new / fixed / unchanged counts', () => {
    expect(pr.outputs.new).toBe('1');
    expect(pr.outputs.fixed).toBe('3');
    const delta = pr.results.delta!;
    expect(delta.baseline?.source).toBe('the last run on "main"');
    expect(delta.images).toHaveLength(1);
    expect(delta.images[0]).toMatchObject({ ref: next, baselineRef: base, change: 'compared', unchanged: 6 });
    expect(delta.images[0].new.map((f) => f.id)).toEqual([NEW_ID]);
    expect(delta.images[0].fixed.map((f) => f.id).sort()).toEqual([...FIXED_IDS].sort());
  });

  test('the PR comment leads with the delta, the new finding listed, the fixed ones folded', () => {
    const body = commentOf(github);
    const line = `- \`${next}\` (was \`${base}\`): +1 new (1 critical), −3 fixed, 6 unchanged`;
    expect(body).toContain(line);
    expect(body.indexOf('Against the base branch')).toBeLessThan(body.indexOf('**Images**'));
    const fresh = body.slice(
      body.indexOf('**New** (1)'),
      body.indexOf('<details><summary>Fixed (3)</summary>'),
    );
    expect(fresh).toContain(NEW_ID);
    expect(fresh).not.toContain(OLD_CRITICAL);
    expect(body.slice(body.indexOf('<details><summary>Fixed (3)</summary>'))).toContain('CVE-2023-38545');
  });

  test('the gate fails on the new finding only', () => {
    expect(pr.exitCode, pr.stdout).toBe(1);
    expect(pr.outputs.result).toBe('fail');
    const failing = pr.results.verdict.violations.map((v) => `${v.rule}: ${v.findings.join(', ')}`);
    expect(failing).toEqual([`fail-on: ${NEW_ID} (libssl3)`]);
  });

  test('the annotation on the changed FROM line names the new finding', () => {
    const onFrom = parseWorkflowCommands(pr.stdout).filter(
      (c) => c.properties.file === 'Dockerfile' && c.properties.line === '2',
    );
    expect(onFrom).toHaveLength(1);
    expect(onFrom[0].message).toContain(
      `New against the base branch: +1 new (1 critical): ${NEW_ID} (CRITICAL) libssl3`,
    );
  });

  test('no secret reached the baseline store, the comment or any file', () => {
    expectNoLeak(pr, { api: github });
  });
});

describe('without a baseline the gate falls back to the full policy and says so', () => {
  test('a pull request on a runner with nothing stored for main (first run, cache miss)', async () => {
    const github = await startGitHubApi();
    try {
      const run = await scan({
        workspace: workspaceFrom(next),
        temp: tempDir('isg-baseline-empty-'),
        event: 'pull_request',
        github,
      });
      expect(run.exitCode).toBe(1);
      expect(run.outputs.new).toBe('');
      expect(run.outputs.fixed).toBe('');
      const body = commentOf(github);
      expect(body).toContain(
        '> No baseline to compare with: no results of "main" are stored yet (its first run, or the cache entry ' +
          'expired); the gate applies the full policy to every finding.',
      );
      // The old critical counts again: never a silent pass.
      expect(run.results.verdict.violations.flatMap((v) => v.findings).join(' ')).toContain(OLD_CRITICAL);
    } finally {
      await github.close();
    }
  }, 120_000);
});

describe('the baseline input: an artifact instead of the cache', () => {
  test('a results file in RUNNER_TEMP is the baseline, with no cache at all', async () => {
    const first = await scan({
      workspace: workspaceFrom(base),
      temp: tempDir('isg-baseline-a-'),
      event: 'push',
    });
    const temp = tempDir('isg-baseline-b-');
    fs.mkdirSync(path.join(temp, 'artifact'));
    fs.copyFileSync(first.outputs['results-file'], path.join(temp, 'artifact', 'results.json'));
    const run = await scan({
      workspace: workspaceFrom(next),
      temp,
      event: 'pull_request',
      inputs: { baseline: path.join(temp, 'artifact', '*.json'), 'pr-comment': 'never' },
    });
    expect(run.outputs.new).toBe('1');
    expect(run.outputs.fixed).toBe('3');
    expect(run.summary).toContain('+1 new (1 critical), −3 fixed, 6 unchanged');
  }, 120_000);
});

describe('hostile baselines are refused before any scan, naming `baseline`', () => {
  async function refused(workspace: string, baseline: string): Promise<Run> {
    const run = await scan({
      workspace,
      temp: tempDir('isg-baseline-h-'),
      event: 'pull_request',
      inputs: { baseline, 'pr-comment': 'never' },
    });
    expect(run.exitCode).toBe(1);
    expect(run.scans, 'no image was scanned').toBe(0);
    const errors = parseWorkflowCommands(run.stdout).filter((c) => c.command === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/^`?baseline`?:/);
    return run;
  }

  test('a glob escaping the workspace', async () => {
    const run = await refused(workspaceFrom(next), '../../../../etc/*');
    expect(run.stdout).toContain('leads outside the workspace and RUNNER_TEMP');
    expect(run.stdout).not.toContain('root:x:');
  }, 60_000);

  test('a malformed file, never echoed', async () => {
    const ws = workspaceFrom(next);
    fs.writeFileSync(
      path.join(ws, 'base.json'),
      '{"schema": "image-scan-gate/results@1", "images": "::warning::pwned"}',
    );
    const run = await refused(ws, 'base.json');
    expect(run.stdout).toContain('is not a valid results file');
    expect(run.stdout).not.toContain('pwned');
  }, 60_000);

  test('a huge file, refused by its size', async () => {
    const ws = workspaceFrom(next);
    fs.writeFileSync(path.join(ws, 'huge.json'), '');
    fs.truncateSync(path.join(ws, 'huge.json'), 256 * 1024 * 1024 + 1); // sparse
    const run = await refused(ws, 'huge.json');
    expect(run.stdout).toContain('is larger than 256 MiB');
    fs.rmSync(path.join(ws, 'huge.json'));
  }, 60_000);

  test('a baseline whose image names carry Markdown and mentions renders them inert', async () => {
    const github = await startGitHubApi();
    try {
      const first = await scan({
        workspace: workspaceFrom(base),
        temp: tempDir('isg-baseline-c-'),
        event: 'push',
      });
      const hostile = JSON.parse(fs.readFileSync(first.outputs['results-file'], 'utf8')) as ResultsFile;
      const evil = `${registry.host}/@acme/admins [click](https://evil.test) <img src=x onerror=alert(1)>`;
      hostile.images[0].target.ref = evil;
      hostile.images[0].target.repository = '@acme/admins';
      hostile.images[0].findings[0].id = 'CVE-1 @octocat **bold** <script>x</script>';
      const ws = workspaceFrom(next);
      fs.writeFileSync(path.join(ws, 'base.json'), JSON.stringify(hostile));
      const run = await scan({
        workspace: ws,
        temp: tempDir('isg-baseline-d-'),
        event: 'pull_request',
        github,
        inputs: { baseline: 'base.json' },
      });
      expect(run.outputs.fixed).toBe(String(hostile.images[0].findings.length));
      const body = commentOf(github);
      const section = body.slice(body.indexOf('Against the base branch'), body.indexOf('</details>'));
      expect(section).toContain('no longer scanned (removed by this change)');
      const prose = section.replace(/(`+)[\s\S]*?\1/g, '');
      expect(prose).toContain('CVE-1');
      expect(prose).not.toMatch(/@(?=[A-Za-z0-9])/);
      expect(prose).not.toMatch(/(?<!\\)<(img|script)[\s>]/);
      expect(prose).not.toMatch(/(?<!\\)\]\(https:\/\/evil/);
      expect(run.stdout).not.toMatch(/^::warning::pwned/m);
    } finally {
      await github.close();
    }
  }, 120_000);
});
