import { describe, expect, test } from 'vitest';
import { buildAnnotations } from '../../src/report/annotations.js';
import type { Finding, ImageResult, Origin, Severity, Violation } from '../../src/model.js';
import {
  ESTATES,
  estate,
  makeFinding,
  makeImage,
  makeVerdict,
  makeView,
} from './fixtures/render/build-view.js';

function finding(id: string, severity: Severity, pkg: string, fixed?: string): Finding {
  return makeFinding({ id, severity, pkg, installed: '1.0.0', fixed });
}

function image(
  input: string,
  findings: Finding[],
  origins: Origin[],
  extra: Partial<ImageResult> = {},
): ImageResult {
  const ref = input.includes('/') ? input : `docker.io/library/${input}`;
  return makeImage(ref, { findings, target: { input, origins }, ...extra });
}

function failOn(img: ImageResult, ids: string[]): Violation {
  return {
    rule: 'fail-on',
    image: img.target.ref,
    findings: ids,
    threshold: 'CRITICAL',
    message: `${img.target.input} has CRITICAL findings`,
  };
}

describe('buildAnnotations: one image on one line', () => {
  const nginx = image(
    'nginx:1.25',
    [
      finding('CVE-2024-0001', 'CRITICAL', 'openssl', '3.0.13'),
      finding('CVE-2024-0002', 'HIGH', 'zlib', '1.3.1'),
      finding('CVE-2024-0003', 'HIGH', 'curl', ''),
      finding('CVE-2024-0004', 'HIGH', 'expat', '2.6.0'),
    ],
    [{ file: 'docker/Dockerfile', line: 3 }],
  );

  test('fails the gate: an error on its line, counts in the title, fixes in the message', () => {
    const view = makeView({
      images: [nginx],
      verdict: makeVerdict({ result: 'fail', violations: [failOn(nginx, ['CVE-2024-0001'])] }),
    });
    const { annotations, omitted, notes } = buildAnnotations(view);
    expect(omitted).toBe(0);
    expect(notes).toEqual([]);
    expect(annotations).toHaveLength(1);
    const [a] = annotations;
    expect(a.level).toBe('error');
    expect(a.file).toBe('docker/Dockerfile');
    expect(a.startLine).toBe(3);
    // 1 critical + 3 high; openssl, zlib and expat have a fixed version, curl does not.
    expect(a.title).toBe('nginx:1.25 — 1 critical, 3 high (3 fixable)');
    expect(a.message).toContain('Fails the gate: nginx:1.25 has CRITICAL findings');
    expect(a.message).toContain('CVE-2024-0001 (CRITICAL) openssl 1.0.0 → 3.0.13');
    expect(a.message).toContain('CVE-2024-0002 (HIGH) zlib 1.0.0 → 1.3.1');
    expect(a.message).not.toContain('curl'); // no fix to offer
    // Most severe first.
    expect(a.message.indexOf('CVE-2024-0001')).toBeLessThan(a.message.indexOf('CVE-2024-0002'));
  });

  test.each<[string, Finding[], boolean, 'error' | 'warning' | 'notice' | undefined]>([
    ['a violation', [finding('A', 'LOW', 'p', '2')], true, 'error'],
    [
      'HIGH without a violation',
      [finding('A', 'HIGH', 'p', '2'), finding('B', 'LOW', 'q')],
      false,
      'warning',
    ],
    ['MEDIUM without a violation', [finding('A', 'MEDIUM', 'p')], false, 'warning'],
    ['only LOW and UNKNOWN', [finding('A', 'LOW', 'p'), finding('B', 'UNKNOWN', 'q')], false, 'notice'],
    ['no findings', [], false, undefined],
  ])('level for %s', (_, findings, violating, level) => {
    const img = image('alpine:3.19', findings, [{ file: 'Dockerfile', line: 1 }]);
    const view = makeView({
      images: [img],
      verdict: makeVerdict({
        result: violating ? 'fail' : 'pass',
        violations: violating ? [failOn(img, ['A'])] : [],
      }),
    });
    const { annotations } = buildAnnotations(view);
    expect(annotations.map((a) => a.level)).toEqual(level ? [level] : []);
  });

  test('a failed scan is a warning, or an error when it fails the gate; the message carries Trivy’s error', () => {
    const broken = image('ghcr.io/acme/api:2', [], [{ file: 'k8s/api.yaml', line: 17 }], {
      status: 'failed',
      error: 'FATAL image scan error: MANIFEST_UNKNOWN\nmore detail',
    });
    const warned = buildAnnotations(makeView({ images: [broken] })).annotations;
    expect(warned).toEqual([
      expect.objectContaining({
        level: 'warning',
        title: 'ghcr.io/acme/api:2 — scan failed',
        file: 'k8s/api.yaml',
        startLine: 17,
      }),
    ]);
    expect(warned[0].message).toContain('Trivy could not scan it: FATAL image scan error: MANIFEST_UNKNOWN');
    // The message names the image itself: the log shows the message, the title only on the annotation.
    expect(warned[0].message.split('\n')[0]).toBe('ghcr.io/acme/api:2');

    const failing: Violation = {
      rule: 'failed-image',
      image: broken.target.ref,
      findings: [],
      threshold: 'scan must succeed',
      message: 'could not be scanned',
    };
    const errored = buildAnnotations(
      makeView({ images: [broken], verdict: makeVerdict({ result: 'fail', violations: [failing] }) }),
    );
    expect(errored.annotations[0].level).toBe('error');
  });

  test('severities not selected and ignored findings do not count', () => {
    const view = makeView({
      images: [nginx],
      severities: ['CRITICAL', 'HIGH'],
      verdict: makeVerdict({
        ignored: [
          { image: nginx.target.ref, findingId: 'CVE-2024-0001', pkg: 'openssl', rule: 'policy.yaml:7' },
        ],
      }),
    });
    const [a] = buildAnnotations(view).annotations;
    expect(a.title).toBe('nginx:1.25 — 3 high (2 fixable)');
    expect(a.message).not.toContain('CVE-2024-0001');
  });

  test('an image with no file gets one annotation without a location', () => {
    const listed = image('redis:7', [finding('CVE-1', 'HIGH', 'redis', '7.2.5')], []);
    const { annotations } = buildAnnotations(makeView({ images: [listed] }));
    expect(annotations).toHaveLength(1);
    expect(annotations[0].file).toBeUndefined();
    expect(annotations[0].startLine).toBeUndefined();
    // The message names the full reference when the title shows only what the user wrote.
    expect(annotations[0].message.split('\n')[0]).toBe('docker.io/library/redis:7');
  });

  test('an image referenced from two files gets an annotation on each line', () => {
    const twice = image(
      'redis:7',
      [finding('CVE-1', 'HIGH', 'redis', '7.2.5')],
      [
        { file: 'compose.yaml', line: 4 },
        { file: 'k8s/redis.yaml', line: 20 },
      ],
    );
    const { annotations } = buildAnnotations(makeView({ images: [twice] }));
    expect(annotations.map((a) => `${a.file}:${a.startLine}`).sort()).toEqual([
      'compose.yaml:4',
      'k8s/redis.yaml:20',
    ]);
  });
});

