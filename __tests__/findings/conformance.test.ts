import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parseTrivyReport } from '../../src/findings/trivy-report.js';
import { SEVERITIES, countBySeverity, emptyCounts, type Severity } from '../../src/model.js';
import { sharedTrivyReports } from '../../test-support/paths.js';

// Trivy's own integration outputs (v0.74 era, plus legacy v0.50 and v0.65), read where they live. Each report is
// counted twice: once by the parser, once here by walking the raw JSON with none of the parser's code.

const goldens = existsSync(sharedTrivyReports)
  ? ['', 'legacy-v0.50.0', 'legacy-v0.65.0'].flatMap((dir) =>
      readdirSync(path.join(sharedTrivyReports, dir))
        .filter((f) => f.endsWith('.json.golden'))
        .map((f) => path.join(dir, f)),
    )
  : [];

// Just enough of Trivy's shape to walk it here; everything optional, as in the parser.
interface RawVulnerability {
  VulnerabilityID?: string;
  PkgName?: string;
  InstalledVersion?: string;
  FixedVersion?: string;
  Severity?: string;
  CVSS?: Record<string, { V40Score?: number; V3Score?: number; V2Score?: number }>;
}
interface RawResult {
  Target?: string;
  Class?: string;
  Type?: string;
  Vulnerabilities?: RawVulnerability[] | null;
  Secrets?: { Severity?: string }[] | null;
  Misconfigurations?: { Status?: string; Severity?: string }[] | null;
  Licenses?: { Severity?: string }[] | null;
}
interface RawReport {
  Results?: RawResult[] | null;
}
interface RawSarif {
  runs: { tool: { driver: { rules: { id: string; properties: Record<string, unknown> }[] } } }[];
}

const load = <T = RawReport>(name: string): T =>
  JSON.parse(readFileSync(path.join(sharedTrivyReports, name), 'utf8')) as T;

function independentCounts(raw: RawReport): Record<Severity, number> {
  const counts = emptyCounts();
  const bump = (s: string | undefined) => {
    const upper = (s ?? '').toUpperCase();
    counts[(SEVERITIES as readonly string[]).includes(upper) ? (upper as Severity) : 'UNKNOWN']++;
  };
  for (const result of raw.Results ?? []) {
    for (const v of result.Vulnerabilities ?? []) bump(v.Severity);
    for (const s of result.Secrets ?? []) bump(s.Severity);
    for (const m of result.Misconfigurations ?? []) if (m.Status === 'FAIL') bump(m.Severity);
    for (const l of result.Licenses ?? []) bump(l.Severity);
  }
  return counts;
}

