import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runProcess } from '../../src/infra/exec.js';
import type { Target } from '../../src/model.js';
import { scanAll } from '../../src/scan/scan-pool.js';
import { scanImage } from '../../src/scan/run-scan.js';
import {
  pushImage,
  startLocalRegistry,
  type LocalRegistry,
  type PushedImage,
} from '../../test-support/trivy-standin/push-image.js';
import { readStandinLog, runStandin, standinPath } from '../standin/standin-helpers.js';

// Real scans: the stand-in process, a real registry, the argv built by buildScanArgs.

const home = mkdtempSync(path.join(os.tmpdir(), 'scan-itg-'));
const cacheDir = path.join(home, 'cache');
const isolation = {
  cwd: path.join(home, 'cwd'),
  configFile: path.join(home, 'cwd', 'trivy.yaml'),
  ignoreFile: path.join(home, 'cwd', '.trivyignore'),
};
mkdirSync(isolation.cwd);
writeFileSync(isolation.configFile, '');
writeFileSync(isolation.ignoreFile, '');
let registry: LocalRegistry;
let image: PushedImage;
const user = 'scanner';
const password = 'sc4n-s3cret-value';
let locked: LocalRegistry;

beforeAll(async () => {
  [registry, locked] = await Promise.all([startLocalRegistry(), startLocalRegistry({ user, password })]);
  image = await pushImage(registry.host, 'shop/cart', '2.1', {
    labels: { 'standin.report': 'critical-heavy' },
  });
  await pushImage(locked.host, 'shop/private', '1', { auth: { user, password } });
  expect(
    (await runStandin(['image', '--download-db-only', '--cache-dir', cacheDir, '-q'], {}, home)).exitCode,
  ).toBe(0);
});
afterAll(async () => {
  await Promise.all([registry?.close(), locked?.close()]);
  rmSync(home, { recursive: true, force: true });
});

const target = (ref: string): Target => {
  const [host, ...rest] = ref.split('/');
  return {
    ref,
    input: ref,
    registry: host,
    repository: rest.join('/').replace(/[:@].*$/, ''),
    origins: [],
    sources: ['listed'],
  };
};

const options = (env: Record<string, string>, timeoutMs = 60_000) => ({
  trivyPath: standinPath,
  cacheDir,
  reportDir: path.join(home, 'reports'),
  // Added to the allow-listed environment every child gets.
  env: { HOME: home, ...env },
  isolation,
  timeoutMs,
  scanners: ['vuln'],
  pkgTypes: ['os', 'library'],
  runProcess,
});

describe('scanImage against the stand-in', () => {
  test('a scan gives the report of the image in the registry', async () => {
    const ref = `${registry.host}/shop/cart:2.1`;
    const r = await scanImage(target(ref), options({}));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(existsSync(r.reportFile)).toBe(true);
    const report = r.report as { Metadata: { RepoDigests: string[] }; Results: { Packages?: unknown }[] };
    expect(report.Metadata.RepoDigests).toEqual([`${registry.host}/shop/cart@${image.digest}`]);
    expect(report.Results.every((x) => x.Packages === undefined)).toBe(true); // --list-all-pkgs=false
  });

  test('a missing image: not ok, with the registry’s words', async () => {
    const r = await scanImage(target(`${registry.host}/shop/cart:gone`), options({}));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(/^run error: .*unable to find the specified image/);
    expect(!r.ok && r.error).toContain('MANIFEST_UNKNOWN: manifest unknown');
  });

  test('Trivy’s own --timeout: not ok, context deadline exceeded', async () => {
    const r = await scanImage(
      target(`${registry.host}/shop/cart:2.1`),
      options({ STANDIN_SCAN_DELAY_MS: '5000' }, 400),
    );
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toContain('context deadline exceeded');
  });

  test('credentials travel in env only: the scan works, argv holds no secret', async () => {
    const log = path.join(home, 'creds.log');
    const r = await scanImage(
      target(`${locked.host}/shop/private:1`),
      options({ TRIVY_USERNAME: user, TRIVY_PASSWORD: password, STANDIN_LOG: log }),
    );
    expect(r.ok).toBe(true);
    const line = readStandinLog(log)[0];
    expect(line.credentialEnv).toEqual(['TRIVY_USERNAME', 'TRIVY_PASSWORD']);
    expect(line.argv.join(' ')).not.toContain(password);
  });
});

describe('parallel scans', () => {
  test('parallel 3 with 7 images: at most 3 Trivy processes at once, and 3 are reached', async () => {
    const refs: string[] = [];
    for (let i = 0; i < 7; i++) {
      await pushImage(registry.host, `fleet/svc-${i}`, 'v1', { content: `svc ${i}` });
      refs.push(`${registry.host}/fleet/svc-${i}:v1`);
    }
    const log = path.join(home, 'parallel.log');
    // The delay is long next to process start-up so the first three overlap even on a loaded machine.
    const results = await scanAll(refs, 3, (ref) =>
      scanImage(target(ref), options({ STANDIN_LOG: log, STANDIN_SCAN_DELAY_MS: '800' })),
    );
    expect(results.every((r) => r.status === 'fulfilled' && r.value.ok)).toBe(true);
    const lines = readStandinLog(log);
    expect(lines).toHaveLength(7);
    expect(maxOverlap(lines)).toBe(3);
  });
});

/** The largest number of [start, end] intervals open at one instant. */
function maxOverlap(intervals: { start: number; end: number }[]): number {
  const events = intervals.flatMap((i) => [
    { t: i.start, d: 1 },
    { t: i.end, d: -1 },
  ]);
  events.sort((a, b) => a.t - b.t || a.d - b.d); // an end at the same ms closes before a start opens
  let open = 0;
  let peak = 0;
  for (const e of events) {
    open += e.d;
    peak = Math.max(peak, open);
  }
  return peak;
}
