import { describe, expect, test } from 'vitest';
import {
  imagesOutput,
  mergeResults,
  summariseCounts,
  visibleFindings,
} from '../../src/findings/merge-results.js';
import {
  RESULTS_SCHEMA,
  type Finding,
  type ImageResult,
  type Origin,
  type ResultsFile,
  type Severity,
  type SkippedTarget,
  type Verdict,
} from '../../src/model.js';

const D1 = 'sha256:' + '1'.repeat(64);
const D2 = 'sha256:' + '2'.repeat(64);

function finding(id: string, severity: Severity, fixed?: string): Finding {
  return { id, pkg: `pkg-${id}`, severity, ...(fixed && { fixed }), class: 'os-pkgs', target: 't' };
}

function img(
  ref: string,
  opts: {
    digest?: string;
    status?: ImageResult['status'];
    origins?: Origin[];
    findings?: Finding[];
    tags?: string[];
    trivyVersion?: string;
  } = {},
): ImageResult {
  const [, registry, repository, tag] = /^([^/]+)\/(.+?)(?::([^:@/]+))?$/.exec(ref)!;
  return {
    target: {
      ref,
      input: ref,
      registry,
      repository,
      ...(tag && { tag }),
      ...(opts.tags && { tags: opts.tags }),
      origins: opts.origins ?? [],
      sources: opts.origins ? ['file'] : ['listed'],
    },
    ...(opts.digest && { digest: opts.digest }),
    status: opts.status ?? 'scanned',
    ...(opts.status === 'failed' && { error: 'pull denied' }),
    findings: opts.findings ?? [],
    ...(opts.trivyVersion && { trivyVersion: opts.trivyVersion }),
  };
}

function results(images: ImageResult[], skipped: SkippedTarget[] = [], trivyVersion?: string): ResultsFile {
  return {
    schema: RESULTS_SCHEMA,
    tool: { name: 'image-scan-gate', version: '1.0.0' },
    ...(trivyVersion && { trivyVersion }),
    createdAt: '2026-08-14T00:00:00Z',
    images,
    skipped,
  };
}

