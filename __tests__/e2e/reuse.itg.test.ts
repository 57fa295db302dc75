import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { ImageResult, ResultsFile } from '../../src/model.js';
import { startRegistry, type TestRegistry } from '../../test-support/registry.js';
import { startReleaseMirror, type ReleaseMirror } from '../../test-support/release-mirror.js';
import { runAction, type ActionRun } from '../../test-support/run-action.js';
import { readStandinLog, scansIn, tempDir } from './fixtures.js';

// `cache-results`, run as the runner runs it: a digest already scanned with the same Trivy version and DB build is
// not scanned again — its findings come from earlier results (`reports`, or the result store the Actions cache
// restores) — and the summary says which images were reused. Results files from another schema major are refused
// with the reason; files from other action or Trivy versions are read, with a warning.
//
// The stand-in's DB build (`UpdatedAt`) is the current hour, rounded down: two runs straddling the hour have
// different DB builds and rightly reuse nothing. Runs that must share a DB build are repeated once if the clock
// crossed the hour between them (see sameDbBuild).

let registry: TestRegistry;
let mirror: ReleaseMirror;
let workspace: string;
let toolCache: string;
const digests: Record<string, string> = {};
const pushedRefs = new Map<string, string>();

const ref = (repository: string, tag: string) => `${registry.host}/${repository}:${tag}`;

beforeAll(async () => {
  [registry, mirror] = await Promise.all([startRegistry(), startReleaseMirror()]);
  const push = async (repository: string, tag: string, report: string, layerContent: string) => {
    const { digest } = await registry.push(repository, tag, {
      labels: { 'standin.report': report },
      layerContent,
      created: '2026-10-01T08:00:00Z',
    });
    pushedRefs.set(ref(repository, tag), digest);
    return digest;
  };
  digests.api = await push('shop/api', '1.0', 'alpine-vulns', 'api');
  if ((await push('shop/api', 'stable', 'alpine-vulns', 'api')) !== digests.api)
    throw new Error('fixture: shop/api:stable should share the digest of 1.0');
  digests.web = await push('shop/web', '2.0', 'node-app', 'web');
  digests.tools = await push('base/tools', '3.1', 'clean', 'tools');
  digests.legacy = await push('ops/legacy', '1', 'critical-heavy', 'legacy');
  workspace = tempDir('isg-reuse-ws-');
  toolCache = tempDir('isg-reuse-tools-');
}, 120_000);

afterAll(async () => {
  await Promise.all([registry?.close(), mirror?.close()]);
});

interface Scan {
  run: ActionRun;
  /** Digests the stand-in really scanned in this run (from its own log), sorted. */
  scanned: string[];
  results: ResultsFile;
}

let logCounter = 0;

async function scan(
  inputs: Record<string, string>,
  opts: { temp?: string; mode?: string } = {},
): Promise<Scan> {
  const log = path.join(workspace, `standin-${++logCounter}.log`);
  const run = await runAction({
    inputs: {
      'trivy-download-url': mirror.baseUrl,
      'trivy-checksum': mirror.sha256,
      parallel: '2',
      gate: 'off',
      ...inputs,
    },
    env: { STANDIN_LOG: log },
    dirs: { workspace, toolCache, ...(opts.temp && { temp: opts.temp }) },
  });
  const file = run.outputs['results-file'];
  if (!file) throw new Error(`no results file:\n${run.stdout}\n${run.stderr}`);
  const scanned = scansIn(readStandinLog(log))
    .map((s) => digestOf(s.argv.at(-1)!))
    .sort();
  return { run, scanned, results: JSON.parse(fs.readFileSync(file, 'utf8')) as ResultsFile };
}

/** The digest the test pushed under a scanned reference (its own record, never the action's). */
function digestOf(scannedRef: string): string {
  const at = scannedRef.indexOf('@');
  const digest = at >= 0 ? scannedRef.slice(at + 1) : pushedRefs.get(scannedRef);
  if (!digest) throw new Error(`scanned an unknown reference ${scannedRef}`);
  return digest;
}

/**
 * Runs `runs` and returns its scans if they all saw one DB build; else (the hour turned between them, so the
 * stand-in's DB build changed) runs them once more, well inside the new hour.
 */
