import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startRegistry, type TestRegistry } from '../../test-support/registry.js';
import { startReleaseMirror, type ReleaseMirror } from '../../test-support/release-mirror.js';
import { runAction, type ActionRun } from '../../test-support/run-action.js';
import { readStandinLog, scansIn, templateCounts, tempDir } from './fixtures.js';
import {
  MARKERS,
  expectNoLeak,
  markedCredentialInputs,
  markedRunnerEnv,
  readResults,
} from './hardening-harness.js';

// Trivy's own configuration, explicitly (issue 13), through the bundle as the runner runs it: `trivy-config` and the
// named inputs reach Trivy (as the stand-in's log of what it was told shows) from a private copy, never from the
// workspace; keys that would break the one full report are refused naming the key, its line and the input to use;
// a step written for aquasecurity/trivy-action is told what to write instead; the reuse key follows the settings.

let registry: TestRegistry;
let mirror: ReleaseMirror;
const web = () => `${registry.host}/shop/web:2.0`;
const api = () => `${registry.host}/shop/api:1.0`;

beforeAll(async () => {
  [registry, mirror] = await Promise.all([startRegistry(), startReleaseMirror()]);
  await registry.push('shop/web', '2.0', { labels: { 'standin.report': 'node-app' }, layerContent: 'web' });
  await registry.push('shop/api', '1.0', {
    labels: { 'standin.report': 'alpine-vulns' },
    layerContent: 'api',
  });
}, 120_000);

afterAll(async () => {
  await Promise.all([registry?.close(), mirror?.close()]);
});

interface Logged {
  argv: string[];
  cwd?: string;
  configFile?: string;
  settings?: {
    detectionPriority: string;
    severitySources: string[];
    skipFiles: string[];
    skipDirs: string[];
    ignorePolicy?: string;
  };
}

interface Finding {
  id: string;
  class: string;
  pkg: string;
}

type Run = ActionRun & { log: string; scans: Logged[] };

async function run(
  extra: Record<string, string>,
  opts: { workspace?: string; temp?: string } = {},
): Promise<Run> {
  const log = path.join(tempDir('isg-trivyconf-log-'), 'standin.log');
  const result = await runAction({
    inputs: {
      images: web(),
      'trivy-download-url': mirror.baseUrl,
      'trivy-checksum': mirror.sha256,
      'cache-db': 'false',
      'upload-sarif': 'false',
      'pr-comment': 'never',
      'fail-on': 'none',
      ...markedCredentialInputs(),
      ...extra,
    },
    env: { ...registry.env, ...markedRunnerEnv(), GITHUB_TOKEN: MARKERS.githubToken, STANDIN_LOG: log },
    dirs: { ...(opts.workspace && { workspace: opts.workspace }), ...(opts.temp && { temp: opts.temp }) },
    post: true,
  });
  return { ...result, log, scans: scansIn(readStandinLog(log)) as unknown as Logged[] };
}

function workspaceWith(files: Record<string, string>): string {
  const ws = tempDir('isg-trivyconf-ws-');
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(ws, name)), { recursive: true });
    fs.writeFileSync(path.join(ws, name), text);
  }
  return ws;
}

function findingsOf(r: ActionRun, ref: string): Finding[] {
  const results = readResults(r) as unknown as { images: { target: { ref: string }; findings: Finding[] }[] };
  const image = results.images.find((i) => i.target.ref === ref);
  expect(image, `no result for ${ref}`).toBeDefined();
  return image?.findings ?? [];
}

const CONFIG = [
  '# shared with the team that runs trivy fs',
  'scan:',
  '  skip-files:',
  '    - /usr/src/app/.env',
  '  detection-priority: comprehensive',
  'vulnerability:',
  '  severity-source: [debian, nvd]',
  '',
].join('\n');

