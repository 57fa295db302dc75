import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { highestCvss, InvalidTrivyReportError, parseTrivyReport } from '../../src/findings/trivy-report.js';

// Hand-written, Trivy-shaped fixtures (./fixtures): each exercises shapes the goldens do not all have.
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(path.join(import.meta.dirname, 'fixtures', name), 'utf8'));

describe('parseTrivyReport: vulnerabilities', () => {
  const report = parseTrivyReport(fixture('multi-source.json'), 'multi-source.json');
  const byId = (id: string) => report.findings.find((f) => f.id === id)!;

  test('report metadata', () => {
    expect(report.artifactName).toBe('registry.example.com/team/app:1.0');
    expect(report.trivyVersion).toBe('0.58.1');
    expect(report.createdAt).toBe('2025-01-10T08:00:00Z');
    expect(report.imageId).toBe('sha256:' + '1'.repeat(64));
    expect(report.os).toEqual({ family: 'ubuntu', name: '22.04', eosl: false });
  });

  test('of several RepoDigests, the one of the scanned repository is the digest (not simply the first)', () => {
    expect(report.digest).toBe('sha256:' + '3'.repeat(64));
  });

  test('every vulnerability with an ID becomes a finding; non-objects, null lists and ID-less entries are skipped', () => {
    expect(report.findings.map((f) => f.id)).toEqual([
      'CVE-2024-0001',
      'CVE-2024-0002',
      'CVE-2024-0003',
      'GHSA-xxxx-yyyy-zzzz',
      'CVE-2024-0004',
    ]);
  });

  test('all fields of a full OS-package vulnerability are mapped', () => {
    expect(byId('CVE-2024-0001')).toEqual({
      id: 'CVE-2024-0001',
      aliases: ['USN-6000-1', 'USN-6000-2'],
      pkg: 'libfoo1',
      pkgId: 'libfoo1@1.2.3-0ubuntu1',
      purl: 'pkg:deb/ubuntu/libfoo1@1.2.3-0ubuntu1?distro=ubuntu-22.04',
      installed: '1.2.3-0ubuntu1',
      fixed: '1.2.3-0ubuntu1.1',
      status: 'fixed',
      severity: 'MEDIUM',
      severitySource: 'ubuntu',
      // nvd v3 6.5 (its v2 is 5.0), redhat 8.1, ubuntu 5.9: redhat's is the highest.
      cvss: {
        score: 8.1,
        source: 'redhat',
        vector: 'CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:H/A:H',
        version: '3',
      },
      // The severity source's own v3 score, as Trivy's SARIF uses it; not the highest.
      cvssV3OfSource: 5.9,
      title: 'libfoo: heap overflow in parser',
      description: 'A long description.',
      url: 'https://avd.aquasec.com/nvd/cve-2024-0001',
      class: 'os-pkgs',
      target: 'registry.example.com/team/app:1.0 (ubuntu 22.04)',
      type: 'ubuntu',
      layer: { digest: 'sha256:aaaa', diffId: 'sha256:bbbb' },
      publishedDate: '2024-01-02T00:00:00Z',
    });
  });

  test('severity: lower case is read, unknown words become UNKNOWN', () => {
    expect(byId('CVE-2024-0002').severity).toBe('HIGH');
    expect(byId('CVE-2024-0003').severity).toBe('UNKNOWN');
  });

  test('empty FixedVersion and empty Layer are absent, not empty', () => {
    const f = byId('CVE-2024-0002');
    expect(f).not.toHaveProperty('fixed');
    expect(f).not.toHaveProperty('layer');
    expect(f.cvss).toEqual({ score: 7.8, source: 'nvd', vector: 'AV:N/AC:L/Au:N/C:N/I:N/A:C', version: '2' });
  });

  test('a comma-listed FixedVersion is kept as written; language packages keep class, type and path', () => {
    const f = byId('GHSA-xxxx-yyyy-zzzz');
    expect(f.fixed).toBe('2.31.0, 3.0.0b1');
    expect(f).toMatchObject({ class: 'lang-pkgs', type: 'pip', pkgPath: 'usr/lib/app/requirements.txt' });
    // ghsa gives v4 9.3 and v3 9.8: the highest score wins, whatever its version.
    expect(f.cvss).toMatchObject({ score: 9.8, source: 'ghsa', version: '3' });
    expect(f.cvssV3OfSource).toBe(9.8);
  });

  test('a result without Class (very old Trivy) is classed by its Type', () => {
    expect(byId('CVE-2024-0004').class).toBe('lang-pkgs');
    expect(byId('CVE-2024-0003').class).toBe('os-pkgs');
  });
});