describe('mergeResults', () => {
  test('the same digest from two shards under two tags is one image with every tag and origin', () => {
    const a = results([
      img('ghcr.io/acme/api:latest', {
        digest: D1,
        origins: [{ file: 'Dockerfile', line: 1 }],
        findings: [finding('CVE-1', 'HIGH')],
      }),
    ]);
    const b = results([
      img('ghcr.io/acme/api:1.2', {
        digest: D1,
        origins: [{ file: 'k8s/api.yaml', line: 9 }],
        findings: [finding('CVE-1', 'HIGH')],
      }),
    ]);
    const { images } = mergeResults([a, b]);
    expect(images).toHaveLength(1);
    const [merged] = images;
    // The smallest ref stands for the image; the other tag is kept with it.
    expect(merged.target.ref).toBe('ghcr.io/acme/api:1.2');
    expect(merged.target.tags).toEqual(['latest']);
    expect(merged.target.origins).toEqual(
      expect.arrayContaining([
        { file: 'Dockerfile', line: 1 },
        { file: 'k8s/api.yaml', line: 9 },
      ]),
    );
    expect(merged.target.origins).toHaveLength(2);
    // Findings are the image's, not doubled by the two tags.
    expect(merged.findings).toHaveLength(1);
  });

  test('a scanned result beats a failed one for the same ref (flaky pull in one shard)', () => {
    const failed = results([img('docker.io/library/nginx:1.25', { status: 'failed' })]);
    const scanned = results([
      img('docker.io/library/nginx:1.25', { digest: D1, findings: [finding('C', 'LOW')] }),
    ]);
    for (const order of [
      [failed, scanned],
      [scanned, failed],
    ]) {
      const { images } = mergeResults(order);
      expect(images.map((i) => [i.target.ref, i.status])).toEqual([
        ['docker.io/library/nginx:1.25', 'scanned'],
      ]);
    }
  });

  test('a failure with no success elsewhere is kept, so it still fails the gate', () => {
    const { images } = mergeResults([results([img('docker.io/library/redis:7', { status: 'failed' })])]);
    expect(images.map((i) => i.status)).toEqual(['failed']);
  });

  test('a tag re-pushed between shards: both digests are kept, ordered by digest', () => {
    const { images } = mergeResults([
      results([img('ghcr.io/acme/web:main', { digest: D2 })]),
      results([img('ghcr.io/acme/web:main', { digest: D1 })]),
    ]);
    expect(images.map((i) => i.digest)).toEqual([D1, D2]);
  });

  test('images without a digest (raw reports) are deduplicated by ref', () => {
    const { images } = mergeResults([
      results([img('docker.io/library/busybox:1', { findings: [finding('X', 'LOW')] })]),
      results([img('docker.io/library/busybox:1', { findings: [finding('X', 'LOW')] })]),
    ]);
    expect(images).toHaveLength(1);
  });

  test('two repositories sharing a digest stay two images (policy rules match by name)', () => {
    const { images } = mergeResults([
      results([
        img('docker.io/library/alpine:3.20', { digest: D1 }),
        img('ghcr.io/mirror/alpine:3.20', { digest: D1 }),
      ]),
    ]);
    expect(images.map((i) => i.target.ref)).toEqual([
      'docker.io/library/alpine:3.20',
      'ghcr.io/mirror/alpine:3.20',
    ]);
  });

  test('skipped: dropped when scanned elsewhere (also under another tag of a digest), merged otherwise', () => {
    const a = results(
      [img('ghcr.io/acme/api:1.2', { digest: D1, tags: ['stable'] })],
      [{ ref: 'ghcr.io/acme/zeta:1', reason: 'over max-images (1)', origins: [{ file: 'a', line: 1 }] }],
    );
    const b = results(
      [],
      [
        { ref: 'ghcr.io/acme/api:1.2', reason: 'over max-images (1)' },
        { ref: 'ghcr.io/acme/api:stable', reason: 'over max-images (1)' },
        { ref: 'ghcr.io/acme/zeta:1', reason: 'over max-images (1)', origins: [{ file: 'b', line: 2 }] },
        { ref: 'ghcr.io/acme/beta:1', reason: 'over max-images (1)' },
      ],
    );
    const { skipped } = mergeResults([a, b]);
    expect(skipped.map((s) => s.ref)).toEqual(['ghcr.io/acme/beta:1', 'ghcr.io/acme/zeta:1']);
    expect(skipped[1].origins).toEqual([
      { file: 'a', line: 1 },
      { file: 'b', line: 2 },
    ]);
  });

  test('deterministic: the same files in any order give the same output, sorted by ref', () => {
    const files = [
      results([
        img('ghcr.io/z/app:1', { digest: D2 }),
        img('docker.io/library/nginx:1', { status: 'failed' }),
      ]),
      results([img('ghcr.io/a/app:1', { digest: D1 }), img('ghcr.io/a/app:2', { digest: D1 })]),
      results([img('docker.io/library/nginx:1', { digest: D1, findings: [finding('C', 'LOW')] })]),
    ];
    const forward = mergeResults(files);
    expect(forward.images.map((i) => i.target.ref)).toEqual([
      'docker.io/library/nginx:1',
      'ghcr.io/a/app:1',
      'ghcr.io/z/app:1',
    ]);
    expect(mergeResults([...files].reverse())).toEqual(forward);
    expect(mergeResults([files[1], files[2], files[0]])).toEqual(forward);
  });

  test('trivyVersions: every version seen, once, sorted', () => {
    const { trivyVersions } = mergeResults([
      results([img('ghcr.io/a/x:1', { trivyVersion: '0.74.0' })], [], '0.74.0'),
      results([img('ghcr.io/a/y:1', { trivyVersion: '0.66.0' })]),
      results([]),
    ]);
    expect(trivyVersions).toEqual(['0.66.0', '0.74.0']);
  });

  test('no files: nothing', () => {
    expect(mergeResults([])).toEqual({ images: [], skipped: [], trivyVersions: [] });
  });
});