describe('trivy-config and the named inputs reach Trivy', () => {
  test('by default secrets are scanned too, and flow into results, counts and the summary', async () => {
    const r = await run({});
    expect(r.exitCode, r.stdout).toBe(0);
    expect(r.scans).toHaveLength(1);
    expect(r.scans[0].argv).toEqual(expect.arrayContaining(['--scanners', 'vuln,secret']));
    const secret = findingsOf(r, web()).find((f) => f.class === 'secret');
    expect(secret?.id).toBe('aws-access-key-id');
    expect(Number(r.outputs.critical)).toBe(templateCounts('node-app').CRITICAL); // the secret is CRITICAL
    expect(r.summary).toContain('aws-access-key-id');
    // `scanners: vuln` turns them off (the README's advice)
    const off = await run({ scanners: 'vuln' });
    expect(findingsOf(off, web()).filter((f) => f.class === 'secret')).toEqual([]);
    expect(Number(off.outputs.critical)).toBe(templateCounts('node-app').CRITICAL - 1);
    expectNoLeak(r, { standinLog: r.log });
  });

  test("the file's settings, the inputs and a private copy of the ignore policy are what Trivy reads", async () => {
    const ws = workspaceWith({
      'ci/trivy.yaml': CONFIG,
      'ci/ignore.rego': 'package trivy\n\nignore {\n  input.PkgName == "express"\n}\n',
      '.trivyignore': 'CVE-2011-3374\n',
      'ci/more.trivyignore': 'CVE-2022-25883 exp:2099-01-01\n',
    });
    const r = await run(
      {
        'trivy-config': 'ci/trivy.yaml',
        'ignore-policy': 'ci/ignore.rego',
        'skip-dirs': 'usr/share/doc',
        'vuln-severity-source': 'ubuntu,auto', // an input wins over the same key in the file, as in Trivy
        'ignore-file': '.trivyignore\nci/more.trivyignore',
      },
      { workspace: ws },
    );
    expect(r.exitCode, r.stdout).toBe(0);
    expect(r.scans).toHaveLength(1);
    const [scan] = r.scans;
    expect(scan.settings).toEqual({
      detectionPriority: 'comprehensive',
      severitySources: ['ubuntu', 'auto'],
      skipFiles: ['/usr/src/app/.env'],
      skipDirs: ['usr/share/doc'],
      ignorePolicy: expect.stringMatching(/ignore-policy\.rego$/) as unknown,
    });
    // Private copies in RUNNER_TEMP: Trivy never reads the workspace's files (a PR could swap them mid-run).
    expect(scan.configFile?.startsWith(r.dirs.temp)).toBe(true);
    expect(scan.settings?.ignorePolicy?.startsWith(r.dirs.temp)).toBe(true);
    expect(scan.cwd?.startsWith(ws)).toBe(false);
    expect(scan.argv.join(' ')).not.toContain(path.join(ws, 'ci')); // only the report goes to the workspace
    expect(scan.argv).not.toContain('--detection-priority'); // the file's setting travels in the private config

    const findings = findingsOf(r, web());
    expect(findings.filter((f) => f.class === 'secret')).toEqual([]); // scan.skip-files
    expect(findings.map((f) => f.pkg)).not.toContain('express'); // the ignore policy
    expect(findings.map((f) => f.pkg)).toContain('semver');
    // both ignore files applied by the action, each rule with its own file
    const verdict = (
      readResults(r) as unknown as { verdict: { ignored: { findingId: string; rule: string }[] } }
    ).verdict;
    expect(verdict.ignored.map((i) => [i.findingId, i.rule])).toEqual(
      expect.arrayContaining([
        ['CVE-2011-3374', expect.stringContaining('.trivyignore:1') as unknown],
        ['CVE-2022-25883', expect.stringContaining('ci/more.trivyignore:1') as unknown],
      ]),
    );
    // the summary says which settings the scans ran with (key names, not values)
    expect(r.summary).toContain('Trivy settings: ci/trivy.yaml: scan.detection-priority, scan.skip-files');
    expect(r.summary).toContain('ignore-policy ci/ignore.rego (findings it drops are not reported)');
    expectNoLeak(r, { standinLog: r.log });
  });
});

