import { expect, test } from 'vitest';
import type { ImageResult } from '../../src/model.js';
import { buildSnapshot, snapshotCorrelator } from '../../src/publish/dependency-graph.js';
import type { GitHubRunContext } from '../../src/publish/github-context.js';

const github: GitHubRunContext = {
  apiUrl: 'https://ghes.example/api/v3',
  serverUrl: 'https://ghes.example',
  repository: { owner: 'acme', repo: 'shop' },
  eventName: 'push',
  sha: 'a'.repeat(40),
  ref: 'refs/heads/main',
  runId: '42',
  workflow: 'images',
  job: 'scan',
  readOnlyToken: false,
  workspace: '/ws',
};

function image(ref: string, packages?: ImageResult['packages']): ImageResult {
  const [registry, ...rest] = ref.replace(/@.*$/, '').split('/');
  const [repository, tag] = rest.join('/').split(':');
  return {
    target: { ref, input: ref, registry, repository, tag, origins: [], sources: ['listed'] },
    digest: `sha256:${'c'.repeat(64)}`,
    status: 'scanned',
    findings: [],
    ...(packages && { packages }),
  };
}

test('a snapshot per image: manifest keyed by the image, packages by purl, those without one left out', () => {
  const snapshot = buildSnapshot(
    image('ghcr.io/acme/api:1.2', [
      { name: 'curl', version: '8', purl: 'pkg:apk/alpine/curl@8', target: 'os' },
      { name: 'mystery', version: '1', target: 'os' },
    ]),
    {
      github,
      toolVersion: '1.0.0',
      scannedAt: '2026-10-01T08:00:00.000Z',
      actionRepository: 'acme/image-scan-gate',
    },
  )!;
  expect(snapshot.detector).toEqual({
    name: 'image-scan-gate',
    version: '1.0.0',
    url: 'https://ghes.example/acme/image-scan-gate',
  });
  expect(snapshot.job).toEqual({
    id: expect.stringMatching(/^42-[0-9a-f]{12}$/),
    correlator: 'images/scan/ghcr.io/acme/api:1.2',
    html_url: 'https://ghes.example/acme/shop/actions/runs/42',
  });
  expect(Object.keys(snapshot.manifests)).toEqual(['ghcr.io/acme/api:1.2']);
  expect(snapshot.manifests['ghcr.io/acme/api:1.2'].resolved).toEqual({
    'pkg:apk/alpine/curl@8': {
      package_url: 'pkg:apk/alpine/curl@8',
      relationship: 'indirect',
      scope: 'runtime',
    },
  });
  expect(snapshot.manifests['ghcr.io/acme/api:1.2'].metadata?.image).toMatch(/^pkg:oci\/api@sha256:c{64}\?/);
});

test('the correlator is stable per workflow, job and image: a digest does not change it, another tag does', () => {
  const a = snapshotCorrelator(github, image('ghcr.io/acme/api:1.2'));
  expect(snapshotCorrelator(github, image(`ghcr.io/acme/api:1.2@sha256:${'d'.repeat(64)}`))).toBe(a);
  expect(snapshotCorrelator(github, image('ghcr.io/acme/api:1.3'))).not.toBe(a);
  expect(snapshotCorrelator({ ...github, job: 'other' }, image('ghcr.io/acme/api:1.2'))).not.toBe(a);
});

test('an image without a package list gives no snapshot', () => {
  expect(
    buildSnapshot(image('ghcr.io/acme/api:1.2'), { github, toolVersion: '1', scannedAt: 'x' }),
  ).toBeUndefined();
});
