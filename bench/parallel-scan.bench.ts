import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { runProcess, type RunProcess } from '../src/infra/exec.js';
import { prepareTrivyIsolation } from '../src/install/trivy-isolation.js';
import type { Target } from '../src/model.js';
import { scanAll } from '../src/scan/scan-pool.js';
import { scanImage } from '../src/scan/run-scan.js';
import { pushImage, startLocalRegistry } from '../test-support/trivy-standin/push-image.js';
import { readStandinLog, standinPath } from '../__tests__/standin/standin-helpers.js';
import { prepareNativeStandin } from './native-standin.js';

// 100 images through the scan pool with the stand-in sleeping 200 ms per scan. Prints wall time against the ideal
// ceil(100/parallel) x delay (target: within 15%), the pool's efficiency against the stand-in's measured process
// time (Node start-up of the stand-in itself is not the action's cost), and the action's own CPU and peak RSS.
// A second variant runs 100 and 500 images through a minimal native stand-in (bench/native-standin.ts: sleep, copy a
// prepared report), so wall / (ceil(N/p) x delay) is the action's own overhead (target <= 1.10).
// Asserts only correctness.

const IMAGES = 100;
const DELAY_MS = 200;

test('parallel scan throughput', async () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'bench-parallel-'));
  const registry = await startLocalRegistry();
  try {
    const refs: string[] = [];
    for (let i = 0; i < IMAGES; i++) {
      const repo = `bench/svc-${String(i).padStart(3, '0')}`;
      await pushImage(registry.host, repo, 'v1', {
        content: `svc ${i}`,
        labels: i % 2 ? { 'standin.report': 'alpine-vulns' } : {},
      });
      refs.push(`${registry.host}/${repo}:v1`);
    }
    const cacheDir = path.join(home, 'cache');
    const env = { HOME: home, STANDIN_SCAN_DELAY_MS: String(DELAY_MS) };
    const isolation = await prepareTrivyIsolation(home);
    const dl = await runProcess({
      command: standinPath,
      args: ['image', '--download-db-only', '--cache-dir', cacheDir, '-q'],
      env,
    });
    expect(dl.exitCode).toBe(0);

    for (const parallel of [4, 8]) {
      const log = path.join(home, `p${parallel}.log`);
      const run: RunProcess = (req) => runProcess({ ...req, env: { ...req.env, STANDIN_LOG: log } });
      const target = (ref: string): Target => ({
        ref,
        input: ref,
        registry: registry.host,
        repository: ref.split('/').slice(1).join('/').replace(/:.*$/, ''),
        origins: [],
        sources: ['listed'],
      });
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const results = await scanAll(refs, parallel, (ref) =>
        scanImage(target(ref), {
          trivyPath: standinPath,
          cacheDir,
          reportDir: path.join(home, `reports-${parallel}`),
          env,
          isolation,
          timeoutMs: 120_000,
          scanners: ['vuln'],
          pkgTypes: ['os', 'library'],
          runProcess: run,
        }),
      );
      const wall = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      expect(results.every((r) => r.status === 'fulfilled' && r.value.ok)).toBe(true);

      const lines = readStandinLog(log);
      expect(lines).toHaveLength(IMAGES);
      const rounds = Math.ceil(IMAGES / parallel);
      const ideal = rounds * DELAY_MS;
      const inScript = lines.reduce((n, l) => n + (l.end - l.start), 0) / lines.length;
      // Spawn to exit, as the pool saw it: includes the stand-in's Node start-up.
      const spans = results.map((r) => (r.status === 'fulfilled' ? r.value.durationMs : 0));
      const meanProcess = spans.reduce((n, d) => n + d, 0) / spans.length;
      const busy = spans.reduce((n, d) => n + d, 0) / parallel;
      const actionCpuMs = (cpu.user + cpu.system) / 1000;
      console.log(
        [
          `parallel=${parallel} images=${IMAGES} delay=${DELAY_MS}ms`,
          `  wall ${wall.toFixed(0)} ms; ideal ceil(${IMAGES}/${parallel})x${DELAY_MS} = ${ideal} ms -> ${((wall / ideal - 1) * 100).toFixed(1)}% over (target <= 15%)`,
          `  stand-in process mean ${meanProcess.toFixed(0)} ms spawn-to-exit (${inScript.toFixed(0)} ms inside its script: delay + registry fetch)`,
          `  pool efficiency: wall vs sum(process time)/${parallel} = ${busy.toFixed(0)} ms -> ${((wall / busy - 1) * 100).toFixed(1)}% over`,
          `  action CPU ${actionCpuMs.toFixed(0)} ms total, ${(actionCpuMs / IMAGES).toFixed(2)} ms per image`,
          `  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(1)} MB (process lifetime), heap used ${(process.memoryUsage().heapUsed / 1048576).toFixed(1)} MB`,
        ].join('\n'),
      );
    }
  } finally {
    await registry.close();
    rmSync(home, { recursive: true, force: true });
  }
});

