import { expect, test } from 'vitest';
import { SEVERITIES } from '../src/model.js';
import { buildSarifFiles, GITHUB_SARIF_LIMITS } from '../src/report/sarif.js';
import { syntheticEstate } from '../__tests__/report/fixtures/sarif/synthetic-images.js';

// SARIF for 100 images x 1,000 findings. Target: < 2 s and < 300 MB peak. Prints wall time, CPU time (the honest
// figure on a shared machine) and memory; asserts only that the output is whole and within GitHub's limits.

test('buildSarifFiles: 100 images x 1,000 findings', () => {
  const images = syntheticEstate({ images: 100, findings: 100_000, heaviest: 1_000 });
  const heapBefore = process.memoryUsage().heapUsed;
  const cpuBefore = process.cpuUsage();
  const start = performance.now();

  const { files, warnings } = buildSarifFiles(images, {
    category: 'image-scan',
    severities: [...SEVERITIES],
    toolVersion: '0.1.0',
    trivyVersion: '0.74.0',
  });

  const wallMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuBefore);
  const heapAfter = process.memoryUsage().heapUsed;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  console.log(
    [
      `files: ${files.length} (runs per file: ${files.map((f) => f.runs.length).join(', ')})`,
      `wall: ${Math.round(wallMs)} ms`,
      `cpu: ${Math.round((cpu.user + cpu.system) / 1000)} ms (user ${Math.round(cpu.user / 1000)}, system ${Math.round(cpu.system / 1000)})`,
      `heap growth: ${Math.round((heapAfter - heapBefore) / 1e6)} MB`,
      `peak RSS of the process (includes the 100,000 input findings): ${Math.round(peakRssMb)} MB`,
      `warnings: ${warnings.length}`,
    ].join('\n'),
  );

  const runs = files.flatMap((f) => f.runs);
  expect(runs).toHaveLength(100);
  expect(runs.reduce((n, r) => n + r.results.length, 0)).toBe(100_000);
  for (const f of files) expect(f.runs.length).toBeLessThanOrEqual(GITHUB_SARIF_LIMITS.runsPerFile);
  expect(warnings).toEqual([]);
});
