import { describe, expect, test } from 'vitest';
import { attachOrigins } from '../../src/findings/load-reports.js';
import type { ImageResult, Target } from '../../src/model.js';
import { reusedImagesSection } from '../../src/scale/reuse-summary.js';

function target(ref: string, extra: Partial<Target> = {}): Target {
  const [registry, ...rest] = ref.split('/');
  const [repository, tag] = rest.join('/').split(':');
  return { ref, input: ref, registry, repository, tag, origins: [], sources: ['listed'], ...extra };
}

function image(t: Target, extra: Partial<ImageResult> = {}): ImageResult {
  return { target: t, status: 'scanned', findings: [], ...extra };
}

describe('attachOrigins (a fan-in job over reports, with discover-files)', () => {
  const fromFile = target('r.io/shop/api:stable', {
    origins: [{ file: 'Dockerfile', line: 1 }],
    sources: ['file'],
  });

  test('matches the exact ref', () => {
    const [out] = attachOrigins([image(target('r.io/shop/api:stable'))], [fromFile]);
    expect(out.target.origins).toEqual([{ file: 'Dockerfile', line: 1 }]);
    expect(out.target.sources).toEqual(['listed', 'file']);
  });

  test('matches another tag of the same image', () => {
    const [out] = attachOrigins([image(target('r.io/shop/api:1.0', { tags: ['stable'] }))], [fromFile]);
    expect(out.target.origins).toEqual([{ file: 'Dockerfile', line: 1 }]);
  });

  test('matches a digest-pinned reference of the same repository, not of another', () => {
    const pinned = target('r.io/shop/api@sha256:aa', {
      repository: 'shop/api',
      digest: 'sha256:aa',
      tag: undefined,
      origins: [{ file: 'k8s.yaml', line: 9 }],
    });
    const other = target('r.io/other/api@sha256:aa', {
      repository: 'other/api',
      digest: 'sha256:aa',
      tag: undefined,
      origins: [{ file: 'x.yaml', line: 2 }],
    });
    const [out] = attachOrigins(
      [image(target('r.io/shop/api:1.0'), { digest: 'sha256:aa' })],
      [pinned, other],
    );
    expect(out.target.origins).toEqual([{ file: 'k8s.yaml', line: 9 }]);
  });

  test('leaves images no file mentions untouched', () => {
    const img = image(target('r.io/shop/web:1'));
    expect(attachOrigins([img], [fromFile])[0]).toBe(img);
  });
});

describe('reusedImagesSection', () => {
  test('lists reused images only, with the Trivy and DB build their findings come from', () => {
    const md = reusedImagesSection([
      image(target('r.io/a:1'), {
        status: 'reused',
        digest: 'sha256:' + 'a'.repeat(64),
        trivyVersion: '0.74.0',
        dbUpdatedAt: '2026-11-23T18:00:00Z',
      }),
      image(target('r.io/b:1')),
    ]);
    expect(md).toContain('### Reused results (1)');
    expect(md).toContain('`r.io/a:1`');
    expect(md).toContain('Trivy 0.74.0');
    expect(md).toContain('DB 2026-11-23T18:00:00Z');
    expect(md).not.toContain('r.io/b:1');
  });

  test('says nothing when every image was scanned in this run', () => {
    expect(reusedImagesSection([image(target('r.io/b:1'))])).toBeUndefined();
  });
});