describe('counts and the images output', () => {
  const api = img('ghcr.io/acme/api:1', {
    digest: D1,
    findings: [
      finding('CVE-A', 'CRITICAL', '1.1'),
      finding('CVE-B', 'HIGH'),
      finding('CVE-C', 'HIGH', ', 2.0'),
      finding('CVE-D', 'LOW', ' , '),
    ],
  });
  const web = img('ghcr.io/acme/web:1', {
    digest: D2,
    findings: [finding('CVE-E', 'MEDIUM', '3'), finding('CVE-F', 'UNKNOWN')],
  });
  const broken = img('ghcr.io/acme/broken:1', { status: 'failed' });
  const verdict: Verdict = {
    result: 'fail',
    violations: [
      {
        rule: 'fail-on',
        image: 'ghcr.io/acme/api:1',
        findings: ['CVE-A'],
        threshold: 'HIGH',
        message: 'api has a CRITICAL finding',
      },
      {
        rule: 'scan-error',
        image: 'ghcr.io/acme/broken:1',
        findings: [],
        threshold: '',
        message: 'pull denied',
      },
    ],
    ignored: [{ image: 'ghcr.io/acme/api:1', findingId: 'CVE-B', pkg: 'pkg-CVE-B', rule: 'policy.yml:7' }],
    expiredIgnores: [],
    unusedIgnores: [],
  };

  test('summariseCounts counts every severity and the fixable ones (a fixed version among the commas)', () => {
    expect(summariseCounts([api, web, broken])).toEqual({
      counts: { CRITICAL: 1, HIGH: 2, MEDIUM: 1, LOW: 1, UNKNOWN: 1 },
      fixable: 3, // CVE-A, CVE-C (", 2.0"), CVE-E; CVE-D's " , " names no version
    });
  });

  test('summariseCounts with a verdict leaves out what the policy ignored', () => {
    expect(summariseCounts([api, web], verdict).counts.HIGH).toBe(1);
  });

  test('visibleFindings keeps the selected severities only', () => {
    expect(visibleFindings(api.findings, ['CRITICAL', 'LOW']).map((f) => f.id)).toEqual(['CVE-A', 'CVE-D']);
    expect(visibleFindings(api.findings, [])).toEqual([]);
  });

  test('imagesOutput: per-image counts and verdict (failed image = error)', () => {
    expect(imagesOutput([api, web, broken], verdict)).toEqual([
      {
        ref: 'ghcr.io/acme/api:1',
        digest: D1,
        status: 'scanned',
        counts: { critical: 1, high: 1, medium: 0, low: 1, unknown: 0 },
        fixable: 2,
        verdict: 'fail',
      },
      {
        ref: 'ghcr.io/acme/web:1',
        digest: D2,
        status: 'scanned',
        counts: { critical: 0, high: 0, medium: 1, low: 0, unknown: 1 },
        fixable: 1,
        verdict: 'pass',
      },
      {
        ref: 'ghcr.io/acme/broken:1',
        status: 'failed',
        counts: { critical: 0, high: 0, medium: 0, low: 0, unknown: 0 },
        fixable: 0,
        verdict: 'error',
      },
    ]);
  });

  test('imagesOutput under gate: warn reports the violating image as warn', () => {
    const out = imagesOutput([api, web], { ...verdict, result: 'warn' });
    expect(out.map((o) => o.verdict)).toEqual(['warn', 'pass']);
  });

  test('imagesOutput without a verdict (mode: discover) passes everything that was not a failure', () => {
    expect(imagesOutput([api, broken]).map((o) => o.verdict)).toEqual(['pass', 'error']);
  });
});
