import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { projectRoot } from '../../test-support/paths.js';
import { startReleaseMirror, type ReleaseMirror } from '../../test-support/release-mirror.js';
import { runAction, type ActionRun } from '../../test-support/run-action.js';
import { readStandinLog, tempDir } from './fixtures.js';
import {
  expectNoLeak,
  markedCredentialInputs,
  markedRunnerEnv,
  MARKERS,
  readResults,
} from './hardening-harness.js';

// Hostile repository content and paths (../shared/SECURITY.md rules 2, 3 and 6), through the bundle as the runner
// runs it. A pull request controls every file in the checkout and whether it is a symlink: nothing it commits may
// make the action read outside the workspace, echo a file, or write through a symlink. Each refusal names the input
// and the path, comes before any download or scan, and leaks none of the marker secrets.

type Run = ActionRun & { post?: ActionRun };

/** Content that must never appear anywhere: it sits outside the workspace. */
const OUTSIDE_CONTENT = 'OUTSIDE-FILE-CONTENT-5e2a91';

const NGINX_REPORT = path.join(projectRoot, 'examples/reports/nginx-1.25.json');

interface Layout {
  base: string;
  workspace: string;
  temp: string;
  outside: string;
}

/** A workspace with one Trivy report (mode: report needs no registry), a RUNNER_TEMP and a directory outside both. */
function layout(): Layout {
  const base = tempDir('isg-hard-files-');
  const dirs = {
    base,
    workspace: path.join(base, 'workspace'),
    temp: path.join(base, 'runner-temp'),
    outside: path.join(base, 'outside'),
  };
  for (const d of [dirs.workspace, dirs.temp, dirs.outside]) fs.mkdirSync(d);
  fs.mkdirSync(path.join(dirs.workspace, 'reports'));
  fs.copyFileSync(NGINX_REPORT, path.join(dirs.workspace, 'reports', 'nginx.json'));
  fs.writeFileSync(path.join(dirs.outside, 'secret.txt'), `${OUTSIDE_CONTENT}\n`);
  fs.writeFileSync(
    path.join(dirs.outside, 'ignores.yaml'),
    `vulnerabilities:\n  - id: ${OUTSIDE_CONTENT}\n    statement: ${OUTSIDE_CONTENT}\n`,
  );
  fs.writeFileSync(
    path.join(dirs.outside, 'Dockerfile'),
    `FROM outside.example/${OUTSIDE_CONTENT.toLowerCase()}:1\n`,
  );
  return dirs;
}

function reportInputs(extra: Record<string, string> = {}): Record<string, string> {
  return {
    ...markedCredentialInputs(),
    mode: 'report',
    reports: 'reports/*.json',
    'upload-sarif': 'false',
    'pr-comment': 'never',
    ...extra,
  };
}

async function run(
  dirs: Layout,
  inputs: Record<string, string>,
  env: Record<string, string> = {},
): Promise<Run> {
  return runAction({
    inputs,
    dirs: { workspace: dirs.workspace, temp: dirs.temp },
    env: { ...markedRunnerEnv(), ...env },
    post: true,
    timeoutMs: 60_000,
  });
}

/** The step failed with a ConfigurationError naming `input` and `shownPath`, and nothing else happened. */
function expectRefused(r: Run, dirs: Layout, input: string, shownPath: RegExp): string {
  expect(r.exitCode, r.stdout).toBe(1);
  const error = /^::error::(.*)$/m.exec(r.stdout)?.[1] ?? '';
  expect(error, r.stdout).toContain(`\`${input}\``);
  expect(error).toMatch(shownPath);
  expect(error, "a refusal is the user's to fix, not a crash").not.toMatch(/Image Scan Gate failed/);
  // Refused before any work: no results, no summary.
  expect(r.outputs['results-file']).toBeUndefined();
  expect(r.summary).toBe('');
  expectNothingFromOutside(r, dirs);
  expectNoLeak(r, { extra: [dirs.outside] });
  return error;
}