test('parallel scan throughput, native stand-in: the pool and scan stage alone', async () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'bench-parallel-native-'));
  try {
    const host = 'registry.bench.invalid:5000';
    const isolation = await prepareTrivyIsolation(home);
    for (const images of [100, 500]) {
      const refs = Array.from(
        { length: images },
        (_, i) => `${host}/bench/svc-${String(i).padStart(3, '0')}:v1`,
      );
      const dir = path.join(home, `n${images}`);
      const native = prepareNativeStandin(
        dir,
        refs.map((ref, i) => ({
          ref,
          name: ref.replace(/:v1$/, ''),
          digest: `sha256:${i.toString(16).padStart(64, '0')}`,
        })),
        DELAY_MS,
      );
      const cacheDir = path.join(dir, 'cache');
      const dl = await runProcess({
        command: native.path,
        args: ['image', '--download-db-only', '--cache-dir', cacheDir],
      });
      expect(dl.exitCode).toBe(0);
      for (const parallel of [4, 8]) {
        const before = native.scans().length;
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        const results = await scanAll(refs, parallel, (ref) =>
          scanImage(
            {
              ref,
              input: ref,
              registry: host,
              repository: ref.split('/').slice(1).join('/').replace(/:.*$/, ''),
              origins: [],
              sources: ['listed'],
            },
            {
              trivyPath: native.path,
              cacheDir,
              reportDir: path.join(dir, `reports-${parallel}`),
              env: {},
              isolation,
              timeoutMs: 120_000,
              scanners: ['vuln'],
              pkgTypes: ['os', 'library'],
              runProcess,
            },
          ),
        );
        const wall = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        expect(results.every((r) => r.status === 'fulfilled' && r.value.ok)).toBe(true);
        const scans = native.scans().slice(before);
        expect(scans).toHaveLength(images);
        const ideal = Math.ceil(images / parallel) * DELAY_MS;
        const inScript = scans.reduce((n, l) => n + (l.end - l.start), 0) / images;
        const spans = results.map((r) => (r.status === 'fulfilled' ? r.value.durationMs : 0));
        const meanProcess = spans.reduce((n, d) => n + d, 0) / images;
        const busy = (meanProcess * images) / parallel;
        const actionCpuMs = (cpu.user + cpu.system) / 1000;
        console.log(
          [
            `native stand-in: parallel=${parallel} images=${images} delay=${DELAY_MS}ms; load average ${os.loadavg()[0].toFixed(1)}`,
            `  wall ${wall.toFixed(0)} ms; ideal ceil(${images}/${parallel})x${DELAY_MS} = ${ideal} ms -> ratio ${(wall / ideal).toFixed(3)} (target <= 1.10)`,
            `  scan process mean ${meanProcess.toFixed(0)} ms spawn-to-exit (${inScript.toFixed(0)} ms inside the script); pool: wall vs sum(process time)/${parallel} = ${busy.toFixed(0)} ms -> ratio ${(wall / busy).toFixed(3)}`,
            `  action CPU ${actionCpuMs.toFixed(0)} ms total, ${(actionCpuMs / images).toFixed(2)} ms per image`,
          ].join('\n'),
        );
      }
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
