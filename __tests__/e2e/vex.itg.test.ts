import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ResultsFile } from '../../src/model.js';
import type { SarifLog } from '../../src/report/sarif-types.js';
import { startGitHubApi, type GitHubApi } from '../../test-support/github-api.js';
import { startRegistry, type TestRegistry } from '../../test-support/registry.js';
import { startReleaseMirror, type ReleaseMirror } from '../../test-support/release-mirror.js';
import { runAction, type ActionRun } from '../../test-support/run-action.js';
import { validateSarifFiles } from '../../test-support/sarif-multitool.js';
import {
  csafVexDocument,
  cycloneDxVexDocument,
  ociPurl,
  openVexDocument,
} from '../../test-support/vex-documents.js';
import { pullRequestEvent, readStandinLog, scansIn, tempDir } from './fixtures.js';

// `vex`, run as the runner runs it: VEX documents in the three formats, written by the test, suppress findings of
// the image they name (by its real digest and repository), shown in the summary, the PR comment and SARIF (with
// the statement's justification as the suppression's); `affected` and statements about other images suppress
// nothing; a malformed document stops the step before any download or scan; `repo` reaches Trivy's --vex and
// turns result reuse off.

let registry: TestRegistry;
let mirror: ReleaseMirror;
let github: GitHubApi;
let digest: string;
let imageRef: string;
let repositoryUrl: string;

beforeAll(async () => {
  [registry, mirror, github] = await Promise.all([startRegistry(), startReleaseMirror(), startGitHubApi()]);
  imageRef = `${registry.host}/shop/api:1.0`;
  repositoryUrl = `${registry.host}/shop/api`;
  ({ digest } = await registry.push('shop/api', '1.0', {
    labels: { 'standin.report': 'alpine-vulns' },
    layerContent: 'api',
    created: '2026-10-01T08:00:00Z',
  }));
}, 120_000);

afterAll(async () => {
  await Promise.all([registry?.close(), mirror?.close(), github?.close()]);
});

function writeWorkspace(files: Record<string, unknown>): string {
  const workspace = tempDir('isg-vex-ws-');
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(workspace, name)), { recursive: true });
    fs.writeFileSync(
      path.join(workspace, name),
      typeof content === 'string' ? content : JSON.stringify(content, null, 2),
    );
  }
  return workspace;
}

async function scan(
  workspace: string,
  inputs: Record<string, string>,
  extraEnv: Record<string, string> = {},
) {
  const log = path.join(tempDir('isg-vex-log-'), 'standin.log');
  const run = await runAction({
    inputs: {
      images: imageRef,
      'trivy-download-url': mirror.baseUrl,
      'trivy-checksum': mirror.sha256,
      'github-token': 'ghs_vex_test_token',
      ...inputs,
    },
    env: { ...registry.env, GITHUB_API_URL: github.url, STANDIN_LOG: log, ...extraEnv },
    dirs: { workspace },
  });
  return { run, scans: scansIn(readStandinLog(log)), log: readStandinLog(log) };
}