function expectNothingFromOutside(r: Run, dirs: Layout): void {
  const texts = [r.stdout, r.stderr, r.post?.stdout ?? '', r.summary, JSON.stringify(r.outputs)];
  for (const file of walk(dirs.workspace).concat(walk(dirs.temp)))
    texts.push(fs.readFileSync(file, 'latin1'));
  for (const t of texts) {
    expect(t).not.toContain(OUTSIDE_CONTENT);
    expect(t.toLowerCase()).not.toContain(OUTSIDE_CONTENT.toLowerCase());
    expect(t).not.toMatch(/root:x:0:0/);
  }
  // Nothing was written outside.
  expect(fs.readdirSync(dirs.outside).sort()).toEqual(['Dockerfile', 'ignores.yaml', 'secret.txt']);
}

/** Files really under `dir`: the planted symlinks are the test's own, not something the action wrote. */
function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const real = fs.realpathSync(dir);
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => path.join(d.parentPath, d.name))
    .filter((f) => fs.realpathSync(f).startsWith(real + path.sep));
}

describe('repository files that lead outside the workspace are refused, never read', () => {
  test('a committed .trivyignore symlinked to /proc/self/environ', async () => {
    const dirs = layout();
    fs.symlinkSync('/proc/self/environ', path.join(dirs.workspace, '.trivyignore'));
    const r = await run(dirs, reportInputs());
    const error = expectRefused(r, dirs, 'ignore-file', /"\.trivyignore" resolves outside the workspace/);
    // The environment of the step (where the runner's own secrets live) reached no output.
    expect(r.stdout).not.toMatch(/ACTIONS_RUNTIME_TOKEN|INPUT_REGISTRY-PASSWORD/);
    expect(error).not.toContain('PATH=');
  });

  test('a committed .trivyignore.yaml symlinked to a file outside', async () => {
    const dirs = layout();
    fs.symlinkSync(path.join(dirs.outside, 'ignores.yaml'), path.join(dirs.workspace, '.trivyignore.yaml'));
    const r = await run(dirs, reportInputs());
    expectRefused(r, dirs, 'ignore-file', /"\.trivyignore\.yaml" resolves outside the workspace/);
  });

  test('ignore-file: ../outside/ignores.yaml', async () => {
    const dirs = layout();
    const r = await run(dirs, reportInputs({ 'ignore-file': '../outside/ignores.yaml' }));
    expectRefused(r, dirs, 'ignore-file', /"\.\.\/outside\/ignores\.yaml" is outside the workspace/);
  });

  test('policy: /etc/passwd — refused, no line of it anywhere', async () => {
    const dirs = layout();
    const r = await run(dirs, reportInputs({ policy: '/etc/passwd' }));
    expectRefused(r, dirs, 'policy', /"\/etc\/passwd" is outside the workspace/);
    expect(r.stdout + r.stderr).not.toMatch(/root:|daemon:|nologin/);
  });

  test('a policy file symlinked outside the workspace', async () => {
    const dirs = layout();
    fs.mkdirSync(path.join(dirs.workspace, '.github'));
    fs.symlinkSync(path.join(dirs.outside, 'secret.txt'), path.join(dirs.workspace, '.github', 'policy.yml'));
    const r = await run(dirs, reportInputs({ policy: '.github/policy.yml' }));
    expectRefused(r, dirs, 'policy', /"\.github\/policy\.yml" resolves outside the workspace/);
  });

  test('discover-files matching a Dockerfile in a directory symlinked outside', async () => {
    const dirs = layout();
    fs.symlinkSync(dirs.outside, path.join(dirs.workspace, 'docker'));
    const r = await run(dirs, reportInputs({ 'discover-files': 'docker/Dockerfile' }));
    expectRefused(r, dirs, 'discover-files', /"docker\/Dockerfile" resolves outside the workspace/);
  });
});