describe("Trivy's secret rules", () => {
  test('secret.config in trivy-config reaches Trivy as a private copy; a trivy-secret.yaml lying in the workspace does not', async () => {
    const ws = workspaceWith({
      'ci/trivy.yaml': 'secret:\n  config: ci/secret-rules.yaml\n',
      'ci/secret-rules.yaml': 'disable-rules:\n  - aws-access-key-id\n',
      // what Trivy would read from its working directory by default, if it ran in the workspace
      'trivy-secret.yaml': 'disable-rules:\n  - aws-access-key-id\n',
    });
    const implicit = await run({}, { workspace: ws });
    expect(implicit.exitCode, implicit.stdout).toBe(0);
    expect(findingsOf(implicit, web()).filter((f) => f.class === 'secret')).toHaveLength(1);

    const r = await run({ 'trivy-config': 'ci/trivy.yaml' }, { workspace: ws });
    expect(r.exitCode, r.stdout).toBe(0);
    expect(findingsOf(r, web()).filter((f) => f.class === 'secret')).toEqual([]);
    const [scan] = r.scans as (Logged & { secretConfig?: string })[];
    expect(scan.secretConfig?.startsWith(r.dirs.temp)).toBe(true);
    expect(r.summary).toContain('ci/trivy.yaml: secret.config');
    expectNoLeak(r, { standinLog: r.log });
  });
});

describe('refused before any work', () => {
  test('a key that breaks the one full report is refused naming the key, its line and the input to use', async () => {
    const ws = workspaceWith({
      'ci/trivy.yaml': 'scan:\n  skip-dirs: [usr/share/doc]\nformat: sarif\nseverity:\n  - CRITICAL\n',
    });
    const r = await run({ 'trivy-config': 'ci/trivy.yaml' }, { workspace: ws });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('ci/trivy.yaml:3:1: `format` is refused');
    expect(r.stdout).toContain('ci/trivy.yaml:4:1: `severity` is refused');
    expect(r.stdout).toContain('use the `severity` input (what is shown) and `fail-on` (what fails)');
    expect(readStandinLog(r.log)).toEqual([]); // Trivy was never even asked its version
    expect(r.outputs['results-file']).toBeUndefined();
  });

  test.each([
    [{ 'detection-priority': 'fast' }, /`detection-priority` is "fast"; allowed: precise, comprehensive/],
    [{ 'vuln-severity-source': 'nvd,vendor' }, /`vuln-severity-source` has "vendor"; allowed: nvd/],
    [{ 'trivy-config': 'missing/trivy.yaml' }, /`trivy-config`: "missing\/trivy\.yaml" does not exist/],
    [
      { 'ignore-policy': '../../etc/passwd' },
      /`ignore-policy`: "\.\.\/\.\.\/etc\/passwd" is outside the workspace/,
    ],
  ])('%j', async (extra, message) => {
    const r = await run(extra);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(message);
    expect(readStandinLog(r.log)).toEqual([]);
  });
});

describe('hostile repository content', () => {
  test.each([
    ['trivy-config', 'ci/trivy.yaml'],
    ['ignore-policy', 'ci/ignore.rego'],
  ])(
    '%s committed as a symlink to /proc/self/environ is refused, never read or echoed',
    async (input, file) => {
      const ws = workspaceWith({});
      fs.mkdirSync(path.join(ws, 'ci'));
      fs.symlinkSync('/proc/self/environ', path.join(ws, file));
      const r = await run({ [input]: file }, { workspace: ws });
      expect(r.exitCode).toBe(1);
      expect(r.stdout).toContain(`\`${input}\`: "${file}" resolves outside the workspace`);
      expect(readStandinLog(r.log)).toEqual([]);
      expectNoLeak(r, { standinLog: r.log });
    },
  );

  test('a hostile value in trivy-config is never echoed; only the key, its line and the fix', async () => {
    const ws = workspaceWith({
      'ci/trivy.yaml': 'registry:\n  password: ["HOSTILE-VALUE-41b2"]\noutput: "::error::forged"\n',
    });
    const r = await run({ 'trivy-config': 'ci/trivy.yaml' }, { workspace: ws });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain('ci/trivy.yaml:2:3: `registry.password` is refused');
    expect(r.stdout).not.toContain('forged');
    expect(r.stdout + r.stderr + r.summary).not.toContain('HOSTILE-VALUE-41b2');
    expectNoLeak(r, { standinLog: r.log });
  });
});

