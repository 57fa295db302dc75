import { existsSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { readStandinLog, scansIn, tempDir } from '../__tests__/e2e/fixtures.js';
import { startRegistry } from '../test-support/registry.js';
import { startReleaseMirror } from '../test-support/release-mirror.js';
import { node24, runAction } from '../test-support/run-action.js';
import { prepareNativeStandin } from './native-standin.js';

// Issue 7's scale figure: the bundle, run as the runner runs it, scans 500 distinct images (listed) with the Trivy
// stand-in sleeping 200 ms per scan and `parallel: 8`. Prints the scan phase's wall time (first scan started to
// last scan ended, from the stand-in's own log) against the ideal ceil(500/8) x 200 ms (target: <= 10% over), the
// whole step's wall time, and the action's peak RSS. Asserts only correctness: 500 images, each scanned once.
//
// Registry content: 490 images written straight into the registry's storage (49 repositories x 10 tags, each tag a
// distinct image, no findings) and 10 pushed with stand-in report labels, so some images carry findings.
//
// A second variant gives the action a minimal native Trivy (`trivy-path`, bench/native-standin.ts: sleep, copy a
// prepared report), so the ratio scan phase / (ceil(500/8) x 200 ms) is the action's own overhead (target <= 1.10).

const IMAGES = 500;
const PARALLEL = 8;
const DELAY_MS = 200;
const REPORTS = ['alpine-vulns', 'node-app', 'critical-heavy', 'clean'];

test('500 images, parallel 8, stand-in 200 ms per scan', async () => {
  const registry = await startRegistry({
    seed: { repositories: 49, tagsPerRepository: 10, shareEvery: 0, name: (i) => `fleet/svc-${String(i).padStart(3, '0')}` },
  }); // prettier-ignore
  const mirror = await startReleaseMirror();
  try {
    const refs = registry.seeded.map((s) => `${registry.host}/${s.repository}:${s.tag}`);
    const digests = new Map(
      registry.seeded.map((s) => [`${registry.host}/${s.repository}:${s.tag}`, s.digest]),
    );
    for (let i = 0; refs.length < IMAGES; i++) {
      const report = REPORTS[i % REPORTS.length];
      const { digest } = await registry.push(`apps/app-${i}`, '1.0', {
        labels: { 'standin.report': report },
        layerContent: `app ${i}`,
      });
      refs.push(`${registry.host}/apps/app-${i}:1.0`);
      digests.set(`${registry.host}/apps/app-${i}:1.0`, digest);
    }
    expect(new Set(digests.values()).size).toBe(IMAGES); // nothing dedupes: 500 scans

    const dir = tempDir('isg-bench-scale-');
    const log = path.join(dir, 'standin.log');
    // Peak RSS of the action's process, measured by GNU time around Node 24 (when the machine has it).
    const timeFile = path.join(dir, 'time.txt');
    const useTime = existsSync('/usr/bin/time');
    let node = node24;
    if (useTime) {
      // A Node wrapper, not a shell script: sh drops INPUT_* variables whose names hold a hyphen.
      node = path.join(dir, 'node-with-time.mjs');
      writeFileSync(
        node,
        [
          `#!${node24}`,
          "import { spawn } from 'node:child_process';",
          `const child = spawn('/usr/bin/time', ['-f', '%M %e %U %S', '-o', ${JSON.stringify(timeFile)}, ${JSON.stringify(node24)}, ...process.argv.slice(2)], { stdio: 'inherit' });`,
          "child.on('exit', (code) => process.exit(code ?? 1));",
          '',
        ].join('\n'),
      );
      chmodSync(node, 0o755);
    }

    const loadBefore = os.loadavg()[0];
    const t0 = performance.now();
    const run = await runAction({
      inputs: {
        images: refs.join('\n'),
        parallel: String(PARALLEL),
        'trivy-download-url': mirror.baseUrl,
        'trivy-checksum': mirror.sha256,
        'fail-on': 'none',
        'upload-sarif': 'false',
        'pr-comment': 'never',
      },
      env: { STANDIN_LOG: log, STANDIN_SCAN_DELAY_MS: String(DELAY_MS) },
      node,
      timeoutMs: 600_000,
    });
    const stepMs = performance.now() - t0;
    expect(run.exitCode, run.stdout.slice(-4000) + run.stderr).toBe(0);

    // Correctness: 500 images in the results, each digest scanned exactly once.
    const scans = scansIn(readStandinLog(log)).filter((s) => s.exitCode === 0);
    expect(scans.map((s) => digests.get(s.argv.at(-1)!)).sort()).toEqual([...digests.values()].sort());
    const results = JSON.parse(readFileSync(run.outputs['results-file'], 'utf8')) as {
      images: { status: string; findings: unknown[]; durationMs?: number }[];
    };
    expect(results.images).toHaveLength(IMAGES);
    expect(results.images.every((i) => i.status === 'scanned')).toBe(true);

    const first = Math.min(...scans.map((s) => s.start));
    const last = Math.max(...scans.map((s) => s.end));
    const phase = last - first;
    const ideal = Math.ceil(IMAGES / PARALLEL) * DELAY_MS;
    const inScript = scans.reduce((n, s) => n + (s.end - s.start), 0) / scans.length;
    // Most concurrent scans at any moment, from the stand-in's start/end times.
    const events = scans.flatMap((s) => [
      [s.start, 1],
      [s.end, -1],
    ]);
    events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let running = 0;
    let peakConcurrent = 0;
    for (const [, d] of events) peakConcurrent = Math.max(peakConcurrent, (running += d));
    const [maxRssKb, , userS, sysS] = useTime
      ? readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number)
      : [NaN, NaN, NaN, NaN];
    const findings = results.images.reduce((n, i) => n + i.findings.length, 0);
    // Spawn-to-exit of each Trivy process as the action measured it (results file `durationMs`): the pool is only
    // to blame for the part of the phase that sum(process time)/parallel does not explain.
    const busy = results.images.reduce((n, i) => n + (i.durationMs ?? 0), 0) / PARALLEL;
    const meanProcess = (busy * PARALLEL) / IMAGES;
    const cpus = os.cpus().length;
    // Every scan costs CPU (a Node start-up for the stand-in, the registry, the action): below this no pool can go.
    const cpuFloor = useTime ? ((userS + sysS) * 1000) / cpus : NaN;

    console.log(
      [
        `scale: ${IMAGES} distinct images (${findings} findings), parallel=${PARALLEL}, stand-in delay ${DELAY_MS} ms; ${cpus} CPUs, load average ${loadBefore.toFixed(1)} at start`,
        `  scan phase ${phase.toFixed(0)} ms (first scan start -> last scan end); ideal ceil(${IMAGES}/${PARALLEL})x${DELAY_MS} = ${ideal} ms -> ${pct(phase, ideal)} over (target <= 10%)`,
        `  pool: phase vs sum(Trivy process time)/${PARALLEL} = ${busy.toFixed(0)} ms -> ${pct(phase, busy)} over; peak ${peakConcurrent} scans at once`,
        `  Trivy stand-in: mean ${meanProcess.toFixed(0)} ms spawn-to-exit, ${inScript.toFixed(0)} ms inside its script (${DELAY_MS} ms delay + registry fetch)`,
        useTime
          ? `  action process tree: peak RSS ${(maxRssKb / 1024).toFixed(1)} MB (largest process), CPU ${((userS + sysS) * 1000).toFixed(0)} ms incl. the stand-ins (${(((userS + sysS) * 1000) / IMAGES).toFixed(0)} ms per image) -> CPU floor on ${cpus} CPUs ${cpuFloor.toFixed(0)} ms`
          : '  action process: peak RSS not measured (/usr/bin/time missing)',
        `  whole step ${stepMs.toFixed(0)} ms (Node start, install from the mirror, DB download, digest lookups, scans, reports)`,
      ].join('\n'),
    );
  } finally {
    await Promise.all([registry.close(), mirror.close()]);
  }
});

