import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { fixedClock } from '../../src/infra/clock.js';
import type { RunProcess } from '../../src/infra/exec.js';
import type { HttpClient } from '../../src/infra/http.js';
import { createActionsLogger, type LogSink } from '../../src/infra/logger.js';
import { run, type RunDeps } from '../../src/main.js';
import { RESULTS_SCHEMA, type ResultsFile } from '../../src/model.js';
import { projectRoot } from '../../test-support/paths.js';
import { parseCommandFile } from '../../test-support/run-action.js';

// The orchestration, driven in-process with its seams: no bundle, no Trivy, no network. The end-to-end suites run the
// bundle as the runner does; these check what main.ts decides — which stages run, the gate's outcome, the error path.

interface Recorded {
  lines: { level: string; message: string }[];
  failed: string[];
  gateFailed: number;
  processes: string[][];
  requests: string[];
}

function driver(): { deps: RunDeps; recorded: Recorded } {
  const recorded: Recorded = { lines: [], failed: [], gateFailed: 0, processes: [], requests: [] };
  const record =
    (level: string) =>
    (message: string): void => {
      recorded.lines.push({ level, message });
    };
  const sink: LogSink = {
    debug: record('debug'),
    info: record('info'),
    notice: record('notice'),
    warning: record('warning'),
    error: record('error'),
    setSecret: () => undefined,
    startGroup: record('group'),
    endGroup: () => undefined,
  };
  const runProcess: RunProcess = (req) => {
    recorded.processes.push([req.command, ...req.args]);
    return Promise.reject(new Error('no process is started in these tests'));
  };
  const http: HttpClient = (req) => {
    recorded.requests.push(req.url);
    return Promise.reject(new Error('no network in these tests'));
  };
  return {
    recorded,
    deps: {
      logger: createActionsLogger(sink),
      clock: fixedClock('2026-09-01T12:00:00Z'),
      http,
      runProcess,
      setFailed: (message) => recorded.failed.push(message),
      failStep: () => recorded.gateFailed++,
    },
  };
}

/** The runner's view: inputs as INPUT_<NAME>, a workspace and a temp dir, no GitHub event (nothing is published). */
function stubRunner(inputs: Record<string, string>): { workspace: string } {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'isg-run-ws-'));
  vi.stubEnv('GITHUB_WORKSPACE', workspace);
  vi.stubEnv('RUNNER_TEMP', fs.mkdtempSync(path.join(os.tmpdir(), 'isg-run-temp-')));
  for (const name of [
    'GITHUB_EVENT_NAME',
    'GITHUB_EVENT_PATH',
    'GITHUB_STEP_SUMMARY',
    'GITHUB_OUTPUT',
    'GITHUB_STATE',
  ])
    vi.stubEnv(name, '');
  for (const [name, value] of Object.entries(inputs)) vi.stubEnv(`INPUT_${name.toUpperCase()}`, value);
  return { workspace };
}

afterEach(() => {
  vi.unstubAllEnvs();
});

function resultsWith(severity: 'CRITICAL' | 'LOW'): ResultsFile {
  return {
    schema: RESULTS_SCHEMA,
    tool: { name: 'image-scan-gate', version: '0.0.0-test' },
    createdAt: '2026-09-01T11:00:00Z',
    images: [
      {
        target: {
          ref: 'registry.example/shop/api:1.0',
          input: 'registry.example/shop/api:1.0',
          registry: 'registry.example',
          repository: 'shop/api',
          tag: '1.0',
          origins: [],
          sources: ['listed'],
        },
        digest: 'sha256:' + 'a'.repeat(64),
        status: 'scanned',
        trivyVersion: '0.74.0',
        findings: [
          { id: 'CVE-2026-0001', pkg: 'openssl', severity, class: 'os-pkgs', target: 'api (alpine 3.19)' },
        ],
      },
    ],
    skipped: [],
  };
}

/**
 * Trivy as the action drives it, answered in-process: `--version`, the DB download (the metadata Trivy writes), and
 * each scan's JSON report (the stand-in's alpine-vulns template: 2 critical, 3 high).
 */
