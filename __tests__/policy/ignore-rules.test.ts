import { describe, expect, test } from 'vitest';
import type { Finding } from '../../src/model.js';
import { imageMatches, imageNames, shortName } from '../../src/policy/image-match.js';
import {
  canonicalId,
  ignoreMatches,
  isCalendarDate,
  isExpired,
  purlMatches,
  type IgnoreRule,
} from '../../src/policy/ignore-rules.js';

const finding = (over: Partial<Finding> = {}): Finding => ({
  id: 'CVE-2023-44487',
  pkg: 'golang.org/x/net',
  severity: 'HIGH',
  class: 'lang-pkgs',
  target: 'usr/local/bin/app',
  ...over,
});

const target = (ref: string, registry: string, repository: string, tag?: string) => ({
  ref,
  input: ref,
  registry,
  repository,
  tag,
});
const nginx = imageNames(target('docker.io/library/nginx:1.25', 'docker.io', 'library/nginx', '1.25'));
const api = imageNames(target('ghcr.io/acme/api:1.2', 'ghcr.io', 'acme/api', '1.2'));
const legacy = imageNames(target('ghcr.io/acme/legacy/app:7', 'ghcr.io', 'acme/legacy/app', '7'));

describe('IDs: every spelling Trivy has used compares equal', () => {
  test.each([
    ['DS002', 'DS-0002'],
    ['AVD-DS-0002', 'DS002'],
    ['ds-0002', 'DS002'],
    ['KSV001', 'AVD-KSV-0001'],
    ['AVD-AWS-0031', 'AWS-0031'],
    ['cve-2023-44487', 'CVE-2023-44487'],
  ])('%s ≡ %s', (a, b) => expect(canonicalId(a)).toBe(canonicalId(b)));

  test.each([
    ['DS002', 'DS003'],
    ['CVE-2023-1', 'CVE-2023-10'],
    ['CVE-2023-0001', 'CVE-2023-1'], // only check IDs are renumbered, never CVEs
    ['GHSA-qppj-fm5r-hxr3', 'CVE-2023-44487'],
  ])('%s ≢ %s', (a, b) => expect(canonicalId(a)).not.toBe(canonicalId(b)));
});

describe('expiry: valid through the end of the day in UTC', () => {
  test.each([
    ['2026-01-31', '2026-01-30T00:00:00Z', false],
    ['2026-01-31', '2026-01-31T00:00:00Z', false],
    ['2026-01-31', '2026-01-31T23:59:59.999Z', false],
    ['2026-01-31', '2026-02-01T00:00:00Z', true],
    // The same instant in a time zone ahead of UTC is still the 31st in UTC.
    ['2026-01-31', '2026-02-01T08:00:00+09:00', false],
    ['2026-01-31', '2026-02-01T09:00:00+09:00', true],
  ])('expires %s at %s: expired=%s', (expires, now, expired) => {
    expect(isExpired({ expires }, new Date(now))).toBe(expired);
  });

  test('no expiry never expires', () => expect(isExpired({}, new Date('9999-01-01T00:00:00Z'))).toBe(false));

  test.each([
    ['2026-01-31', true],
    ['2024-02-29', true],
    ['2026-02-29', false],
    ['2026-13-01', false],
    ['2026-1-31', false],
    ['31-01-2026', false],
  ])('calendar date %s: %s', (text, ok) => expect(isCalendarDate(text)).toBe(ok));
});

describe('PURL matching (as Trivy: version and qualifiers only when the ignore gives them)', () => {
  test.each([
    [
      'pkg:deb/debian/libssl1.1',
      'pkg:deb/debian/libssl1.1@1.1.1n-0+deb11u3?arch=amd64&distro=debian-11',
      true,
    ],
    [
      'pkg:deb/debian/libssl1.1@1.1.1n-0+deb11u3',
      'pkg:deb/debian/libssl1.1@1.1.1n-0+deb11u3?arch=amd64',
      true,
    ],
    ['pkg:deb/debian/libssl1.1@1.1.1n-0+deb11u4', 'pkg:deb/debian/libssl1.1@1.1.1n-0+deb11u3', false],
    ['pkg:deb/debian/libssl1.1?arch=arm64', 'pkg:deb/debian/libssl1.1@1?arch=amd64', false],
    ['pkg:deb/debian/libssl1.1?arch=amd64', 'pkg:deb/debian/libssl1.1@1?arch=amd64', true],
    ['pkg:deb/ubuntu/libssl1.1', 'pkg:deb/debian/libssl1.1@1', false],
    ['pkg:golang/github.com/aquasecurity/bar', 'pkg:golang/github.com/aquasecurity/bar@v1.2.3', true],
    ['pkg:golang/github.com/aquasecurity/bar', 'pkg:golang/github.com/aquasecurity/barbaz@v1.2.3', false],
    ['pkg:npm/%40angular/core', 'pkg:npm/%40angular/core@16.0.0', true],
    ['pkg:npm/@angular/core', 'pkg:npm/%40angular/core@16.0.0', true],
  ])('%s vs %s: %s', (pattern, actual, ok) => expect(purlMatches(pattern, actual)).toBe(ok));
});

