import { test } from 'vitest';
import { writeFileSync } from 'node:fs';
import { buildSarifFiles } from '../../src/report/sarif.js';
import { syntheticEstate } from './fixtures/sarif/synthetic-images.js';
test('smoke', () => {
  for (const [n, f] of [[30, 60000], [100, 100000]] as const) {
    const images = syntheticEstate({ images: n, findings: f, heaviest: n === 30 ? 27000 : 1000 });
    const m0 = process.memoryUsage().rss;
    const t0 = performance.now();
    const { files, warnings } = buildSarifFiles(images, { category: 'image-scan', severities: ['CRITICAL','HIGH','MEDIUM','LOW','UNKNOWN'], toolVersion: '0.1.0', trivyVersion: '0.74.0' });
    const t1 = performance.now();
    console.log(n, f, 'ms', Math.round(t1 - t0), 'files', files.length, files.map(x => x.runs.length), warnings, 'rss MB', Math.round((process.memoryUsage().rss - m0)/1e6));
    if (n === 30) files.forEach((file, i) => writeFileSync(`/tmp/sarifx/synth-${i}.sarif`, JSON.stringify(file)));
  }
}, 120000);
