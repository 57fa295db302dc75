import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import type { RunProcess } from '../../src/infra/exec.js';
import { MemoryLogger } from '../../src/infra/logger.js';
import { parseInputs } from '../../src/inputs.js';
import { prepareTrivyIsolation } from '../../src/install/trivy-isolation.js';
import type { Target } from '../../src/model.js';
import { planScans } from '../../src/scan/plan-scans.js';
import { scanTargets } from '../../src/scan/scan-targets.js';
import { loadTrivySettings } from '../../src/scan/trivy-settings.js';

function target(ref: string): Target {
  const [, registry, repository, tag] = /^([^/]+)\/([^:]+):(.+)$/.exec(ref)!;
  return { ref, input: ref, registry, repository, tag, origins: [], sources: ['listed'] };
}

test('a registry refusing several images is one warning, naming them in the plan’s order however the scans finish', async () => {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'isg-scan-ws-'));
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'isg-scan-temp-'));
  const config = parseInputs(
    (n) => ({ images: 'r.example/x/a:1', parallel: '2' })[n] ?? '',
    { GITHUB_WORKSPACE: workspace, RUNNER_TEMP: tempDir },
    { parseRegistryAuth: () => [], maskSecret: () => undefined },
  );
  fs.mkdirSync(path.join(config.outputDir, 'reports'), { recursive: true });
  const a = target('r.example/x/a:1');
  const b = target('r.example/x/b:1');
  const logger = new MemoryLogger();
  // The first image's scan ends after the second's.
  const runProcess: RunProcess = async (req) => {
    const image = req.args.at(-1) ?? '';
    if (image === a.ref) await new Promise((resolve) => setTimeout(resolve, 100));
    const stderr = `2026-09-01T12:00:00Z\tFATAL\tFatal error\trun error: remote error: GET https://r.example/v2/x/manifests/1: UNAUTHORIZED: authentication required`;
    return { exitCode: 1, stdout: '', stderr, timedOut: false, durationMs: 1 };
  };
  const plan = await planScans(
    config,
    { targets: [a, b], refused: new Map() },
    { logger, trivyVersion: '0.74.0' },
  );

  const scanned = await scanTargets(config, plan, {
    logger,
    runProcess,
    trivy: {
      path: '/usr/local/bin/trivy',
      version: '0.74.0',
      cacheDir: path.join(tempDir, 'cache'),
      isolation: await prepareTrivyIsolation(tempDir),
      env: {},
    },
    trivySettings: await loadTrivySettings(config.trivy, workspace),
  });

  expect(scanned.map((r) => [r.target.ref, r.status])).toEqual([
    [a.ref, 'failed'],
    [b.ref, 'failed'],
  ]);
  const warnings = logger.entries.filter((e) => e.level === 'warning').map((e) => e.message);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toMatch(/^r\.example refused the pull: .*UNAUTHORIZED/);
  expect(warnings[0].split('\n').at(-1)).toBe(`Failed for ${a.ref} and 1 more image.`);
});