function fakeTrivy(recorded: Recorded): RunProcess {
  const template = fs.readFileSync(
    path.join(projectRoot, 'test-support', 'trivy-standin', 'reports', 'alpine-vulns.json'),
    'utf8',
  );
  const ok = (stdout = '') => ({ exitCode: 0, stdout, stderr: '', timedOut: false, durationMs: 1 });
  return (req) => {
    recorded.processes.push(req.args);
    const { args } = req;
    if (args[0] === '--version') {
      return Promise.resolve(
        ok(JSON.stringify({ Version: '0.74.0', VulnerabilityDB: { UpdatedAt: '2026-09-01T06:00:00Z' } })),
      );
    }
    const cacheDir = args[args.indexOf('--cache-dir') + 1];
    const dbDir = args.includes('--download-db-only')
      ? 'db'
      : args.includes('--download-java-db-only')
        ? 'java-db'
        : undefined;
    if (dbDir) {
      fs.mkdirSync(path.join(cacheDir, dbDir), { recursive: true });
      fs.writeFileSync(
        path.join(cacheDir, dbDir, 'metadata.json'),
        JSON.stringify({ UpdatedAt: '2026-09-01T06:00:00Z', NextUpdate: '2026-09-02T06:00:00Z' }),
      );
      return Promise.resolve(ok());
    }
    const output = args.indexOf('--output');
    if (args[0] !== 'image' || output < 0)
      return Promise.reject(new Error(`unexpected: trivy ${args.join(' ')}`));
    const image = args.at(-1) ?? '';
    fs.writeFileSync(
      args[output + 1],
      template
        .replaceAll('{{ARTIFACT}}', image)
        .replace('"SchemaVersion": 2,', `"SchemaVersion": 2, "ArtifactName": "${image}",`),
    );
    return Promise.resolve(ok());
  };
}

describe('mode: scan', () => {
  test('Trivy is installed and its DB prepared once, each image scanned, and the gate fails on its criticals', async () => {
    const { workspace } = stubRunner({
      images: 'registry.example/shop/api:1.0\nregistry.example/shop/web:2.0',
      'trivy-path': '/bin/true',
      'cache-db': 'false',
      'upload-sarif': 'false',
      'fail-on': 'critical',
    });
    const { deps, recorded } = driver();

    await run({ ...deps, runProcess: fakeTrivy(recorded) });

    expect(recorded.failed).toEqual([]);
    expect(recorded.gateFailed).toBe(1);
    const calls = (flag: string) => recorded.processes.filter((a) => a.includes(flag)).length;
    // `trivy-path` answers --version when installed, then again with the DB's build time.
    expect(calls('--version')).toBe(2);
    expect(calls('--download-db-only')).toBe(1);
    expect(calls('--download-java-db-only')).toBe(1);
    expect(recorded.processes.filter((a) => a.includes('--output')).map((a) => a.at(-1))).toEqual([
      'registry.example/shop/api:1.0',
      'registry.example/shop/web:2.0',
    ]);
    const groups = recorded.lines.filter((l) => l.level === 'group').map((l) => l.message);
    expect(groups).toEqual([
      'Finding the images to scan',
      'Installing Trivy',
      "Preparing Trivy's vulnerability databases",
      'Scanning 2 images',
      'Publishing the results',
    ]);
    const written = JSON.parse(
      fs.readFileSync(path.join(workspace, 'image-scan-results', 'results.json'), 'utf8'),
    ) as ResultsFile & { verdict: { result: string } };
    expect(written.trivyVersion).toBe('0.74.0');
    expect(written.dbUpdatedAt).toBe('2026-09-01T06:00:00Z');
    expect(
      written.images.map((i) => [
        i.target.ref,
        i.status,
        i.findings.filter((f) => f.severity === 'CRITICAL').length,
      ]),
    ).toEqual([
      ['registry.example/shop/api:1.0', 'scanned', 2],
      ['registry.example/shop/web:2.0', 'scanned', 2],
    ]);
    expect(written.verdict.result).toBe('fail');
  });
});