describe.runIf(existsSync(sharedTrivyReports))(
  'conformance with Trivy reports (../shared/trivy/reports)',
  () => {
    test('every golden, current and legacy, is found', () => {
      expect(goldens).toContain('legacy-v0.50.0/alpine-310.json.golden');
      expect(goldens).toContain('legacy-v0.65.0/dockerfile.json.golden');
      expect(goldens.length).toBeGreaterThanOrEqual(9);
    });

    test.each(goldens)('%s: counts per severity equal an independent count of the raw JSON', (name) => {
      const raw = load(name);
      const report = parseTrivyReport(raw, name);
      const expected = independentCounts(raw);
      expect(countBySeverity(report.findings)).toEqual(expected);
      expect(Object.values(expected).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    });

    test.each(goldens)(
      '%s: each vulnerability keeps its ID, package, versions and the highest CVSS score',
      (name) => {
        const raw = load(name);
        const vulns = (raw.Results ?? []).flatMap((r) => (r.Vulnerabilities ?? []).map((v) => ({ r, v })));
        const findings = parseTrivyReport(raw, name).findings.filter(
          (f) => f.class === 'os-pkgs' || f.class === 'lang-pkgs',
        );
        expect(findings).toHaveLength(vulns.length);
        vulns.forEach(({ r, v }, i) => {
          const f = findings[i];
          expect([f.id, f.pkg, f.installed, f.fixed, f.target, f.type, f.class]).toEqual([
            v.VulnerabilityID,
            v.PkgName,
            v.InstalledVersion,
            v.FixedVersion || undefined,
            r.Target,
            r.Type,
            r.Class,
          ]);
          const scores = Object.values(v.CVSS ?? {}).flatMap((c) =>
            [c.V40Score, c.V3Score, c.V2Score].filter((s) => typeof s === 'number'),
          );
          expect(f.cvss?.score).toBe(scores.length ? Math.max(...scores) : undefined);
        });
      },
    );

    test('debian-buster: the highest score across nvd and redhat, even when the severity source has none', () => {
      const findings = parseTrivyReport(load('debian-buster.json.golden')).findings;
      const bash = findings.find((f) => f.id === 'CVE-2019-18276')!;
      // Severity LOW from Debian (which gives no CVSS); nvd and redhat both score v3 7.8: nvd wins the tie by name.
      expect(bash).toMatchObject({ severity: 'LOW', severitySource: 'debian', status: 'affected' });
      expect(bash.cvss).toMatchObject({ score: 7.8, source: 'nvd', version: '3' });
      expect(bash.cvssV3OfSource).toBeUndefined();
      expect(bash).not.toHaveProperty('fixed');
      const idn = findings.find((f) => f.id === 'CVE-2019-18224')!;
      // nvd v3 9.8 beats redhat v3 5.6 and nvd's own v2 7.5.
      expect(idn.cvss).toEqual({
        score: 9.8,
        source: 'nvd',
        vector: 'CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H',
        version: '3',
      });
      expect(idn.fixed).toBe('2.0.5-1+deb10u1');
    });

    test.each(['alpine-310', 'legacy-v0.50.0/alpine-310'])(
      '%s: cvssV3OfSource equals the security-severity of Trivy’s own SARIF for the same report',
      (base) => {
        const findings = parseTrivyReport(load(`${base}.json.golden`)).findings;
        const sarif = load<RawSarif>(`${base}.sarif.golden`);
        const rules = sarif.runs[0].tool.driver.rules;
        expect(rules.length).toBeGreaterThan(0);
        for (const rule of rules) {
          const f = findings.find((x) => x.id === rule.id)!;
          expect(String(f.cvssV3OfSource)).toBe(rule.properties['security-severity']);
        }
      },
    );

    test('npm: a language-package vulnerability whose severity source (ghsa) has no CVSS entry', () => {
      const [jquery] = parseTrivyReport(load('npm.json.golden')).findings;
      expect(jquery).toMatchObject({
        id: 'CVE-2019-11358',
        pkg: 'jquery',
        class: 'lang-pkgs',
        type: 'npm',
        target: 'package-lock.json',
        fixed: '3.4.0',
        severitySource: 'ghsa',
      });
      expect(jquery.cvss?.score).toBe(6.1);
      expect(jquery.cvssV3OfSource).toBeUndefined();
    });

    test('alpine-distroless: no CVSS at all gives no score', () => {
      const [git] = parseTrivyReport(load('alpine-distroless.json.golden')).findings;
      expect(git.id).toBe('CVE-2022-24765');
      expect(git).not.toHaveProperty('cvss');
    });

    test('secrets: rule IDs and severities, never the matched line', () => {
      const report = parseTrivyReport(load('secrets.json.golden'));
      expect(report.findings.map((f) => [f.id, f.severity, f.class, f.target])).toEqual([
        ['aws-access-key-id', 'CRITICAL', 'secret', 'deploy.sh'],
        ['mysecret', 'HIGH', 'secret', 'deploy.sh'],
      ]);
      expect(JSON.stringify(report)).not.toContain('AWS_ACCESS_KEY_ID');
    });

    test('misconfiguration IDs: new DS-0002 (v0.69+) and old DS002 (v0.65, with its AVDID as alias)', () => {
      const [current] = parseTrivyReport(load('dockerfile.json.golden')).findings;
      const [legacy] = parseTrivyReport(load('legacy-v0.65.0/dockerfile.json.golden')).findings;
      expect(current).toMatchObject({
        id: 'DS-0002',
        class: 'config',
        severity: 'HIGH',
        target: 'Dockerfile',
      });
      expect(legacy).toMatchObject({
        id: 'DS002',
        aliases: ['AVD-DS-0002'],
        class: 'config',
        severity: 'HIGH',
      });
    });

    test('legacy shapes: no Trivy block, no RepoTags; OS and image ID still read', () => {
      for (const name of ['legacy-v0.50.0/alpine-310.json.golden', 'legacy-v0.65.0/alpine-310.json.golden']) {
        const report = parseTrivyReport(load(name), name);
        expect(report.trivyVersion).toBeUndefined();
        expect(report.os).toEqual({ family: 'alpine', name: '3.10.2', eosl: true });
        expect(report.imageId).toBe(
          'sha256:961769676411f082461f9ef46626dd7a2d1e2b2a38e6a44364bcbecf51e66dd4',
        );
        expect(report.findings.map((f) => `${f.id}/${f.pkg}`)).toEqual(
          parseTrivyReport(load('alpine-310.json.golden')).findings.map((f) => `${f.id}/${f.pkg}`),
        );
      }
    });

    test('reports of archives carry no repo digest (none is invented)', () => {
      expect(parseTrivyReport(load('alpine-310.json.golden')).digest).toBeUndefined();
      expect(parseTrivyReport(load('alpine-310.json.golden')).trivyVersion).toBe('dev');
    });
  },
);
