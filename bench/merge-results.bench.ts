import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { mergeResults, summariseCounts } from '../src/findings/merge-results.js';
import { readReportFile, serializeResults } from '../src/findings/results-file.js';
import {
  RESULTS_SCHEMA,
  SEVERITIES,
  type Finding,
  type ImageResult,
  type ResultsFile,
} from '../src/model.js';

// Fan-in at scale: 20 shard results files of 25 images × 500 findings (250,000 findings), merged from text the way
// `mode: report` does it (parse + validate + merge). Targets: < 2 s and < 500 MB. Prints figures; asserts only
// correctness.

const SHARDS = 20;
const IMAGES_PER_SHARD = 25;
const FINDINGS_PER_IMAGE = 500;

function finding(i: number, j: number): Finding {
  return {
    id: `CVE-2024-${String(10000 + ((i * 7 + j) % 9000))}`,
    pkg: `lib-${j % 180}`,
    pkgId: `lib-${j % 180}@1.${j % 13}.0`,
    purl: `pkg:deb/debian/lib-${j % 180}@1.${j % 13}.0?arch=amd64&distro=debian-12.5`,
    installed: `1.${j % 13}.0`,
    ...(j % 3 !== 0 && { fixed: `1.${j % 13}.1, 2.0.0` }),
    status: j % 3 === 0 ? 'affected' : 'fixed',
    severity: SEVERITIES[j % SEVERITIES.length],
    severitySource: 'nvd',
    cvss: {
      score: (j % 100) / 10,
      source: 'nvd',
      vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
      version: '3',
    },
    cvssV3OfSource: (j % 100) / 10,
    title: `lib-${j % 180}: a plausible title for finding ${j}`,
    description:
      'A description of moderate length, as Trivy gives for most vulnerabilities in its DB. '.repeat(3),
    url: `https://avd.aquasec.com/nvd/cve-2024-${10000 + j}`,
    class: j % 5 === 0 ? 'lang-pkgs' : 'os-pkgs',
    target: `image (debian 12.5)`,
    type: 'debian',
    layer: { diffId: `sha256:${(j % 9).toString().repeat(64)}` },
    publishedDate: '2024-05-01T00:00:00Z',
  };
}

function image(shard: number, n: number, status: ImageResult['status'] = 'scanned'): ImageResult {
  const index = shard * IMAGES_PER_SHARD + n;
  const ref = `ghcr.io/acme/svc-${String(index).padStart(3, '0')}:1.0`;
  return {
    target: {
      ref,
      input: ref,
      registry: 'ghcr.io',
      repository: `acme/svc-${String(index).padStart(3, '0')}`,
      tag: '1.0',
      origins: [{ file: `deploy/svc-${index}.yaml`, line: 12 }],
      sources: ['registry'],
    },
    ...(status === 'scanned' && { digest: `sha256:${index.toString(16).padStart(64, '0')}` }),
    status,
    ...(status === 'failed' && { error: 'timeout' }),
    findings:
      status === 'scanned' ? Array.from({ length: FINDINGS_PER_IMAGE }, (_, j) => finding(index, j)) : [],
    trivyVersion: '0.74.0',
    dbUpdatedAt: '2026-08-14T06:00:00Z',
  };
}

function shardFile(shard: number): ResultsFile {
  const images = Array.from({ length: IMAGES_PER_SHARD }, (_, n) => image(shard, n));
  // Each shard after the first also failed to pull one image another shard scanned: the merge must drop it.
  if (shard > 0) images.push(image(shard - 1, 0, 'failed'));
  return {
    schema: RESULTS_SCHEMA,
    tool: { name: 'image-scan-gate', version: '1.0.0' },
    trivyVersion: '0.74.0',
    dbUpdatedAt: '2026-08-14T06:00:00Z',
    createdAt: '2026-08-14T09:00:00Z',
    images,
    skipped: [],
  };
}

test('merge 20 shard results files of 25 images × 500 findings, from text', async () => {
  // On disk, as the report job finds them after downloading the shards' artifacts.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'isg-merge-bench-'));
  const files = Array.from({ length: SHARDS }, (_, s) => {
    const file = path.join(dir, `shard-${s + 1}.json`);
    writeFileSync(file, serializeResults(shardFile(s)));
    return file;
  });
  const megabytes = files.reduce((n, f) => n + statSync(f).size, 0) / 1024 / 1024;
  globalThis.gc?.();

  const baselineRss = process.memoryUsage().rss;
  let peakRss = baselineRss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 5);
  const started = performance.now();
  const parsed = [];
  for (const file of files) parsed.push((await readReportFile(file)).results);
  const parsedAt = performance.now();
  const merged = mergeResults(parsed);
  const totals = summariseCounts(merged.images);
  const finished = performance.now();
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  rmSync(dir, { recursive: true, force: true });

  console.log(
    [
      `merge-results: ${SHARDS} files, ${megabytes.toFixed(1)} MB of JSON, ${SHARDS * IMAGES_PER_SHARD} images, ` +
        `${SHARDS * IMAGES_PER_SHARD * FINDINGS_PER_IMAGE} findings`,
      `  read+parse+validate ${(parsedAt - started).toFixed(0)} ms, merge+count ${(finished - parsedAt).toFixed(0)} ms, ` +
        `total ${(finished - started).toFixed(0)} ms (target < 2000 ms)`,
      `  peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MB sampled (${((peakRss - baselineRss) / 1024 / 1024).toFixed(0)} MB ` +
        `over the ${(baselineRss / 1024 / 1024).toFixed(0)} MB before reading), maxRSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB ` +
        `(target < 500 MB)`,
      `  machine: ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}`,
    ].join('\n'),
  );

  expect(merged.images).toHaveLength(SHARDS * IMAGES_PER_SHARD);
  expect(merged.images.every((i) => i.status === 'scanned')).toBe(true);
  expect(Object.values(totals.counts).reduce((a, b) => a + b, 0)).toBe(
    SHARDS * IMAGES_PER_SHARD * FINDINGS_PER_IMAGE,
  );
  expect(merged.trivyVersions).toEqual(['0.74.0']);
});