describe('buildAnnotations: aggregation per line', () => {
  test('several images on one line make one annotation at the worst level, with summed counts', () => {
    const line = { file: '.github/workflows/ci.yml', line: 12 };
    const a = image('nginx:1.25', [finding('CVE-1', 'CRITICAL', 'openssl', '3.0.13')], [line]);
    const b = image(
      'redis:7',
      [finding('CVE-2', 'HIGH', 'redis', ''), finding('CVE-3', 'LOW', 'musl', '1.2.5')],
      [line],
    );
    const elsewhere = image(
      'postgres:16',
      [finding('CVE-4', 'LOW', 'libpq')],
      [{ file: 'compose.yaml', line: 3 }],
    );
    const view = makeView({
      images: [b, a, elsewhere],
      verdict: makeVerdict({ result: 'fail', violations: [failOn(a, ['CVE-1'])] }),
    });
    const { annotations } = buildAnnotations(view);
    expect(annotations).toHaveLength(2);
    const [onLine, other] = annotations;
    expect(onLine).toMatchObject({ level: 'error', file: '.github/workflows/ci.yml', startLine: 12 });
    expect(onLine.title).toBe('2 images (redis:7, nginx:1.25) — 1 critical, 1 high, 1 low (2 fixable)');
    // Each image has its own part of the message, with its full reference.
    expect(onLine.message).toContain('docker.io/library/nginx:1.25: 1 critical (1 fixable)');
    expect(onLine.message).toContain('docker.io/library/redis:7: 1 high, 1 low (1 fixable)');
    expect(onLine.message).toContain('CVE-1 (CRITICAL) openssl 1.0.0 → 3.0.13');
    expect(other).toMatchObject({ level: 'notice', file: 'compose.yaml', startLine: 3 });
  });
});