describe('image globs', () => {
  test('short display form drops docker.io/library/', () => {
    expect(shortName('docker.io/library/nginx:1.25')).toBe('nginx:1.25');
    expect(shortName('docker.io/acme/app:1')).toBe('acme/app:1');
    expect(shortName('ghcr.io/acme/api:1')).toBe('ghcr.io/acme/api:1');
  });

  test.each([
    ['docker.io/library/nginx:1.25', nginx, true],
    ['nginx:1.25', nginx, true],
    ['nginx', nginx, true], // no tag: every tag
    ['nginx:*', nginx, true],
    ['nginx:1.24', nginx, false],
    ['docker.io/**', nginx, true],
    ['ghcr.io/acme/api*', api, true],
    ['ghcr.io/acme/api*', legacy, false],
    ['ghcr.io/acme/*', api, true],
    ['ghcr.io/acme/*', legacy, false], // * stays within one path segment
    ['ghcr.io/acme/**', legacy, true],
    ['ghcr.io/acme/legacy/*', legacy, true],
    ['ghcr.io/acme/legacy/*', api, false],
    ['**/legacy/**', legacy, true],
  ])('%s matches %s: %s', (pattern, image, ok) => expect(imageMatches(pattern, image)).toBe(ok));

  test('a digest-pinned ref is still matched by its tag, and other tags sharing the digest count', () => {
    const pinned = imageNames({
      ref: 'ghcr.io/acme/api:1.2@sha256:abc',
      input: 'ghcr.io/acme/api:1.2@sha256:abc',
      registry: 'ghcr.io',
      repository: 'acme/api',
      tag: '1.2',
      tags: ['latest'],
    });
    expect(imageMatches('ghcr.io/acme/api:1.2', pinned)).toBe(true);
    expect(imageMatches('ghcr.io/acme/api:latest', pinned)).toBe(true);
    expect(imageMatches('ghcr.io/acme/api:2.0', pinned)).toBe(false);
  });
});

describe('ignoreMatches: every scope given must match', () => {
  const rule = (over: Partial<IgnoreRule>): IgnoreRule => ({ source: 'p.yml:1', ...over });
  test.each<[string, Partial<IgnoreRule>, Partial<Finding>, boolean]>([
    ['ID only', { id: 'CVE-2023-44487' }, {}, true],
    ['other ID', { id: 'CVE-2023-1' }, {}, false],
    ['alias (GHSA for a CVE)', { id: 'GHSA-qppj-fm5r-hxr3' }, { aliases: ['GHSA-qppj-fm5r-hxr3'] }, true],
    [
      'misconfiguration, old style ignore, new style finding',
      { id: 'DS002' },
      { id: 'DS-0002', pkg: '', class: 'config' },
      true,
    ],
    [
      'misconfiguration, new style ignore, old style finding',
      { id: 'DS-0002' },
      { id: 'DS002', pkg: '', class: 'config' },
      true,
    ],
    ['package name', { id: 'CVE-2023-44487', packages: ['golang.org/x/net'] }, {}, true],
    ['package glob', { id: 'CVE-2023-44487', packages: ['golang.org/x/*'] }, {}, true],
    ['other package', { id: 'CVE-2023-44487', packages: ['openssl'] }, {}, false],
    [
      'PURL',
      { id: 'CVE-2023-44487', packages: ['pkg:golang/golang.org/x/net'] },
      { purl: 'pkg:golang/golang.org/x/net@v0.7.0' },
      true,
    ],
    [
      'PURL but the finding has none',
      { id: 'CVE-2023-44487', packages: ['pkg:golang/golang.org/x/net'] },
      {},
      false,
    ],
    ['path glob on Trivy target', { id: 'CVE-2023-44487', paths: ['usr/local/**'] }, {}, true],
    [
      'path glob on package path',
      { id: 'CVE-2023-44487', paths: ['app/**/*.jar'] },
      { pkgPath: 'app/lib/x.jar' },
      true,
    ],
    ['path glob misses', { id: 'CVE-2023-44487', paths: ['opt/**'] }, {}, false],
    [
      'kind: vulnerabilities section vs a secret',
      { id: 'CVE-2023-44487', classes: ['os-pkgs', 'lang-pkgs'] },
      { class: 'secret' },
      false,
    ],
    [
      'no ID, purl scope only',
      { packages: ['pkg:golang/golang.org/x/net'] },
      { purl: 'pkg:golang/golang.org/x/net@v1' },
      true,
    ],
    ['image scope matches', { id: 'CVE-2023-44487', images: ['ghcr.io/acme/api*'] }, {}, true],
    ['image scope misses', { id: 'CVE-2023-44487', images: ['nginx'] }, {}, false],
  ])('%s', (_name, r, f, ok) => {
    expect(ignoreMatches(rule(r), api, finding(f))).toBe(ok);
  });
});