describe('moving from trivy-action', () => {
  test("a realistic trivy-action step's inputs: the step stops before any work and says what to write", async () => {
    // The `with:` of trivy-action's README example, plus the inputs teams commonly add.
    const r = await run({
      images: '',
      'image-ref': web(),
      format: 'sarif',
      output: 'trivy-results.sarif',
      'exit-code': '1',
      'ignore-unfixed': 'true',
      'vuln-type': 'os,library',
      severity: 'CRITICAL,HIGH',
      'hide-progress': 'true',
      trivyignores: '.trivyignore,.trivyignore.extra',
      'limit-severities-for-sarif': 'true',
      'github-pat': MARKERS.githubToken,
    });
    expect(r.exitCode).toBe(1);
    const message = r.stdout;
    expect(message).toContain(`\`image-ref: ${web()}\`: write \`images: ${web()}\``);
    expect(message).toContain('`exit-code: 1` with `severity: CRITICAL,HIGH` is `fail-on: high` here');
    expect(message).toContain('`vuln-type: os,library`: write `pkg-types: os,library`');
    expect(message).toContain(
      '`trivyignores: .trivyignore,.trivyignore.extra`: write `ignore-file: .trivyignore,.trivyignore.extra`',
    );
    expect(message).toContain('results.sarif is written to `output-dir` and uploaded to code scanning');
    expect(message).toContain('`github-pat`: remove it: write `dependency-graph: true`');
    expect(message).toContain('Moving from trivy-action');
    expect(readStandinLog(r.log)).toEqual([]);
    expectNoLeak(r, { standinLog: r.log });
  });
});

describe('the reuse key follows the Trivy settings', () => {
  test('the same trivy-config reuses the result; changed content scans again', async () => {
    const attempt = async () => {
      const temp = tempDir('isg-trivyconf-temp-');
      const ws = workspaceWith({ 'ci/trivy.yaml': CONFIG });
      const common = { images: api(), 'trivy-config': 'ci/trivy.yaml', 'cache-results': 'true' };
      const first = await run(common, { workspace: ws, temp });
      const same = await run(common, { workspace: ws, temp });
      fs.writeFileSync(path.join(ws, 'ci/trivy.yaml'), CONFIG.replace('comprehensive', 'precise'));
      const changed = await run(common, { workspace: ws, temp });
      const withInput = await run({ ...common, 'skip-dirs': 'opt' }, { workspace: ws, temp });
      return { first, same, changed, withInput };
    };
    const dbBuild = (r: ActionRun) => (readResults(r) as unknown as { dbUpdatedAt?: string }).dbUpdatedAt;
    let runs = await attempt();
    // The stand-in's DB build changes on the hour; a run across it rightly reuses nothing: try once more.
    if (new Set(Object.values(runs).map(dbBuild)).size > 1) runs = await attempt();
    const { first, same, changed, withInput } = runs;
    expect(first.scans).toHaveLength(1);
    expect(same.scans, same.stdout).toHaveLength(0);
    expect(same.stdout).toMatch(/Reusing earlier results for 1 image/);
    expect(changed.scans).toHaveLength(1);
    expect(changed.scans[0].settings?.detectionPriority).toBe('precise');
    expect(withInput.scans).toHaveLength(1);
  }, 240_000);
});
