import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { ProcessRequest, ProcessResult, RunProcess } from '../../src/infra/exec.js';
import type { Target } from '../../src/model.js';
import { hardKillAfterMs, reportFileName, scanImage } from '../../src/scan/run-scan.js';

// scanImage's handling of what the process did, with the process seam replaced. The real process is exercised in
// run-scan.itg.test.ts.

const dir = mkdtempSync(path.join(os.tmpdir(), 'run-scan-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const target: Target = {
  ref: 'ghcr.io/acme/api:1.0',
  input: 'ghcr.io/acme/api:1.0',
  registry: 'ghcr.io',
  repository: 'acme/api',
  tag: '1.0',
  origins: [],
  sources: ['listed'],
};

function fake(behaviour: (req: ProcessRequest, output: string) => Partial<ProcessResult>) {
  const calls: ProcessRequest[] = [];
  const run: RunProcess = (req) => {
    calls.push(req);
    const output = req.args[req.args.indexOf('--output') + 1];
    return Promise.resolve({
      exitCode: 0,
      stdout: '',
      stderr: '',
      timedOut: false,
      durationMs: 42,
      ...behaviour(req, output),
    });
  };
  return { run, calls };
}

const opts = (runProcess: RunProcess) => ({
  trivyPath: '/opt/trivy',
  cacheDir: '/tmp/cache',
  reportDir: path.join(dir, 'reports'),
  env: { DOCKER_CONFIG: '/tmp/docker' },
  isolation: { cwd: '/tmp/iso', configFile: '/tmp/iso/trivy.yaml', ignoreFile: '/tmp/iso/.trivyignore' },
  timeoutMs: 600_000,
  scanners: ['vuln'],
  pkgTypes: ['os', 'library'],
  runProcess,
});

describe('scanImage', () => {
  test('ok: the report Trivy wrote, with the env passed through and a hard kill after the Go timeout', async () => {
    const f = fake((_req, output) => {
      writeFileSync(output, JSON.stringify({ SchemaVersion: 2, ArtifactName: 'x' }));
      return {};
    });
    const r = await scanImage(target, opts(f.run));
    expect(r).toMatchObject({ ok: true, report: { SchemaVersion: 2, ArtifactName: 'x' }, durationMs: 42 });
    expect(f.calls[0].command).toBe('/opt/trivy');
    expect(f.calls[0].env).toEqual({ DOCKER_CONFIG: '/tmp/docker' });
    expect(f.calls[0].args).toContain('10m');
    expect(f.calls[0].timeoutMs).toBeGreaterThan(600_000);
    expect(f.calls[0].args.at(-1)).toBe('ghcr.io/acme/api:1.0');
  });

  test('a tag pinned by a plan is scanned at its digest (a moved tag changes nothing)', async () => {
    const d = `sha256:${'d'.repeat(64)}`;
    const f = fake((_r, output) => (writeFileSync(output, '{}'), {}));
    await scanImage({ ...target, digest: d, pinned: true }, opts(f.run));
    // Only a digest found before the scan (not pinned) leaves the reference as it is.
    await scanImage({ ...target, digest: d }, opts(f.run));
    expect(f.calls.map((c) => c.args.at(-1))).toEqual([`ghcr.io/acme/api:1.0@${d}`, 'ghcr.io/acme/api:1.0']);
  });

  test('the target platform is used when none is configured', async () => {
    const f = fake((_r, output) => (writeFileSync(output, '{}'), {}));
    await scanImage({ ...target, platform: 'linux/arm64' }, opts(f.run));
    expect(f.calls[0].args.join(' ')).toContain('--platform linux/arm64');
  });

  test('a target platform (FROM --platform) wins over the platform input, as the result cache keys it', async () => {
    const f = fake((_r, output) => (writeFileSync(output, '{}'), {}));
    await scanImage({ ...target, platform: 'linux/arm64' }, { ...opts(f.run), platform: 'linux/amd64' });
    await scanImage(target, { ...opts(f.run), platform: 'linux/amd64' });
    expect(f.calls.map((c) => c.args[c.args.indexOf('--platform') + 1])).toEqual([
      'linux/arm64',
      'linux/amd64',
    ]);
  });

  test('exit 1: the error is Trivy’s own FATAL text', async () => {
    const f = fake(() => ({
      exitCode: 1,
      stderr:
        '2026-08-01T10:00:00Z\tFATAL\tFatal error\trun error: image scan error: remote error: GET https://ghcr.io/v2/acme/api/manifests/1.0: DENIED: denied\n',
    }));
    const r = await scanImage(target, opts(f.run));
    expect(r).toEqual({
      ok: false,
      error:
        'run error: image scan error: remote error: GET https://ghcr.io/v2/acme/api/manifests/1.0: DENIED: denied',
      durationMs: 42,
    });
  });

  test('killed by the outer limit: "timed out after 10m", naming the input and its value', async () => {
    const f = fake(() => ({ exitCode: null, timedOut: true }));
    expect(await scanImage(target, opts(f.run))).toEqual({
      ok: false,
      error:
        'timed out after 10m (the `timeout` input, now 10m; raise it for large images or slow registries)',
      durationMs: 42,
    });
  });

  test("Trivy stopped by its own --timeout: the input is named before Trivy's words", async () => {
    const f = fake(() => ({
      exitCode: 1,
      durationMs: 600_100,
      stderr:
        '2026-01-01T00:00:00Z\tFATAL\tFatal error\trun error: image scan error: scan error: scan failed: ' +
        'failed analysis: analyze error: timeout: context deadline exceeded\n',
    }));
    const outcome = await scanImage(target, opts(f.run));
    expect(outcome.ok).toBe(false);
    expect(!outcome.ok && outcome.error.split('\n')).toEqual([
      'timed out after 10m (the `timeout` input, now 10m; raise it for large images or slow registries)',
      'run error: image scan error: scan error: scan failed: failed analysis: analyze error: timeout: context deadline exceeded',
    ]);
  });

  test.each([
    ['no file', () => undefined, /Trivy wrote no valid JSON report: .* is missing/],
    [
      'truncated JSON',
      (o: string) => writeFileSync(o, '{"SchemaVersion": 2, "Resu'),
      /Trivy wrote no valid JSON report: /,
    ],
    [
      'not an object',
      (o: string) => writeFileSync(o, '[]'),
      /Trivy wrote no valid JSON report: not a JSON object/,
    ],
  ])('exit 0 but %s', async (_name, write, message) => {
    const f = fake((_r, output) => (write(output), {}));
    const r = await scanImage(target, opts(f.run));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(message);
  });

  test('invalid JSON: where it broke, never the report text itself', async () => {
    const f = fake((_r, output) => (writeFileSync(output, 'root:x:0:0:root:/root:/bin/bash\n'), {}));
    const r = await scanImage(target, opts(f.run));
    expect(!r.ok && r.error).toMatch(/^Trivy wrote no valid JSON report: syntax error/);
    expect(!r.ok && r.error).not.toContain('root:');
  });

  test('a stale report from an earlier run is never read as this one', async () => {
    const ok = fake((_r, output) => (writeFileSync(output, '{"SchemaVersion":2}'), {}));
    await scanImage(target, opts(ok.run));
    const silent = fake(() => ({}));
    expect((await scanImage(target, opts(silent.run))).ok).toBe(false);
  });
});

describe('helpers', () => {
  test('reportFileName is readable and unique per reference', () => {
    const a = reportFileName('ghcr.io/acme/api:1.0');
    expect(a).toMatch(/^ghcr\.io_acme_api_1\.0-[0-9a-f]{8}\.json$/);
    expect(reportFileName('ghcr.io/acme/api_1.0')).not.toBe(a); // same readable part, different ref
  });
  test('hard kill comes after Trivy’s own timeout, by at least 5 s', () => {
    for (const t of [1000, 60_000, 600_000, 3_600_000])
      expect(hardKillAfterMs(t) - t).toBeGreaterThanOrEqual(5000);
  });
});
