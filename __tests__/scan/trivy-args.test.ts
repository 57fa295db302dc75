import { describe, expect, test } from 'vitest';
import { buildScanArgs, goDuration } from '../../src/scan/trivy-args.js';

const base = {
  cacheDir: '/tmp/c',
  outputFile: '/tmp/r.json',
  timeoutMs: 600_000,
  scanners: ['vuln'],
  pkgTypes: ['os', 'library'],
  configFile: '/tmp/iso/trivy.yaml',
  ignoreFile: '/tmp/iso/.trivyignore',
};
const fixed = [
  'image',
  // Trivy's own config and ignore file are private empty files: nothing in the workspace changes the report.
  '--config',
  '/tmp/iso/trivy.yaml',
  '--ignorefile',
  '/tmp/iso/.trivyignore',
  '--format',
  'json',
  '--output',
  '/tmp/r.json',
  '--list-all-pkgs=false',
  '--skip-db-update',
  '--skip-java-db-update',
  '--cache-backend',
  'memory',
  '--cache-dir',
  '/tmp/c',
];
const tail = ['--quiet', '--skip-version-check', '--disable-telemetry'];

describe('buildScanArgs', () => {
  test.each([
    [
      'defaults',
      'docker.io/library/alpine:3.19',
      {},
      [
        ...fixed,
        '--scanners',
        'vuln',
        '--pkg-types',
        'os,library',
        '--timeout',
        '10m',
        ...tail,
        '--',
        'docker.io/library/alpine:3.19',
      ],
    ],
    [
      'several scanners, os only',
      'ghcr.io/a/b:1',
      { scanners: ['vuln', 'secret'], pkgTypes: ['os'] },
      [
        ...fixed,
        '--scanners',
        'vuln,secret',
        '--pkg-types',
        'os',
        '--timeout',
        '10m',
        ...tail,
        '--',
        'ghcr.io/a/b:1',
      ],
    ],
    [
      'platform',
      'ghcr.io/a/b:1',
      { platform: 'linux/arm64' },
      [
        ...fixed,
        '--scanners',
        'vuln',
        '--pkg-types',
        'os,library',
        '--timeout',
        '10m',
        ...tail,
        '--platform',
        'linux/arm64',
        '--',
        'ghcr.io/a/b:1',
      ],
    ],
    [
      'odd timeout',
      'localhost:5000/x@sha256:' + 'a'.repeat(64),
      { timeoutMs: 90_500 },
      [
        ...fixed,
        '--scanners',
        'vuln',
        '--pkg-types',
        'os,library',
        '--timeout',
        '1m30s500ms',
        ...tail,
        '--',
        'localhost:5000/x@sha256:' + 'a'.repeat(64),
      ],
    ],
    [
      'no scanners / pkg types given: Trivy defaults',
      'a/b',
      { scanners: [], pkgTypes: [] },
      [...fixed, '--timeout', '10m', ...tail, '--', 'a/b'],
    ],
  ])('%s', (_name, ref, over, expected) => {
    expect(buildScanArgs(ref, { ...base, ...over })).toEqual(expected);
  });

  test('never filters severities and never turns findings into an exit code', () => {
    const args = buildScanArgs('a/b', { ...base, scanners: ['vuln', 'secret', 'misconfig'] });
    expect(args.some((a) => a.startsWith('--severity') || a === '-s')).toBe(false);
    expect(args.some((a) => a.startsWith('--exit-code'))).toBe(false);
  });

  test("Trivy's settings from the workflow: one flag per entry, after the fixed flags, before --", () => {
    const args = buildScanArgs('a/b', {
      ...base,
      configFile: '/tmp/iso/scan-config.yaml',
      ignorePolicyFile: '/tmp/iso/ignore-policy.rego',
      skipFiles: ['/app/test/*.pem', '**/*.key'],
      skipDirs: ['usr/share/doc'],
      detectionPriority: 'comprehensive',
      vulnSeveritySource: ['debian', 'nvd'],
    });
    expect(args.slice(0, 3)).toEqual(['image', '--config', '/tmp/iso/scan-config.yaml']);
    const tailStart = args.indexOf('--disable-telemetry') + 1;
    expect(args.slice(tailStart)).toEqual([
      '--skip-files',
      '/app/test/*.pem',
      '--skip-files',
      '**/*.key',
      '--skip-dirs',
      'usr/share/doc',
      '--detection-priority',
      'comprehensive',
      '--vuln-severity-source',
      'debian,nvd',
      '--ignore-policy',
      '/tmp/iso/ignore-policy.rego',
      '--',
      'a/b',
    ]);
  });

  test('none of them given: no such flags (Trivy keeps its defaults)', () => {
    const args = buildScanArgs('a/b', { ...base, skipFiles: [], skipDirs: [], vulnSeveritySource: [] });
    for (const flag of [
      '--skip-files',
      '--skip-dirs',
      '--detection-priority',
      '--vuln-severity-source',
      '--ignore-policy',
    ])
      expect(args).not.toContain(flag);
  });

  test('the reference is the last argument, after --', () => {
    const args = buildScanArgs('--help', base);
    expect(args.slice(-2)).toEqual(['--', '--help']);
  });
});

describe('goDuration', () => {
  test.each([
    [600_000, '10m'],
    [3_600_000, '1h'],
    [5_400_000, '1h30m'],
    [45_000, '45s'],
    [250, '250ms'],
    [0, '0s'],
  ])('%i ms -> %s', (ms, text) => {
    expect(goDuration(ms)).toBe(text);
  });
});

describe('buildScanArgs: where Trivy reads the image', () => {
  const middle = [...fixed, '--scanners', 'vuln', '--pkg-types', 'os,library', '--timeout', '10m', ...tail];
  test.each([
    [
      'a registry image: remote only, never a daemon first',
      { imageSrc: 'remote' as const },
      ['--image-src', 'remote', '--', 'ghcr.io/a/b:1'],
    ],
    [
      'a docker daemon image',
      { imageSrc: 'docker' as const },
      ['--image-src', 'docker', '--', 'ghcr.io/a/b:1'],
    ],
    [
      'a containerd image',
      { imageSrc: 'containerd' as const },
      ['--image-src', 'containerd', '--', 'ghcr.io/a/b:1'],
    ],
    ['a podman image', { imageSrc: 'podman' as const }, ['--image-src', 'podman', '--', 'ghcr.io/a/b:1']],
    ['an archive: --input, no image name', { input: '/ws/build/app.tar' }, ['--input', '/ws/build/app.tar']],
  ])('%s', (_name, source, end) => {
    expect(buildScanArgs('ghcr.io/a/b:1', { ...base, source })).toEqual([...middle, ...end]);
  });
});