test('mode: discover plans the images into shards and stops there: no Trivy, no results file', async () => {
  const { workspace } = stubRunner({
    mode: 'discover',
    images: 'registry.example/shop/api:1.0\nregistry.example/shop/web:2.0\nregistry.example/shop/db:3.0',
    shards: '2',
  });
  const outputFile = path.join(workspace, 'github-output');
  fs.writeFileSync(outputFile, '');
  vi.stubEnv('GITHUB_OUTPUT', outputFile);
  const { deps, recorded } = driver();

  await run(deps);

  expect(recorded.failed).toEqual([]);
  const outputs = parseCommandFile(fs.readFileSync(outputFile, 'utf8'));
  expect((JSON.parse(outputs.images) as { ref: string }[]).map((i) => i.ref)).toEqual([
    'registry.example/shop/api:1.0',
    'registry.example/shop/web:2.0',
    'registry.example/shop/db:3.0',
  ]);
  const matrix = JSON.parse(outputs.matrix) as { include: { count: number }[] };
  expect(matrix.include.map((e) => e.count).reduce((a, b) => a + b)).toBe(3);
  expect(matrix.include).toHaveLength(2);
  // Each tag's digest is asked of its registry (here unreachable: the image is planned by its tag).
  expect(recorded.requests.length).toBeGreaterThan(0);
  expect(recorded.processes).toEqual([]);
  expect(fs.existsSync(path.join(workspace, 'image-scan-results'))).toBe(false);
});

describe('mode: report', () => {
  test.each([
    ['CRITICAL', 1, 'Image Scan Gate: the policy failed.'],
    ['LOW', 0, 'Image Scan Gate: the policy passed.'],
  ] as const)(
    'a %s finding against fail-on: critical: gate failed %i times',
    async (severity, failures, line) => {
      const { workspace } = stubRunner({ mode: 'report', reports: 'in/results.json', 'fail-on': 'critical' });
      fs.mkdirSync(path.join(workspace, 'in'));
      fs.writeFileSync(path.join(workspace, 'in', 'results.json'), JSON.stringify(resultsWith(severity)));
      const { deps, recorded } = driver();

      await run(deps);

      expect(recorded.failed).toEqual([]);
      expect(recorded.gateFailed).toBe(failures);
      expect(recorded.lines.some((l) => l.message.startsWith(line))).toBe(true);
      // Report mode installs nothing and asks no registry.
      expect(recorded.processes).toEqual([]);
      expect(recorded.requests).toEqual([]);
      const written = JSON.parse(
        fs.readFileSync(path.join(workspace, 'image-scan-results', 'results.json'), 'utf8'),
      ) as ResultsFile & { verdict: { result: string } };
      expect(written.images.map((i) => i.target.ref)).toEqual(['registry.example/shop/api:1.0']);
      expect(written.verdict.result).toBe(failures ? 'fail' : 'pass');
    },
  );
});

test('a configuration error fails the step with its message, before any process or request', async () => {
  stubRunner({ mode: 'scan', images: '', 'fail-on': 'critical' });
  const { deps, recorded } = driver();

  await run(deps);

  expect(recorded.failed).toHaveLength(1);
  expect(recorded.failed[0]).toMatch(/images/);
  expect(recorded.failed[0]).not.toMatch(/^Image Scan Gate failed/);
  expect(recorded.gateFailed).toBe(0);
  expect(recorded.processes).toEqual([]);
  expect(recorded.requests).toEqual([]);
});

test('an unexpected error fails the step as the action’s failure, with its message', async () => {
  const { workspace } = stubRunner({ mode: 'report', reports: 'in/results.json' });
  fs.mkdirSync(path.join(workspace, 'in'));
  fs.writeFileSync(path.join(workspace, 'in', 'results.json'), JSON.stringify(resultsWith('LOW')));
  const { deps, recorded } = driver();

  let reads = 0;
  await run({
    ...deps,
    // The run's start time is read first; the policy's reading of the clock then fails, past every input check.
    clock: {
      ...deps.clock,
      now: () => {
        if (reads++ === 0) return new Date('2026-09-01T12:00:00Z');
        throw new Error('clock unavailable');
      },
    },
  });

  expect(recorded.failed).toEqual(['Image Scan Gate failed: clock unavailable']);
});
