import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { projectRoot } from '../../test-support/paths.js';
import { startGitHubApi, type GitHubApi } from '../../test-support/github-api.js';
import { parseWorkflowCommands, runAction, type ActionRun } from '../../test-support/run-action.js';
import { liveMentions } from '../report/fixtures/render/markdown-tables.js';
import { pullRequestEvent, tempDir } from './fixtures.js';
import { expectNoLeak, markedCredentialInputs, markedRunnerEnv, readResults } from './hardening-harness.js';

// Hostile reports through the bundle (mode: report, so no registry is needed): what Trivy, a registry or a pull
// request puts into names, tags, IDs and titles must stay inert in the log, the summary and the PR comment, and the
// verdict must say exactly what happened (../shared/SECURITY.md rules 4, 8, 9).

type Json = Record<string, unknown>;
const BASE = JSON.parse(
  fs.readFileSync(path.join(projectRoot, 'examples/reports/nginx-1.25.json'), 'utf8'),
) as Json & { Results: { Vulnerabilities: Json[] }[] };

/** The example nginx report (a fixable CRITICAL, several HIGH), with fields replaced. */
function report(artifactName: string, edit: (v: Json, i: number) => Json = (v) => v): Json {
  const copy = structuredClone(BASE);
  copy.ArtifactName = artifactName;
  for (const r of copy.Results) r.Vulnerabilities = r.Vulnerabilities.map(edit);
  return copy;
}

function workspace(files: Record<string, Json | string>): string {
  const ws = tempDir('isg-render-');
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(ws, name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  }
  return ws;
}

const reportInputs = (extra: Record<string, string> = {}) => ({
  ...markedCredentialInputs(),
  mode: 'report',
  reports: 'reports/*.json',
  'upload-sarif': 'false',
  ...extra,
});

let github: GitHubApi;
beforeAll(async () => {
  github = await startGitHubApi();
});
afterAll(async () => {
  await github?.close();
});

/** A run on pull request #number, with marker secrets in the runner's environment. */
async function onPullRequest(
  ws: string,
  inputs: Record<string, string>,
  opts: { number?: number; env?: Record<string, string> } = {},
) {
  const number = opts.number ?? 7;
  const dir = tempDir('isg-render-event-');
  return runAction({
    inputs,
    dirs: { workspace: ws },
    env: {
      ...markedRunnerEnv(),
      GITHUB_API_URL: github.url,
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_EVENT_PATH: pullRequestEvent(dir, { number }),
      GITHUB_REF: `refs/pull/${number}/merge`,
      ...opts.env,
    },
  });
}

const commentsOn = (number: number) =>
  [...github.state.comments.values()].filter((c) => c.issueNumber === number);

/** Every stdout line as the runner reads it (it splits at CR too), whitespace trimmed as TryParseV2 does. */
function logLines(run: ActionRun): string[] {
  return run.stdout.split(/\r\n|\r|\n/).map((l) => l.trimStart());
}

function expectNoInjectedCommand(run: ActionRun): void {
  const commands = parseWorkflowCommands(run.stdout);
  expect(commands.filter((c) => c.message.startsWith('pwned') || c.command === 'stop-commands')).toEqual([]);
  for (const line of logLines(run)) {
    expect(line).not.toMatch(/^::(error|warning|notice)::pwned|^::stop-commands::/);
    expect(line).not.toContain('##[');
  }
}