async function sameDbBuild(runs: () => Promise<Scan[]>): Promise<Scan[]> {
  const first = await runs();
  const builds = new Set(first.map((s) => s.results.dbUpdatedAt));
  return builds.size === 1 ? first : runs();
}

const byDigest = (scan: Scan, digest: string): ImageResult => {
  const found = scan.results.images.find((i) => i.digest === digest);
  if (!found) throw new Error(`no image with digest ${digest}`);
  return found;
};

const FIRST_IMAGES = () =>
  [ref('shop/api', '1.0'), ref('shop/web', '2.0'), ref('base/tools', '3.1')].join('\n');
const LATER_IMAGES = () =>
  [
    ref('shop/api', '1.0'),
    ref('shop/api', 'stable'),
    ref('shop/web', '2.0'),
    ref('base/tools', '3.1'),
    ref('ops/legacy', '1'),
  ].join('\n');

describe('cache-results: a digest scanned with the same Trivy and DB build is not scanned again', () => {
  let first: Scan;
  let reused: Scan;
  let notReused: Scan;
  let otherTrivy: Scan;
  let sameRunner: Scan;

  beforeAll(async () => {
    [first, reused, notReused, otherTrivy, sameRunner] = await sameDbBuild(async () => {
      const firstTemp = tempDir('isg-reuse-temp-');
      const a = await scan({ images: FIRST_IMAGES(), 'output-dir': 'first' }, { temp: firstTemp });
      const b = await scan({
        images: LATER_IMAGES(),
        reports: 'first/results.json',
        'cache-results': 'true',
        'output-dir': 'reused',
      });
      const c = await scan({
        images: LATER_IMAGES(),
        reports: 'first/results.json',
        'cache-results': 'false',
        'output-dir': 'not-reused',
      });
      // The first run's results, as if another Trivy version had made them.
      writeAltered('first/results.json', 'other-trivy/results.json', (r) => {
        r.trivyVersion = '0.73.0';
        for (const i of r.images) i.trivyVersion = '0.73.0';
      });
      const d = await scan({
        images: FIRST_IMAGES(),
        reports: 'other-trivy/results.json',
        'output-dir': 'other-trivy-out',
      });
      // A later job on the first run's runner (its RUNNER_TEMP): no `reports`, the result store answers.
      const e = await scan(
        {
          images: [ref('shop/api', 'stable'), ref('ops/legacy', '1')].join('\n'),
          'output-dir': 'same-runner',
        },
        { temp: firstTemp },
      );
      return [a, b, c, d, e];
    });
  }, 240_000);

  test('the first run scans its three images', () => {
    expect(first.run.exitCode, first.run.stdout).toBe(0);
    expect(first.scanned).toEqual([digests.api, digests.web, digests.tools].sort());
  });

  test('with reports + cache-results: true, only the new digest is scanned; the others are reused as they were', () => {
    expect(reused.run.exitCode, reused.run.stdout).toBe(0);
    // api:stable shares api:1.0's digest: neither is scanned again.
    expect(reused.scanned).toEqual([digests.legacy]);
    const status = Object.fromEntries(
      Object.entries(digests).map(([k, d]) => [k, byDigest(reused, d).status]),
    );
    expect(status).toEqual({ api: 'reused', web: 'reused', tools: 'reused', legacy: 'scanned' });
    for (const name of ['api', 'web', 'tools']) {
      expect(byDigest(reused, digests[name]).findings).toEqual(byDigest(first, digests[name]).findings);
    }
    expect(byDigest(reused, digests.api).findings.length).toBeGreaterThan(0);
    // The reused image is this run's target: both tags, under this run's ref.
    const api = byDigest(reused, digests.api).target;
    expect([api.tag, ...(api.tags ?? [])].sort()).toEqual(['1.0', 'stable']);
  });

  test('the summary says which images were reused, and not the one scanned', () => {
    const summary = reused.run.summary;
    const section = summary.slice(summary.indexOf('Reused results'));
    expect(summary).toContain('Reused results (3)');
    for (const r of [ref('shop/api', '1.0'), ref('shop/web', '2.0'), ref('base/tools', '3.1')])
      expect(section).toContain(r);
    expect(section).not.toContain(ref('ops/legacy', '1'));
    expect(fs.readFileSync(reused.run.outputs['summary-file'], 'utf8')).toContain('Reused results (3)');
    const images = JSON.parse(reused.run.outputs.images) as { ref: string; status: string }[];
    expect(
      images
        .filter((i) => i.status === 'reused')
        .map((i) => i.ref)
        .sort(),
    ).toEqual([ref('base/tools', '3.1'), ref('shop/api', '1.0'), ref('shop/web', '2.0')].sort());
  });

  test('with cache-results: false, every unique digest is scanned again and nothing is called reused', () => {
    expect(notReused.run.exitCode, notReused.run.stdout).toBe(0);
    expect(notReused.scanned).toEqual([digests.api, digests.web, digests.tools, digests.legacy].sort());
    expect(notReused.results.images.every((i) => i.status === 'scanned')).toBe(true);
    expect(notReused.run.summary).not.toContain('Reused results');
    // Same findings either way.
    for (const d of Object.values(digests))
      expect(byDigest(notReused, d).findings).toEqual(byDigest(reused, d).findings);
  });

  test('results from another Trivy version are not reused: those digests are scanned', () => {
    expect(otherTrivy.run.exitCode, otherTrivy.run.stdout).toBe(0);
    expect(otherTrivy.scanned).toEqual([digests.api, digests.web, digests.tools].sort());
    expect(otherTrivy.run.summary).not.toContain('Reused results');
  });

  test('a later job on the same runner reuses the results kept in its result store (what the Actions cache restores)', () => {
    expect(sameRunner.run.exitCode, sameRunner.run.stdout).toBe(0);
    expect(sameRunner.scanned).toEqual([digests.legacy]);
    expect(byDigest(sameRunner, digests.api).status).toBe('reused');
    expect(byDigest(sameRunner, digests.api).findings).toEqual(byDigest(first, digests.api).findings);
    expect(sameRunner.run.summary).toContain('Reused results (1)');
    expect(sameRunner.run.summary).toContain(ref('shop/api', 'stable'));
  });
});

