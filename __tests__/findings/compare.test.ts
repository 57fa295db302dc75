import { describe, expect, test } from 'vitest';
import { compareResults, newFindingTest } from '../../src/findings/compare.js';
import type { Finding, ImageDelta, ImageResult, Origin, Severity } from '../../src/model.js';

// The baseline delta: images matched by repository (and file origin), never by tag or digest; findings by the
// SARIF fingerprint's identity (kind, ID, package, and for libraries where they live).

function image(ref: string, findings: Finding[], over: Partial<ImageResult> & { origins?: Origin[] } = {}) {
  const m = /^([^/]+)\/(.+?)(?::([^:@/]+))?(?:@(sha256:.+))?$/.exec(ref)!;
  const { origins = [], ...rest } = over;
  const result: ImageResult = {
    target: { ref, input: ref, registry: m[1], repository: m[2], tag: m[3], origins, sources: ['file'] },
    digest: `sha256:${ref.length.toString(16).padStart(64, '0')}`,
    status: 'scanned',
    findings,
    ...rest,
  };
  return result;
}

function vuln(id: string, pkg: string, severity: Severity = 'HIGH', over: Partial<Finding> = {}): Finding {
  return {
    id,
    pkg,
    severity,
    class: 'os-pkgs',
    target: 'x (debian 12.1)',
    installed: '1.0',
    fixed: '1.1',
    ...over,
  };
}

/** `ref: +new -fixed =unchanged` per image, sorted: what a reviewer reads. */
function summary(deltas: ImageDelta[]): string[] {
  return deltas.map(
    (d) =>
      `${d.change} ${d.ref}${d.baselineRef && d.baselineRef !== d.ref ? ` (was ${d.baselineRef})` : ''}: ` +
      `+[${d.new.map((f) => f.id).join(',')}] -[${d.fixed.map((f) => f.id).join(',')}] =${d.unchanged}`,
  );
}

const R = 'registry.test:5000';

describe('compareResults: images', () => {
  test.each<[string, ImageResult[], ImageResult[], string[]]>([
    [
      'a tag bump of a FROM line compares the two tags of one repository',
      [image(`${R}/node:20.11`, [vuln('CVE-1', 'openssl'), vuln('CVE-2', 'zlib')])],
      [image(`${R}/node:20.12`, [vuln('CVE-1', 'openssl'), vuln('CVE-3', 'curl', 'CRITICAL')])],
      [`compared ${R}/node:20.12 (was ${R}/node:20.11): +[CVE-3] -[CVE-2] =1`],
    ],
    [
      'the same ref with a new digest is the same image',
      [image(`${R}/app:latest`, [vuln('CVE-1', 'a')], { digest: 'sha256:old' })],
      [image(`${R}/app:latest`, [vuln('CVE-1', 'a')], { digest: 'sha256:new' })],
      [`compared ${R}/app:latest: +[] -[] =1`],
    ],
    [
      'another registry is another image: added and removed',
      [image(`${R}/app:1`, [vuln('CVE-1', 'a')])],
      [image(`other.test/app:1`, [vuln('CVE-1', 'a')])],
      [`added other.test/app:1: +[CVE-1] -[] =0`, `removed ${R}/app:1: +[] -[CVE-1] =0`],
    ],
    [
      'two images of one repository pair by exact ref first',
      [image(`${R}/app:1`, [vuln('CVE-1', 'a')]), image(`${R}/app:2`, [vuln('CVE-2', 'a')])],
      [image(`${R}/app:2`, [vuln('CVE-2', 'a')]), image(`${R}/app:1`, [vuln('CVE-1', 'a')])],
      [`compared ${R}/app:1: +[] -[] =1`, `compared ${R}/app:2: +[] -[] =1`],
    ],
    [
      'then by the file that references them (two Dockerfiles bump their own tags)',
      [
        image(`${R}/node:18.1`, [vuln('CVE-18', 'a')], { origins: [{ file: 'web/Dockerfile', line: 1 }] }),
        image(`${R}/node:20.1`, [vuln('CVE-20', 'a')], { origins: [{ file: 'api/Dockerfile', line: 1 }] }),
      ],
      [
        image(`${R}/node:18.2`, [vuln('CVE-18', 'a')], { origins: [{ file: 'web/Dockerfile', line: 1 }] }),
        image(`${R}/node:20.2`, [], { origins: [{ file: 'api/Dockerfile', line: 3 }] }),
      ],
      [
        `compared ${R}/node:18.2 (was ${R}/node:18.1): +[] -[] =1`,
        `compared ${R}/node:20.2 (was ${R}/node:20.1): +[] -[CVE-20] =0`,
      ],
    ],
    [
      'what is still ambiguous is added / removed, never guessed',
      [image(`${R}/node:18`, [vuln('CVE-1', 'a')]), image(`${R}/node:20`, [vuln('CVE-2', 'a')])],
      [image(`${R}/node:19`, [vuln('CVE-1', 'a')]), image(`${R}/node:21`, [vuln('CVE-2', 'a')])],
      [
        `removed ${R}/node:18: +[] -[CVE-1] =0`,
        `added ${R}/node:19: +[CVE-1] -[] =0`,
        `removed ${R}/node:20: +[] -[CVE-2] =0`,
        `added ${R}/node:21: +[CVE-2] -[] =0`,
      ],
    ],
    [
      'a failed image on either side is not compared',
      [image(`${R}/a:1`, [vuln('CVE-1', 'x')], { status: 'failed', findings: [] })],
      [
        image(`${R}/a:2`, [vuln('CVE-1', 'x')]),
        image(`${R}/b:1`, [], { status: 'failed', error: 'pull refused' }),
      ],
      [`added ${R}/a:2: +[CVE-1] -[] =0`],
    ],
  ])('%s', (_name, baseline, current, expected) => {
    expect(summary(compareResults(baseline, current))).toEqual(expected);
  });
});