describe('untrusted text cannot start a workflow command in the log', () => {
  test('newlines with ::error:: / ::stop-commands:: / ##[ in a report file name, ArtifactName and a compose image', async () => {
    const ws = workspace({
      // A report file whose very name carries a command (it is printed when read).
      'reports/evil\n::error::pwned from a file name.json': report('ghcr.io/acme/api:1.0'),
      'reports/artifact.json': report('evil\n::error::pwned\r::stop-commands::x ##[stop-commands]y'),
      // An image reference read from a repository file (discover-files prints the unresolved ones).
      'compose.yml': 'services:\n  web:\n    image: "web\\n::stop-commands::tok\\n::error::pwned"\n',
    });
    const run = await onPullRequest(ws, reportInputs({ 'discover-files': 'compose.yml', gate: 'warn' }));
    expect(run.exitCode, run.stdout).toBe(0);
    expectNoInjectedCommand(run);
    // The text is still there, escaped, so a reader can see what happened.
    expect(run.stdout).toContain('\\::error::pwned from a file name.json');
    expect(run.stdout).toContain('\\::stop-commands::tok');
    // Summary and comment show the hostile ref on one line, never as a line of its own.
    const comment = commentsOn(7).at(-1)!.body;
    for (const body of [run.summary, comment]) {
      expect(body).not.toMatch(/^\s*::(error|stop-commands)/m);
      expect(body).toContain('evil ::error::pwned');
    }
    expect(readResults(run).images).toHaveLength(2);
    expectNoLeak(run, { api: github });
  }, 60_000);
  test('a refusal that names a hostile file prints its control characters escaped (no ANSI tricks)', async () => {
    const ws = workspace({ 'reports/evil\u001b[8mhidden\u0007\u0085::error::pwned.json': '{"not json' });
    const run = await onPullRequest(ws, reportInputs());
    expect(run.exitCode).toBe(1);
    const errors = parseWorkflowCommands(run.stdout).filter((c) => c.command === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0].message).toMatch(/^reports: .*evil\\u001b\[8mhidden\\u0007\\u0085::error::pwned\.json/);
    const controls = [...run.stdout].filter((c) => {
      const code = c.charCodeAt(0);
      return (code < 0x20 && c !== '\n' && c !== '\t') || (code >= 0x7f && code <= 0x9f);
    });
    expect(controls).toEqual([]);
    expectNoInjectedCommand(run);
    expectNoLeak(run, { api: github });
  }, 60_000);
});