describe('the action never writes through a committed symlink', () => {
  test('output-dir committed as a symlink to a directory outside', async () => {
    const dirs = layout();
    fs.symlinkSync(dirs.outside, path.join(dirs.workspace, 'image-scan-results'));
    const r = await run(dirs, reportInputs());
    expectRefused(r, dirs, 'output-dir', /image-scan-results" is a symlink/);
  });

  test('results.json committed as a symlink in output-dir', async () => {
    const dirs = layout();
    fs.mkdirSync(path.join(dirs.workspace, 'image-scan-results'));
    fs.symlinkSync(
      path.join(dirs.outside, 'secret.txt'),
      path.join(dirs.workspace, 'image-scan-results', 'results.json'),
    );
    const r = await run(dirs, reportInputs());
    expectRefused(r, dirs, 'output-dir', /results\.json" is a symlink where the action writes/);
    expect(fs.readFileSync(path.join(dirs.outside, 'secret.txt'), 'utf8')).toBe(`${OUTSIDE_CONTENT}\n`);
  });
});

describe('output-dir problems stop the run before any download or scan', () => {
  let mirror: ReleaseMirror;

  beforeAll(async () => {
    mirror = await startReleaseMirror();
  }, 60_000);

  afterAll(async () => {
    await mirror?.close();
  });

  async function scanRun(dirs: Layout, extra: Record<string, string> = {}) {
    const standinLog = path.join(dirs.base, 'standin.log');
    const before = mirror.requests.length;
    const r = await run(
      dirs,
      {
        ...markedCredentialInputs(),
        images: 'registry.example.invalid/shop/api:1.0',
        'trivy-download-url': mirror.baseUrl,
        'trivy-checksum': mirror.sha256,
        'cache-db': 'false',
        'upload-sarif': 'false',
        'pr-comment': 'never',
        ...extra,
      },
      { STANDIN_LOG: standinLog },
    );
    return { r, standinLog, downloads: mirror.requests.slice(before) };
  }

  test('output-dir blocked by a file: refused naming output-dir, nothing downloaded or scanned', async () => {
    const dirs = layout();
    fs.writeFileSync(path.join(dirs.workspace, 'image-scan-results'), 'a file in the way\n');
    const { r, standinLog, downloads } = await scanRun(dirs);
    expectRefused(r, dirs, 'output-dir', /image-scan-results" is in the way: it is a file/);
    expect(downloads).toEqual([]);
    expect(readStandinLog(standinLog)).toEqual([]);
    expectNoLeak(r, { standinLog, extra: [dirs.outside] });
  });

  test('output-dir/reports committed as a symlink: refused, nothing downloaded, scanned or written outside', async () => {
    const dirs = layout();
    fs.mkdirSync(path.join(dirs.workspace, 'scan-out'));
    fs.symlinkSync(dirs.outside, path.join(dirs.workspace, 'scan-out', 'reports'));
    const { r, standinLog, downloads } = await scanRun(dirs, { 'output-dir': 'scan-out' });
    expectRefused(r, dirs, 'output-dir', /scan-out\/reports" is a symlink/);
    expect(downloads).toEqual([]);
    expect(readStandinLog(standinLog)).toEqual([]);
  });
});

describe('reports: the workflow names where, the repository cannot redirect it', () => {
  test('a reports glob does not follow a symlinked directory out of its base; an explicit RUNNER_TEMP path works', async () => {
    const dirs = layout();
    // The shard artifacts: one downloaded into the workspace, one into RUNNER_TEMP. The pull request adds a symlink
    // next to the first, to a directory holding a report of an image that was never scanned here.
    fs.mkdirSync(path.join(dirs.workspace, 'shards', 'shard-1'), { recursive: true });
    fs.renameSync(
      path.join(dirs.workspace, 'reports', 'nginx.json'),
      path.join(dirs.workspace, 'shards', 'shard-1', 'nginx.json'),
    );
    const planted = JSON.parse(fs.readFileSync(NGINX_REPORT, 'utf8')) as Record<string, unknown>;
    planted.ArtifactName = 'planted.example/not-scanned-here:1';
    fs.writeFileSync(path.join(dirs.outside, 'planted.json'), JSON.stringify(planted));
    fs.symlinkSync(dirs.outside, path.join(dirs.workspace, 'shards', 'shard-2'));
    fs.mkdirSync(path.join(dirs.temp, 'artifacts'));
    const alpine = path.join(dirs.temp, 'artifacts', 'alpine.json');
    fs.copyFileSync(path.join(projectRoot, 'examples/reports/alpine-3.20.json'), alpine);

    const r = await run(dirs, reportInputs({ reports: `shards/**/*.json\n${alpine}`, 'fail-on': 'none' }));
    expect(r.exitCode, r.stdout).toBe(0);
    const results = readResults(r) as unknown as { images: { target: { ref: string } }[] };
    const refs = results.images.map((i) => i.target.ref);
    expect(refs).toHaveLength(2);
    expect(refs.some((ref) => ref.includes('nginx'))).toBe(true);
    expect(refs.some((ref) => ref.includes('alpine'))).toBe(true);
    expect(JSON.stringify(results) + r.summary + r.stdout).not.toContain('planted.example');
    expectNoLeak(r, { extra: [dirs.outside] });
  });

  test('a results file in RUNNER_TEMP that is not JSON is refused without quoting it', async () => {
    const dirs = layout();
    const foreign = path.join(dirs.temp, 'results.json');
    fs.writeFileSync(foreign, `root:x:0:0:root:/root:/bin/bash ${MARKERS.registryPassword}\n`);
    const r = await run(dirs, reportInputs({ reports: foreign }));
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/::error::reports: .*results\.json is not valid JSON \(syntax error/);
    expect(r.stdout + r.stderr).not.toContain('root:x');
    // The file itself holds a marker (it is in RUNNER_TEMP, where the search looks): search everything else.
    fs.rmSync(foreign);
    expectNoLeak(r);
  });
});

describe('hostile policy files inside the workspace', () => {
  test('a YAML alias bomb is refused quickly, naming the file', async () => {
    const dirs = layout();
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    let previous = 'a';
    for (const name of 'bcdefghi') {
      lines.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(',')}]`);
      previous = name;
    }
    fs.writeFileSync(path.join(dirs.workspace, 'policy.yml'), `${lines.join('\n')}\n`);
    const started = Date.now();
    const r = await run(dirs, reportInputs({ policy: 'policy.yml' }));
    expect(Date.now() - started, 'finished, not hung').toBeLessThan(50_000);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^::error::policy\.yml: too many YAML alias expansions/m);
    expect(r.stdout).not.toContain('lol');
    expect(r.outputs['results-file']).toBeUndefined();
    expectNoLeak(r, { extra: [dirs.outside] });
  });

  test('a malformed policy names file:line:column and quotes at most 80 characters of one line', async () => {
    const dirs = layout();
    const long = `${'A'.repeat(200)}-SECOND-HALF-${'B'.repeat(200)}`;
    fs.writeFileSync(
      path.join(dirs.workspace, 'policy.yml'),
      `max:\n  critical: 0\nfail-on: "${long}"\nmax-cvss: 9\n`,
    );
    const r = await run(dirs, reportInputs({ policy: 'policy.yml' }));
    expect(r.exitCode).toBe(1);
    const error = /^::error::(.*)$/m.exec(r.stdout)?.[1] ?? '';
    expect(error).toMatch(/^policy\.yml:3:10: fail-on: "A+…" is not a severity/);
    const quoted = /("[^"]*")/.exec(error)?.[1] ?? '';
    expect(quoted.length).toBeGreaterThan(10);
    expect(quoted.length).toBeLessThanOrEqual(80);
    expect(r.stdout).not.toContain('SECOND-HALF');
    expectNoLeak(r, { extra: [dirs.outside] });
  });
});