function pct(value: number, base: number): string {
  return `${((value / base - 1) * 100).toFixed(1)}%`;
}

test('500 images, parallel 8, native stand-in 200 ms per scan: the action alone', async () => {
  const registry = await startRegistry({
    seed: { repositories: 50, tagsPerRepository: 10, shareEvery: 0, name: (i) => `fleet/svc-${String(i).padStart(3, '0')}` },
  }); // prettier-ignore
  try {
    const images = registry.seeded.map((s) => ({
      ref: `${registry.host}/${s.repository}:${s.tag}`,
      name: `${registry.host}/${s.repository}`,
      digest: s.digest,
    }));
    expect(new Set(images.map((i) => i.digest)).size).toBe(IMAGES);
    const dir = tempDir('isg-bench-scale-native-');
    const native = prepareNativeStandin(dir, images, DELAY_MS);

    const loadBefore = os.loadavg()[0];
    const t0 = performance.now();
    const run = await runAction({
      inputs: {
        images: images.map((i) => i.ref).join('\n'),
        parallel: String(PARALLEL),
        'trivy-path': native.path,
        'fail-on': 'none',
        'upload-sarif': 'false',
        'pr-comment': 'never',
      },
      timeoutMs: 600_000,
    });
    const stepMs = performance.now() - t0;
    expect(run.exitCode, run.stdout.slice(-4000) + run.stderr).toBe(0);

    const scans = native.scans();
    expect(scans.map((s) => s.ref).sort()).toEqual(images.map((i) => i.ref).sort());
    const results = JSON.parse(readFileSync(run.outputs['results-file'], 'utf8')) as {
      images: { status: string; durationMs?: number }[];
    };
    expect(results.images).toHaveLength(IMAGES);
    expect(results.images.every((i) => i.status === 'scanned')).toBe(true);

    const phase = Math.max(...scans.map((s) => s.end)) - Math.min(...scans.map((s) => s.start));
    const ideal = Math.ceil(IMAGES / PARALLEL) * DELAY_MS;
    const busy = results.images.reduce((n, i) => n + (i.durationMs ?? 0), 0) / PARALLEL;
    const inScript = scans.reduce((n, s) => n + (s.end - s.start), 0) / scans.length;
    console.log(
      [
        `scale, native stand-in: ${IMAGES} distinct images, parallel=${PARALLEL}, delay ${DELAY_MS} ms; ${os.cpus().length} CPUs, load average ${loadBefore.toFixed(1)} at start`,
        `  scan phase ${phase.toFixed(0)} ms (first scan start -> last scan end); ideal ceil(${IMAGES}/${PARALLEL})x${DELAY_MS} = ${ideal} ms -> ratio ${(phase / ideal).toFixed(3)} (target <= 1.10)`,
        `  pool: phase vs sum(Trivy process time)/${PARALLEL} = ${busy.toFixed(0)} ms -> ratio ${(phase / busy).toFixed(3)}; mean ${((busy * PARALLEL) / IMAGES).toFixed(0)} ms spawn-to-exit, ${inScript.toFixed(0)} ms inside the script`,
        `  whole step ${stepMs.toFixed(0)} ms (Node start, DB download, digest lookups, scans, reports; no install: trivy-path)`,
      ].join('\n'),
    );
  } finally {
    await registry.close();
  }
});