describe('results files from other versions, in mode: report', () => {
  // The first run's results file (written by the describe above).
  const source = 'first/results.json';

  test('a results file of a newer schema major (results@2) is refused with the reason, naming `reports`', async () => {
    writeAltered(source, 'future/results.json', (r) => {
      (r as { schema: string }).schema = 'image-scan-gate/results@2';
    });
    const run = await runAction({
      inputs: { mode: 'report', reports: 'future/results.json', 'output-dir': 'future-out' },
      dirs: { workspace, toolCache },
    });
    expect(run.exitCode).toBe(1);
    const error = run.stdout.split('\n').find((l) => l.startsWith('::error::')) ?? '';
    expect(error).toMatch(/^::error::reports: .*future\/results\.json.*results@2.*upgrade/);
    expect(run.outputs.result).toBeUndefined();
    expect(fs.existsSync(path.join(workspace, 'future-out', 'results.json'))).toBe(false);
  });

  test('files from another action version and another Trivy version are read and merged, with a warning', async () => {
    writeAltered(source, 'older/results.json', (r) => {
      r.tool.version = '0.0.1';
      r.trivyVersion = '0.73.0';
      for (const i of r.images) i.trivyVersion = '0.73.0';
    });
    const run = await runAction({
      inputs: {
        mode: 'report',
        reports: 'first/results.json\nolder/results.json',
        'output-dir': 'mixed-out',
        gate: 'off',
      },
      dirs: { workspace, toolCache },
    });
    expect(run.exitCode, run.stdout).toBe(0);
    expect(run.stdout).toMatch(/::warning::.*several Trivy versions \(0\.73\.0, 0\.74\.0\)/);
    const merged = JSON.parse(fs.readFileSync(run.outputs['results-file'], 'utf8')) as ResultsFile;
    // The same three digests in both files: three images, not six.
    expect(merged.images.map((i) => i.digest).sort()).toEqual(
      [digests.api, digests.web, digests.tools].sort(),
    );
  });
});

function writeAltered(from: string, to: string, alter: (r: ResultsFile) => void): void {
  const source = path.isAbsolute(from) ? from : path.join(workspace, from);
  const results = JSON.parse(fs.readFileSync(source, 'utf8')) as ResultsFile;
  alter(results);
  fs.mkdirSync(path.dirname(path.join(workspace, to)), { recursive: true });
  fs.writeFileSync(path.join(workspace, to), JSON.stringify(results));
}