describe('compareResults: finding identity (the SARIF fingerprint)', () => {
  const compare = (before: Finding[], after: Finding[]) =>
    summary(compareResults([image(`${R}/app:1`, before)], [image(`${R}/app:2`, after)]))[0];

  test.each<[string, Finding[], Finding[], string]>([
    [
      'a new installed or fixed version of the same CVE in the same package is unchanged',
      [vuln('CVE-1', 'openssl', 'HIGH', { installed: '3.0.1', fixed: '3.0.2' })],
      [vuln('CVE-1', 'openssl', 'CRITICAL', { installed: '3.0.5', fixed: '3.0.9' })],
      '=1',
    ],
    [
      "the OS package database's target (it names the tag and distribution) does not matter",
      [vuln('CVE-1', 'openssl', 'HIGH', { target: 'app:1 (debian 12.1)' })],
      [vuln('CVE-1', 'openssl', 'HIGH', { target: 'app:2 (debian 12.2)' })],
      '=1',
    ],
    [
      'the same CVE in another package is another finding',
      [vuln('CVE-1', 'openssl')],
      [vuln('CVE-1', 'libssl3')],
      '+[CVE-1] -[CVE-1] =0',
    ],
    [
      'a library finding in another lockfile is another finding',
      [vuln('GHSA-1', 'lodash', 'HIGH', { class: 'lang-pkgs', pkgPath: 'app/a/package.json' })],
      [vuln('GHSA-1', 'lodash', 'HIGH', { class: 'lang-pkgs', pkgPath: 'app/b/package.json' })],
      '+[GHSA-1] -[GHSA-1] =0',
    ],
    [
      'one library in two layers is one finding',
      [vuln('CVE-1', 'zlib')],
      [
        vuln('CVE-1', 'zlib', 'HIGH', { layer: { digest: 'a' } }),
        vuln('CVE-1', 'zlib', 'HIGH', { layer: { digest: 'b' } }),
      ],
      '=1',
    ],
  ])('%s', (_name, before, after, expected) => {
    expect(compare(before, after)).toContain(expected);
  });
});

describe('newFindingTest: what the gate asks', () => {
  const base = image(`${R}/app:1`, [vuln('CVE-OLD', 'a')]);
  const now = image(`${R}/app:2`, [vuln('CVE-OLD', 'a'), vuln('CVE-NEW', 'b')]);
  const extra = image(`${R}/extra:1`, [vuln('CVE-OLD', 'a')]);

  test('without a baseline there is no answer: the gate falls back to the full policy', () => {
    expect(newFindingTest(undefined)).toBeUndefined();
    expect(newFindingTest({ missing: 'first run', images: [] })).toBeUndefined();
  });

  test('a finding the baseline image had is not new; one it lacked is; an added image is new throughout', () => {
    const images = compareResults([base], [now, extra]);
    const isNew = newFindingTest({ baseline: { source: 'b', createdAt: '' }, images })!;
    expect(isNew(now, now.findings[0])).toBe(false);
    expect(isNew(now, now.findings[1])).toBe(true);
    expect(isNew(extra, extra.findings[0])).toBe(true);
  });
});