describe('parseTrivyReport: secrets, misconfigurations, licenses', () => {
  const report = parseTrivyReport(fixture('secrets-config-licenses.json'));

  test('a secret keeps rule, severity and file, never the matched text', () => {
    const secret = report.findings.find((f) => f.class === 'secret')!;
    expect(secret).toEqual({
      id: 'github-pat',
      pkg: '',
      severity: 'CRITICAL',
      title: 'GitHub Personal Access Token',
      description: 'GitHub',
      class: 'secret',
      target: '/app/.env',
      layer: { diffId: 'sha256:cccc' },
    });
    expect(JSON.stringify(report)).not.toContain('GITHUB_TOKEN=');
  });

  test('only failed checks are findings; the ID is ID (old DS002 kept) or else AVDID', () => {
    const configs = report.findings.filter((f) => f.class === 'config');
    expect(configs.map((f) => [f.id, f.severity])).toEqual([
      ['DS002', 'HIGH'],
      ['AVD-DS-0001', 'MEDIUM'],
    ]);
    expect(configs[0]).toMatchObject({
      aliases: ['AVD-DS-0002'],
      pkg: '',
      target: 'Dockerfile',
      type: 'dockerfile',
    });
  });

  test('licenses', () => {
    const license = report.findings.find((f) => f.class === 'license')!;
    expect(license).toMatchObject({
      id: 'GPL-3.0-only',
      pkg: 'readline',
      severity: 'HIGH',
      target: 'OS Packages',
    });
  });

  test('without RepoDigests, a digest-pinned ArtifactName gives the digest', () => {
    expect(report.digest).toBe('sha256:' + '4'.repeat(64));
    expect(report.os).toEqual({ family: 'alpine', name: '3.19.1' });
    expect(report.trivyVersion).toBeUndefined();
  });
});

describe('parseTrivyReport: minimal and invalid input', () => {
  test('null Results, no Metadata, no Trivy block', () => {
    expect(parseTrivyReport(fixture('minimal.json'))).toEqual({ artifactName: 'busybox', findings: [] });
  });

  test.each([
    ['an array', [], /not a Trivy JSON report: expected a JSON object/],
    ['null', null, /expected a JSON object/],
    ['no SchemaVersion (e.g. a SARIF file)', { version: '2.1.0', runs: [] }, /no "SchemaVersion"/],
    ['SchemaVersion 1', { SchemaVersion: 1, Results: [] }, /SchemaVersion 1; only SchemaVersion 2/],
    ['Results not a list', { SchemaVersion: 2, Results: { a: 1 } }, /"Results" is not a list/],
  ])('%s is refused with a typed error naming the source', (_name, raw, message) => {
    expect(() => parseTrivyReport(raw, 'reports/x.json')).toThrow(InvalidTrivyReportError);
    expect(() => parseTrivyReport(raw, 'reports/x.json')).toThrow(message);
    expect(() => parseTrivyReport(raw, 'reports/x.json')).toThrow(/reports\/x\.json/);
  });
});

describe('highestCvss', () => {
  test.each([
    ['no sources', {}, undefined],
    ['a v2-only source', { nvd: { V2Score: 5 } }, { score: 5, source: 'nvd', version: '2' }],
    [
      'a tie goes to the newer version',
      { a: { V3Score: 7 }, b: { V40Score: 7 } },
      { score: 7, source: 'b', version: '4' },
    ],
    [
      'a tie on version goes to the first source alphabetically',
      { redhat: { V3Score: 7 }, nvd: { V3Score: 7 } },
      { score: 7, source: 'nvd', version: '3' },
    ],
    ['non-numeric scores are ignored', { nvd: { V3Score: '9.8' }, x: 'junk' }, undefined],
  ])('%s', (_name, input, expected) => {
    expect(highestCvss(input)).toEqual(expected);
  });
});