describe('buildAnnotations: GitHub shows 10 per level', () => {
  test('300 images: at most 10 errors, 10 warnings and 10 notices, worst first, the rest counted', () => {
    const { view, failingRefs } = estate(ESTATES.threeHundred);
    const { annotations, omitted, notes } = buildAnnotations(view);
    const byLevel = (l: string): number => annotations.filter((a) => a.level === l).length;
    expect(byLevel('error')).toBe(10);
    expect(byLevel('warning')).toBe(10);
    expect(byLevel('notice')).toBeLessThanOrEqual(10);
    // Errors come first.
    expect(annotations.slice(0, 10).every((a) => a.level === 'error')).toBe(true);
    // Every image with a finding or a failure gets one annotation (per line, images with no file one each);
    // in this estate no two images share a line, so the candidates are one per image.
    const candidates = view.results.images.length;
    expect(omitted).toBe(candidates - annotations.length);
    expect(notes).toEqual([
      `${omitted} annotations were left out (GitHub shows at most 10 errors, 10 warnings and 10 notices per step).`,
    ]);
    // The errors kept are failing images' (the estate has 52 of them); the warnings are passing images'.
    const titled = (ref: string): boolean => annotations.some((a) => a.title.startsWith(`${ref} — `));
    const errorRefs = failingRefs.filter(titled);
    expect(errorRefs).toHaveLength(10);
    for (const a of annotations.filter((x) => x.level === 'error')) {
      expect(failingRefs.some((ref) => a.title.startsWith(`${ref} — `))).toBe(true);
    }
  });

  test('the errors kept are the worst ones: criticals before failed scans', () => {
    const imgs: ImageResult[] = [];
    const violations: Violation[] = [];
    for (let i = 0; i < 12; i++) {
      const failed = image(`ghcr.io/acme/broken-${i}:1`, [], [{ file: 'k8s/all.yaml', line: i + 1 }], {
        status: 'failed',
        error: 'x',
      });
      imgs.push(failed);
      violations.push({
        rule: 'failed-image',
        image: failed.target.ref,
        findings: [],
        threshold: '',
        message: 'failed',
      });
    }
    const critical = image(
      'ghcr.io/acme/api:1',
      [finding('CVE-9', 'CRITICAL', 'openssl', '3')],
      [{ file: 'k8s/all.yaml', line: 99 }],
    );
    imgs.push(critical);
    violations.push(failOn(critical, ['CVE-9']));
    const { annotations, omitted, notes } = buildAnnotations(
      makeView({ images: imgs, verdict: makeVerdict({ result: 'fail', violations }) }),
    );
    expect(annotations).toHaveLength(10);
    expect(omitted).toBe(3);
    expect(annotations[0].startLine).toBe(99);
    expect(notes[0]).toMatch(/^3 annotations were left out/);
  });

  test('the cap is an option; a single omission reads in the singular', () => {
    const imgs = [1, 2].map((n) =>
      image(`ghcr.io/acme/a${n}:1`, [finding(`CVE-${n}`, 'HIGH', 'p', '2')], [{ file: 'f', line: n }]),
    );
    const { annotations, omitted, notes } = buildAnnotations(makeView({ images: imgs }), { maxPerLevel: 1 });
    expect(annotations).toHaveLength(1);
    expect(omitted).toBe(1);
    expect(notes[0]).toMatch(/^1 annotation was left out/);
  });
});

test('a registry that refused the pull: its cause and the fix, not Trivy’s daemon fallbacks', () => {
  const refused = image('r.example/x:1', [], [{ file: 'Dockerfile', line: 1 }], {
    status: 'failed',
    error:
      'unable to find the specified image "r.example/x:1" in ["docker" "remote"]: 2 errors occurred:\n' +
      '\t* docker error: Cannot connect to the Docker daemon\n' +
      '\t* remote error: GET https://r.example/v2/x/manifests/1: UNAUTHORIZED: authentication required',
  });
  const [a] = buildAnnotations(makeView({ images: [refused] })).annotations;
  expect(a.message.split('\n')).toEqual([
    'r.example/x:1',
    'Trivy could not scan it: r.example refused the pull: GET https://r.example/v2/x/manifests/1: UNAUTHORIZED: authentication required',
    expect.stringMatching(/^Fix: give credentials for r\.example: registry-username/),
  ]);
});
