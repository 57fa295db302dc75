import { test } from 'vitest';
import { buildImageRun, compareRunFindings, findingFingerprint, imageLocations } from '../../src/report/sarif-run.js';
import { estimateGzipBytes } from '../../src/report/sarif.js';
import { syntheticEstate } from './fixtures/sarif/synthetic-images.js';
test('smoke', () => {
  const images = syntheticEstate({ images: 30, findings: 30000, heaviest: 1000 });
  const tot: Record<string, number> = {};
  const h0 = process.memoryUsage().heapUsed;
  const keep: unknown[] = [];
  for (const image of images) {
  let t = process.cpuUsage();
  const lap = (l: string) => { const n = process.cpuUsage(t); tot[l] = (tot[l] ?? 0) + (n.user + n.system) / 1000; t = process.cpuUsage(); };
  const rfs = image.findings.map((finding) => ({ finding, fingerprint: findingFingerprint(image.target, finding) }));
  lap('fp');
  rfs.sort(compareRunFindings);
  lap('sort');
  const run = buildImageRun({ image, automationId: 'x/', findings: rfs, toolVersion: '1', locations: imageLocations(image.target).locations });
  lap('build');
  estimateGzipBytes(run);
  lap('estimate');
  keep.push(run);
  }
  console.log(tot, 'heap MB', (process.memoryUsage().heapUsed - h0) / 1e6);
}, 120000);