describe('VEX documents suppress what they say, everywhere', () => {
  let run: ActionRun;
  let results: ResultsFile;
  const IMPACT = 'curl is never called with SOCKS5 @octocat <b>x</b>';

  beforeAll(async () => {
    const image = ociPurl(repositoryUrl, digest);
    const workspace = writeWorkspace({
      '.vex/api.openvex.json': openVexDocument([
        {
          id: 'CVE-2023-38545',
          image,
          packages: ['pkg:apk/alpine/curl'],
          status: 'not_affected',
          justification: 'vulnerable_code_not_in_execute_path',
          impact: IMPACT,
        },
        // Another digest of the same repository: matches nothing.
        {
          id: 'CVE-2023-4039',
          image: ociPurl(repositoryUrl, `sha256:${'0'.repeat(64)}`),
          packages: ['pkg:apk/alpine/libgcc'],
          status: 'not_affected',
          justification: 'component_not_present',
        },
      ]),
      '.vex/api.cdx.json': cycloneDxVexDocument(ociPurl(repositoryUrl), [
        {
          id: 'CVE-2022-48174',
          packages: ['pkg:apk/alpine/busybox@1.36.1-r2'],
          status: 'not_affected',
          justification: 'requires_environment',
          impact: 'the shell is not reachable',
        },
      ]),
      '.vex/api.csaf.json': csafVexDocument(`${repositoryUrl}@${digest}`, [
        { id: 'CVE-2023-5363', packages: ['pkg:apk/alpine/libssl3'], status: 'fixed' },
        // affected: suppresses nothing.
        { id: 'CVE-2024-0727', packages: ['pkg:apk/alpine/libcrypto3'], status: 'affected' },
      ]),
    });
    const dirs = tempDir('isg-vex-event-');
    ({ run } = await scan(
      workspace,
      { vex: '.vex/*.json', 'fail-on': 'critical', 'pr-comment': 'always', 'sarif-include-ignored': 'true' },
      {
        GITHUB_EVENT_NAME: 'pull_request',
        GITHUB_EVENT_PATH: pullRequestEvent(dirs, { number: 11 }),
        GITHUB_REF: 'refs/pull/11/merge',
      },
    ));
    results = JSON.parse(fs.readFileSync(run.outputs['results-file'], 'utf8')) as ResultsFile;
  }, 240_000);

  test('both critical findings are suppressed by VEX, so fail-on: critical passes', () => {
    expect(run.exitCode, run.stdout + run.stderr).toBe(0);
    expect(run.outputs.result).toBe('pass');
    const vex = results.verdict!.ignored.filter((i) => i.vex);
    expect(vex.map((i) => `${i.findingId} ${i.pkg} ${i.vex}`).sort()).toEqual([
      'CVE-2022-48174 busybox not_affected',
      'CVE-2023-38545 curl not_affected',
      'CVE-2023-5363 libssl3 fixed',
    ]);
    // Narrowed to the package: the same CVE in libcrypto3 is still reported.
    const image = results.images[0];
    expect(image.digest).toBe(digest);
    expect(image.findings.some((f) => f.id === 'CVE-2023-5363' && f.pkg === 'libcrypto3')).toBe(true);
    expect(vex.some((i) => i.pkg === 'libcrypto3')).toBe(false);
  });

  test('the summary lists the statements applied, with justification, and the one that matched nothing', () => {
    const section = run.summary.slice(run.summary.indexOf('### VEX'));
    expect(section).toContain('3 findings suppressed by 3 statements');
    expect(section).toContain('.vex/api.openvex.json statements\\[0\\]');
    expect(section).toContain('vulnerable\\_code\\_not\\_in\\_execute\\_path');
    expect(section).toContain('@&#8203;octocat \\<b\\>x\\</b\\>');
    expect(section).toContain('requires\\_environment): the shell is not reachable');
    expect(section).toContain('**Matched nothing**');
    expect(section).toContain('.vex/api.openvex.json statements\\[1\\]');
    expect(section).not.toContain('CVE-2024-0727');
  });

  test('the PR comment says what VEX suppressed', () => {
    const comment = [...github.state.comments.values()].find((c) => c.issueNumber === 11);
    expect(comment?.body).toContain('**VEX**: 3 findings suppressed as not affected or fixed');
    expect(comment?.body).toContain('`CVE-2023-38545`');
  });

  test('SARIF: suppressed results carry the justification, and the file passes GitHub’s ingestion rules', async () => {
    const file = run.outputs['sarif-file'];
    const sarif = JSON.parse(fs.readFileSync(file, 'utf8')) as SarifLog;
    const results = sarif.runs.flatMap((r) => r.results);
    const curl = results.find((r) => r.ruleId === 'CVE-2023-38545')!;
    expect(curl.suppressions).toEqual([
      {
        kind: 'external',
        status: 'accepted',
        justification: `not_affected (vulnerable_code_not_in_execute_path): ${IMPACT}`,
      },
    ]);
    const crypto = results.filter((r) => r.ruleId === 'CVE-2023-5363' && !r.suppressions);
    expect(crypto).toHaveLength(1);
    const uploaded = [...github.state.sarifs.values()].map((s) => s.sarif);
    expect(uploaded).toContainEqual(sarif);
    expect(github.violations).toEqual([]);
    const [{ errors }] = await validateSarifFiles([file]);
    expect(errors).toEqual([]);
  }, 600_000);
});

test('a malformed VEX document stops the step before any download or scan, naming vex, the file, line and column', async () => {
  const workspace = writeWorkspace({
    '.vex/broken.json': '{\n  "statements": [\n    {"status": "fixed",}\n  ]\n}\n',
  });
  const { run, log } = await scan(workspace, { vex: '.vex/*.json' });
  expect(run.exitCode).toBe(1);
  expect(run.stdout).toContain(
    '::error::`vex`: ".vex/broken.json" is not valid JSON (syntax error at line 3, column 24)',
  );
  expect(log).toEqual([]);
}, 120_000);

test('vex: repo reaches Trivy’s --vex and turns result reuse off', async () => {
  const workspace = writeWorkspace({});
  const first = await scan(workspace, { 'fail-on': 'none' });
  // An earlier results file offered for reuse, out of the output directory the next runs rewrite.
  fs.mkdirSync(path.join(workspace, 'earlier'));
  fs.copyFileSync(first.run.outputs['results-file'], path.join(workspace, 'earlier', 'results.json'));
  const earlier = JSON.parse(fs.readFileSync(first.run.outputs['results-file'], 'utf8')) as ResultsFile;

  const withRepo = await scan(workspace, { 'fail-on': 'none', vex: 'repo', reports: 'earlier/results.json' });
  expect(withRepo.run.exitCode, withRepo.run.stdout).toBe(0);
  expect(withRepo.scans).toHaveLength(1);
  const argv = withRepo.scans[0].argv;
  expect(argv[argv.indexOf('--vex') + 1]).toBe('repo');
  expect(withRepo.run.stdout).toContain('cache-results: not reusing results, since vex: repo');

  // The control: without `repo`, the same digest under the same DB build is reused, not scanned.
  const control = await scan(workspace, { 'fail-on': 'none', reports: 'earlier/results.json' });
  const controlDb = (JSON.parse(fs.readFileSync(control.run.outputs['results-file'], 'utf8')) as ResultsFile)
    .dbUpdatedAt;
  if (controlDb === earlier.dbUpdatedAt) expect(control.scans).toHaveLength(0);
  expect(control.scans.every((s) => !s.argv.includes('--vex'))).toBe(true);
}, 240_000);