describe('untrusted text notifies nobody and injects no markup', () => {
  let run: ActionRun;
  let comment: string;
  beforeAll(async () => {
    const ws = workspace({
      'reports/mentions.json': report('ghcr.io/acme/@octocat:1.0', (v, i) => ({
        ...v,
        ...(i === 0 && {
          PkgName: '@acme/security-team',
          Title: 'ping @octocat and @acme/security-team',
          InstalledVersion: '1.0 @octocat',
          FixedVersion: '<img src=x onerror=alert(1)></details> @acme/security-team',
        }),
        ...(i === 1 && { VulnerabilityID: 'CVE-2024-0001</details><img src=x onerror=alert(1)>@octocat' }),
      })),
    });
    run = await onPullRequest(ws, reportInputs(), { number: 11 });
    comment = commentsOn(11).at(-1)!.body;
  }, 60_000);

  test('no live @mention or team ping in the comment GitHub received or in the summary', () => {
    expect(run.exitCode).toBe(1); // the CRITICAL still fails the gate
    for (const body of [comment, run.summary]) {
      expect(liveMentions(body)).toEqual([]);
      expect(body).toContain('@&#8203;acme/security-team');
    }
  });

  test('<img> and </details> from the report are inert: escaped outside code, <details> balanced', () => {
    for (const body of [comment, run.summary]) {
      const prose = body.replace(/^(`{3,})[^\n]*\n[\s\S]*?^\1`*[ \t]*$/gm, '').replace(/(`+)[\s\S]*?\1/g, '');
      expect(prose).not.toMatch(/(?<!\\)<img/i);
      expect(prose.match(/(?<!\\)<\/details>/g)?.length ?? 0).toBe(body.match(/<details>/g)?.length ?? 0);
    }
    expect(github.violations).toEqual([]);
    expectNoLeak(run, { api: github });
  });
});

test('a 1 MB package name and title: the log, summary and comment stay bounded, the results file valid', async () => {
  const flood = 'A'.repeat(1_000_000);
  const ws = workspace({
    'reports/flood.json': report('ghcr.io/acme/flood:1', (v, i) =>
      i < 3 ? { ...v, PkgName: `${flood}${i}`, Title: flood, Description: flood } : v,
    ),
    'reports/other.json': report('ghcr.io/acme/other:1'),
  });
  const started = Date.now();
  const run = await onPullRequest(ws, reportInputs(), { number: 12 });
  expect(Date.now() - started).toBeLessThan(60_000);
  expect(run.exitCode).toBe(1);
  // Today the gate's failure message carries every violating label whole: megabytes in one log line.
  expect(run.stdout.length).toBeLessThan(200_000);
  expect(Buffer.byteLength(run.summary)).toBeLessThan(1_048_576);
  expect(commentsOn(12).at(-1)!.body.length).toBeLessThanOrEqual(65_536);
  const results = readResults(run);
  expect(results.images.map((i) => (i as unknown as { target: { ref: string } }).target.ref).sort()).toEqual([
    'ghcr.io/acme/flood:1',
    'ghcr.io/acme/other:1',
  ]);
  expect(run.summary).toContain('ghcr.io/acme/other:1');
  expectNoLeak(run, { api: github });
}, 90_000);

describe('the verdict says exactly what happened', () => {
  // Was result=warn with "the policy is violated" and no violation listed.
  test('an expired ignore with no violation: result pass, the expiry still reported', async () => {
    const ws = workspace({
      'reports/nginx.json': report('nginx:1.25'),
      'policy.yml':
        'fail-on: critical\nignore-unfixed: true\nignore:\n  - id: CVE-1999-0001\n    expires: 2026-01-01\n',
    });
    const run = await onPullRequest(ws, reportInputs({ policy: 'policy.yml', 'fail-on': 'none' }), {
      number: 13,
      env: { IMAGE_SCAN_GATE_NOW: '2026-06-01T00:00:00Z' },
    });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.outputs.result).toBe('pass');
    expect(run.outputs.violations).toBe('0');
    expect(run.stdout).toMatch(/::warning::Ignore CVE-1999-0001 \(policy\.yml:4\) expired on 2026-01-01/);
    expect(run.stdout).toContain('Image Scan Gate: the policy passed.');
    for (const body of [run.summary, commentsOn(13).at(-1)!.body]) {
      expect(body).not.toMatch(/policy is violated|Image Scan Gate: warn/);
      expect(body).toMatch(/✅ Image Scan Gate: pass/);
    }
    expect(run.summary).toMatch(/\*\*Expired\*\*[\s\S]*CVE-1999-0001/);
    expectNoLeak(run, { api: github });
  }, 60_000);

  // Was "✅ Image Scan Gate: pass" above the violations, and result=pass.
  test('gate: off with violations: "not gated" in the summary, comment and log; result tells the truth; step succeeds', async () => {
    const ws = workspace({ 'reports/nginx.json': report('nginx:1.25') });
    const run = await onPullRequest(ws, reportInputs({ gate: 'off' }), { number: 14 });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.outputs.result).toBe('fail');
    expect(Number(run.outputs.violations)).toBeGreaterThan(0);
    expect(run.stdout).toMatch(/^Image Scan Gate: not gated \(gate: off\); the policy fails\.$/m);
    expect(run.stdout).not.toMatch(/^::error::/m);
    const comment = commentsOn(14).at(-1)!.body;
    expect(run.summary.split('\n')[0]).toMatch(/^## ℹ️ Image Scan Gate: not gated \(the policy fails/);
    expect(comment).toMatch(/^### ℹ️ Image Scan Gate: not gated \(the policy fails/m);
    for (const body of [run.summary, comment]) expect(body).not.toMatch(/✅|Image Scan Gate: pass/);
    expect(run.summary).toContain('### Violations');
    expect(comment).toContain('**Why**');
    expectNoLeak(run, { api: github });
  }, 60_000);

  test('an images[] rule that matched nothing and a short-form nginx* rule are listed and explained', async () => {
    const ws = workspace({
      'reports/nginx.json': report('nginx:1.25'),
      'policy.yml': [
        'images:',
        '  - match: "docker.io/nginx*"',
        '    fail-on: low',
        '  - match: "nginx*"',
        '    fail-on: high',
        '  - match: "quay.io/nobody/*"',
        '    fail-on: low',
        '',
      ].join('\n'),
    });
    const run = await onPullRequest(ws, reportInputs({ policy: 'policy.yml', gate: 'warn' }), { number: 15 });
    expect(run.exitCode, run.stdout).toBe(0);
    const warnings = parseWorkflowCommands(run.stdout)
      .filter((c) => c.command === 'warning')
      .map((c) => c.message);
    expect(warnings).toContain(
      'Policy rule images[].match "docker.io/nginx*" (policy.yml:2) matched no image; images are named like ' +
        'docker.io/library/nginx:1.25: "docker.io/library/nginx*" would match.',
    );
    expect(warnings).toContain(
      'Policy rule images[].match "quay.io/nobody/*" (policy.yml:6) matched no image in this run.',
    );
    expect(run.summary).toMatch(/\| `docker\.io\/nginx\*` \| policy\.yml:2 \| \*\*0 \(unused\)\*\* \|/);
    expect(run.summary).toMatch(
      /\| `nginx\*` \| policy\.yml:4 \| 1 \| matches by the short name nginx:1\.25; the image is reported as docker\.io\/library\/nginx:1\.25 \|/,
    );
    const results = readResults(run) as unknown as {
      verdict: { imageRules: { match: string; applied: number }[] };
    };
    expect(results.verdict.imageRules.map((r) => [r.match, r.applied])).toEqual([
      ['docker.io/nginx*', 0],
      ['nginx*', 1],
      ['quay.io/nobody/*', 0],
    ]);
    expectNoLeak(run, { api: github });
  }, 60_000);
});

// Was one comment for the whole pull request: the last job to finish overwrote the others' verdict.
test('two jobs and two matrix entries on one pull request keep their own comments; a re-run updates its own', async () => {
  const failing = workspace({ 'reports/nginx.json': report('nginx:1.25') });
  const passing = workspace({ 'reports/nginx.json': report('nginx:1.25') });
  const pr = 16;
  const scan = await onPullRequest(failing, reportInputs(), { number: pr, env: { GITHUB_JOB: 'scan' } });
  const other = await onPullRequest(passing, reportInputs({ 'fail-on': 'none' }), {
    number: pr,
    env: { GITHUB_JOB: 'scan-base-images' },
  });
  const amd = await onPullRequest(passing, reportInputs({ 'fail-on': 'none', matrix: '{"arch": "amd64"}' }), {
    number: pr,
    env: { GITHUB_JOB: 'scan-base-images' },
  });
  expect([scan.exitCode, other.exitCode, amd.exitCode]).toEqual([1, 0, 0]);
  expect(commentsOn(pr)).toHaveLength(3);
  const bodies = () => commentsOn(pr).map((c) => c.body);
  expect(bodies().filter((b) => b.includes('Image Scan Gate: fail'))).toHaveLength(1);
  expect(bodies().filter((b) => b.includes('Image Scan Gate: pass'))).toHaveLength(2);

  // The first job runs again, now passing: its own comment changes, the others stay.
  const rerun = await onPullRequest(passing, reportInputs({ 'fail-on': 'none' }), {
    number: pr,
    env: { GITHUB_JOB: 'scan', GITHUB_RUN_ATTEMPT: '2' },
  });
  expect(rerun.exitCode).toBe(0);
  expect(commentsOn(pr)).toHaveLength(3);
  expect(rerun.outputs['comment-url']).toBe(scan.outputs['comment-url']);
  expect(bodies().filter((b) => b.includes('Image Scan Gate: fail'))).toHaveLength(0);
  expect(github.violations).toEqual([]);
  expectNoLeak(rerun, { api: github });
}, 120_000);
