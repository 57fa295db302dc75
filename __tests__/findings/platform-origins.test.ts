import { expect, test } from 'vitest';
import { mergeResults } from '../../src/findings/merge-results.js';
import { parseResultsFile, serializeResults } from '../../src/findings/results-file.js';
import { RESULTS_SCHEMA, type ImageResult, type Origin, type ResultsFile } from '../../src/model.js';

// One image referenced for two platforms (Dockerfile `FROM --platform=…`): two results, each with its origins;
// origin platforms and Kustomize notes survive the results file.

const INDEX = 'sha256:' + 'a'.repeat(64);

function scanned(platform: string, origins: Origin[]): ImageResult {
  return {
    target: {
      ref: 'ghcr.io/acme/multi:1',
      input: 'ghcr.io/acme/multi:1',
      registry: 'ghcr.io',
      repository: 'acme/multi',
      tag: '1',
      digest: INDEX,
      platform,
      origins,
      sources: ['file'],
    },
    digest: INDEX,
    status: 'scanned',
    findings: [],
  };
}

const file = (images: ImageResult[]): ResultsFile => ({
  schema: RESULTS_SCHEMA,
  tool: { name: 'image-scan-gate', version: '1.0.0' },
  createdAt: '2026-12-03T00:00:00Z',
  images,
  skipped: [],
});

test('one index digest scanned for two platforms stays two images', () => {
  const amd = scanned('linux/amd64', [{ file: 'Dockerfile', line: 1, platform: 'linux/amd64' }]);
  const arm = scanned('linux/arm64', [{ file: 'Dockerfile', line: 6, platform: 'linux/arm64' }]);
  const { images } = mergeResults([file([amd, arm])]);
  expect(images.map((i) => [i.target.platform, i.target.origins])).toEqual([
    ['linux/amd64', [{ file: 'Dockerfile', line: 1, platform: 'linux/amd64' }]],
    ['linux/arm64', [{ file: 'Dockerfile', line: 6, platform: 'linux/arm64' }]],
  ]);
});

test('origin platform and note are kept by the results file', () => {
  const origins: Origin[] = [
    { file: 'Dockerfile', line: 6, column: 30, platform: 'linux/arm64' },
    {
      file: 'base/deploy.yaml',
      line: 7,
      note: 'Kustomize images override of app (newTag: 2) at k/kustomization.yaml:4',
    },
  ];
  const back = parseResultsFile(serializeResults(file([scanned('linux/arm64', origins)])), 'results.json');
  expect(back.images[0].target.origins).toEqual(origins);
});
