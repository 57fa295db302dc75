import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { SEVERITIES, type Finding, type ImageResult, type Severity } from '../../src/model.js';
import {
  buildClosingSarifFiles,
  buildSarifFiles,
  categoryId,
  FINGERPRINT_KEY,
  type SarifLog,
  type SarifOptions,
  type SarifRun,
} from '../../src/report/sarif.js';
import { encodeUriPath, sarifLevel, securitySeverity } from '../../src/report/sarif-run.js';
import { gitHubLimitViolations } from './fixtures/sarif/github-limits.js';
import { goldenImage, goldenReportNames, readGolden } from './fixtures/sarif/golden-images.js';
import { makeFinding, makeImage, makeTarget, syntheticEstate } from './fixtures/sarif/synthetic-images.js';

const ALL: Severity[] = [...SEVERITIES];
const base: SarifOptions = {
  category: 'image-scan',
  severities: ALL,
  toolVersion: '0.1.0',
  trivyVersion: '0.74.0',
};

function runs(files: SarifLog[]): SarifRun[] {
  return files.flatMap((f) => f.runs);
}

function onlyRun(images: ImageResult[], opts: Partial<SarifOptions> = {}): SarifRun {
  const { files } = buildSarifFiles(images, { ...base, ...opts });
  const all = runs(files);
  expect(all).toHaveLength(1);
  return all[0];
}

const appImage = (tag: string, findings: Finding[], digest = `sha256:${'1'.repeat(64)}`) =>
  makeImage(makeTarget({ repository: 'acme/app', tag }), findings, { digest });

describe('Trivy-compatible levels and security-severity', () => {
  test.each([
    ['CRITICAL', 'error'],
    ['HIGH', 'error'],
    ['MEDIUM', 'warning'],
    ['LOW', 'note'],
    ['UNKNOWN', 'note'],
  ] as const)('%s is %s', (severity, level) => {
    expect(sarifLevel(severity)).toBe(level);
  });

  test.each([
    // The severity source's CVSS v3 score, printed with one decimal as Go's %.1f does.
    [{ severity: 'MEDIUM', cvssV3OfSource: 5.3 }, '5.3'],
    [{ severity: 'CRITICAL', cvssV3OfSource: 10 }, '10.0'],
    [{ severity: 'HIGH', cvssV3OfSource: 7.45 }, '7.5'],
    // No score from the source: Trivy's fixed scores per severity.
    [{ severity: 'CRITICAL' }, '9.5'],
    [{ severity: 'HIGH' }, '8.0'],
    [{ severity: 'MEDIUM' }, '5.5'],
    [{ severity: 'LOW' }, '2.0'],
    [{ severity: 'UNKNOWN' }, '0.0'],
    // Misconfigurations have no CVSS: always the severity's score.
    [{ severity: 'HIGH', class: 'config', cvssV3OfSource: 3.1 }, '8.0'],
  ] as const)('%o -> %s', (over, expected) => {
    expect(securitySeverity(makeFinding({ id: 'CVE-1', ...over }))).toBe(expected);
  });
});

describe('rules and results', () => {
  const findings = [
    makeFinding({ id: 'CVE-2019-1549', pkg: 'libssl1.1', severity: 'MEDIUM', cvssV3OfSource: 5.3 }),
    makeFinding({ id: 'CVE-2019-1549', pkg: 'libcrypto1.1', severity: 'MEDIUM', cvssV3OfSource: 5.3 }),
    makeFinding({
      id: 'CVE-2020-0001',
      pkg: 'musl',
      severity: 'CRITICAL',
      installed: '1.1.22-r3',
      fixed: undefined,
    }),
  ];
  const run = onlyRun([appImage('1', findings)]);

  test('one rule per vulnerability id, each result points at its rule by index', () => {
    expect(run.tool.driver.rules?.map((r) => r.id)).toEqual(['CVE-2019-1549', 'CVE-2020-0001']);
    expect(run.results).toHaveLength(3);
    for (const result of run.results)
      expect(run.tool.driver.rules?.[result.ruleIndex].id).toBe(result.ruleId);
  });

  test('the tool is Trivy (its version), converted by Image Scan Gate', () => {
    expect(run.tool.driver).toMatchObject({
      name: 'Trivy',
      version: '0.74.0',
      informationUri: 'https://github.com/aquasecurity/trivy',
    });
    expect(run.conversion.tool.driver).toEqual({ name: 'image-scan-gate', version: '0.1.0' });
  });

  test('rule: descriptions, help link, tags, precision and security-severity as Trivy writes them', () => {
    const rule = run.tool.driver.rules!.find((r) => r.id === 'CVE-2019-1549')!;
    expect(rule.shortDescription.text).toBe('openssl: CVE-2019-1549');
    expect(rule.fullDescription.text).toBe('Description of CVE-2019-1549.');
    expect(rule.helpUri).toBe('https://avd.aquasec.com/nvd/cve-2019-1549');
    expect(rule.defaultConfiguration.level).toBe('warning');
    expect(rule.properties).toEqual({
      precision: 'very-high',
      'security-severity': '5.3',
      tags: ['vulnerability', 'security', 'MEDIUM'],
    });
  });

  test('rule help: a markdown table with package, installed, fixed, severity and link for each package', () => {
    const rule = run.tool.driver.rules!.find((r) => r.id === 'CVE-2019-1549')!;
    const lines = rule.help.markdown!.split('\n');
    expect(lines[0]).toBe('**Vulnerability CVE-2019-1549**');
    expect(lines[1]).toBe('| Package | Installed | Fixed | Severity | Link |');
    const link = '[CVE-2019-1549](https://avd.aquasec.com/nvd/cve-2019-1549)';
    expect(lines).toContain(`|libssl1.1|1.1.1c-r0|1.1.1d-r0|MEDIUM|${link}|`);
    expect(lines).toContain(`|libcrypto1.1|1.1.1c-r0|1.1.1d-r0|MEDIUM|${link}|`);
    expect(rule.help.markdown).toContain('Description of CVE-2019-1549.');
    expect(rule.help.text).toContain(
      'Package: libssl1.1\nInstalled Version: 1.1.1c-r0\nFixed Version: 1.1.1d-r0',
    );
  });

  test("result message: Trivy's text, then the image", () => {
    const result = run.results.find((r) => r.message.text.startsWith('Package: libssl1.1'))!;
    expect(result.level).toBe('warning');
    expect(result.message.text).toBe(
      'Package: libssl1.1\nInstalled Version: 1.1.1c-r0\nVulnerability CVE-2019-1549\nSeverity: MEDIUM\n' +
        'Fixed Version: 1.1.1d-r0\nLink: [CVE-2019-1549](https://avd.aquasec.com/nvd/cve-2019-1549)\n' +
        'Image: ghcr.io/acme/app:1',
    );
  });

  test('results are ordered most severe first; a finding without a fix says so with an empty Fixed Version', () => {
    expect(run.results[0].ruleId).toBe('CVE-2020-0001');
    expect(run.results[0].level).toBe('error');
    expect(run.results[0].message.text).toContain('Fixed Version: \n');
  });

  test('pipes in table cells are escaped so the markdown table keeps its columns', () => {
    const r = onlyRun([appImage('1', [makeFinding({ id: 'CVE-9', pkg: 'a|b', fixed: '1.0, 2.0' })])]);
    expect(r.tool.driver.rules![0].help.markdown).toContain('|a\\|b|1.1.1c-r0|1.0, 2.0|HIGH|');
  });

  test('a finding with no usable URL: no helpUri, link shown as the bare id', () => {
    const r = onlyRun([appImage('1', [makeFinding({ id: 'CVE-7', url: 'not a url' })])]);
    expect(r.tool.driver.rules![0].helpUri).toBeUndefined();
    expect(r.results[0].message.text).not.toContain('Link:');
  });

  test('secrets and misconfigurations get their own rule names and tags', () => {
    const r = onlyRun([
      appImage('1', [
        makeFinding({
          id: 'aws-access-key-id',
          pkg: '',
          class: 'secret',
          target: 'app/.env',
          severity: 'CRITICAL',
        }),
        makeFinding({ id: 'DS-0002', pkg: '', class: 'config', target: 'Dockerfile', severity: 'HIGH' }),
      ]),
    ]);
    const byId = new Map(r.tool.driver.rules!.map((rule) => [rule.id, rule]));
    expect(byId.get('aws-access-key-id')?.name).toBe('Secret');
    expect(byId.get('aws-access-key-id')?.properties.tags).toEqual(['secret', 'security', 'CRITICAL']);
    expect(byId.get('DS-0002')?.name).toBe('Misconfiguration');
    expect(byId.get('DS-0002')?.properties['security-severity']).toBe('8.0');
  });
});

describe('locations', () => {
  test('an image referenced in the repository: results point at those lines (shown on pull request diffs)', () => {
    const target = makeTarget({
      repository: 'acme/app',
      tag: '1',
      origins: [
        { file: 'deploy/compose.yaml', line: 12, column: 12 },
        { file: './Dockerfile', line: 1 },
      ],
    });
    const run = onlyRun([makeImage(target, [makeFinding({ id: 'CVE-1' })])]);
    expect(run.results[0].locations.map((l) => l.physicalLocation)).toEqual([
      {
        artifactLocation: { uri: 'Dockerfile', uriBaseId: 'ROOTPATH' },
        region: { startLine: 1, startColumn: 1, endLine: 1, endColumn: 1 },
      },
      {
        artifactLocation: { uri: 'deploy/compose.yaml', uriBaseId: 'ROOTPATH' },
        region: { startLine: 12, startColumn: 12, endLine: 12, endColumn: 12 },
      },
    ]);
  });

  test('otherwise the repository path at line 1, as Trivy does (stable across tags)', () => {
    const run = onlyRun([
      makeImage(makeTarget({ registry: 'docker.io', repository: 'library/alpine', tag: '3.19' }), [
        makeFinding({ id: 'CVE-1' }),
      ]),
    ]);
    expect(run.results[0].locations[0].physicalLocation).toEqual({
      artifactLocation: { uri: 'library/alpine', uriBaseId: 'ROOTPATH' },
      region: { startLine: 1, startColumn: 1, endLine: 1, endColumn: 1 },
    });
  });

  test('paths become valid relative URIs', () => {
    expect(encodeUriPath('deploy/my app/Dockerfile')).toBe('deploy/my%20app/Dockerfile');
    expect(encodeUriPath('k8s/a:b#c?.yaml')).toBe('k8s/a%3Ab%23c%3F.yaml');
    expect(encodeUriPath('/abs/ünï.yaml')).toBe('abs/%C3%BCn%C3%AF.yaml');
  });

  test('more than 1,000 references: the first 1,000 are kept, with a warning', () => {
    const origins = Array.from({ length: 1_005 }, (_, i) => ({
      file: `f/${String(i).padStart(4, '0')}.yaml`,
      line: 1,
    }));
    const image = makeImage(makeTarget({ repository: 'acme/app', tag: '1', origins }), [
      makeFinding({ id: 'CVE-1' }),
    ]);
    const { files, warnings } = buildSarifFiles([image], base);
    expect(runs(files)[0].results[0].locations).toHaveLength(1_000);
    expect(warnings).toEqual([
      'image ghcr.io/acme/app:1: referenced in 1,005 places; results point at the first 1,000 (GitHub accepts at ' +
        'most 1,000 locations per result).',
    ]);
  });
});

describe('categories: one per image repository, the same shape whatever tags are scanned', () => {
  const ids = (images: ImageResult[], opts: Partial<SarifOptions> = {}) =>
    runs(buildSarifFiles(images, { ...base, ...opts }).files).map((r) => r.automationDetails.id);

  test('one tag: the category names registry and repository, not tag or digest, and ends with "/"', () => {
    expect(ids([appImage('1', [], `sha256:${'1'.repeat(64)}`)])).toEqual(['image-scan/ghcr.io/acme/app/']);
    expect(ids([appImage('2', [], `sha256:${'2'.repeat(64)}`)])).toEqual(['image-scan/ghcr.io/acme/app/']);
  });

  test('two tags of one repository in one upload: one run in the same category, findings merged', () => {
    const shared = makeFinding({ id: 'CVE-SHARED', pkg: 'openssl', target: 'x (alpine 3.19)' });
    const one = appImage(
      '1',
      [shared, makeFinding({ id: 'CVE-ONLY-1', pkg: 'musl' })],
      `sha256:${'1'.repeat(64)}`,
    );
    const two = appImage(
      '2',
      [{ ...shared, target: 'y (alpine 3.20)' }, makeFinding({ id: 'CVE-ONLY-2' })],
      `sha256:${'2'.repeat(64)}`,
    );
    const other = makeImage(makeTarget({ repository: 'acme/api', tag: '1' }), []);
    const { files } = buildSarifFiles([two, other, one], base);
    const all = runs(files);
    // The category a lone tag had: adding a second tag changes nothing, so no alert is left in a stale category.
    expect(all.map((r) => r.automationDetails.id)).toEqual([
      'image-scan/ghcr.io/acme/api/',
      'image-scan/ghcr.io/acme/app/',
    ]);
    const app = all[1];
    expect(app.results.map((r) => r.ruleId).sort()).toEqual(['CVE-ONLY-1', 'CVE-ONLY-2', 'CVE-SHARED']);
    const message = (id: string) =>
      app.results
        .find((r) => r.ruleId === id)
        ?.message.text.split('\n')
        .at(-1);
    expect(message('CVE-SHARED')).toBe('Image: ghcr.io/acme/app:1, ghcr.io/acme/app:2');
    expect(message('CVE-ONLY-1')).toBe('Image: ghcr.io/acme/app:1');
    expect(message('CVE-ONLY-2')).toBe('Image: ghcr.io/acme/app:2');
    expect(app.properties).toEqual({
      imageName: 'ghcr.io/acme/app:1',
      imageNames: ['ghcr.io/acme/app:1', 'ghcr.io/acme/app:2'],
      repoDigests: [`ghcr.io/acme/app@sha256:${'1'.repeat(64)}`, `ghcr.io/acme/app@sha256:${'2'.repeat(64)}`],
    });
  });

  test('a finding in many tags names the first ten and counts the rest', () => {
    const tags = Array.from({ length: 12 }, (_, i) => String(i).padStart(2, '0'));
    const images = tags.map((tag, i) =>
      appImage(tag, [makeFinding({ id: 'CVE-1' })], `sha256:${i.toString(16).padStart(64, '0')}`),
    );
    const text = onlyRun(images).results[0].message.text.split('\n').at(-1);
    expect(text).toBe(
      `Image: ${tags
        .slice(0, 10)
        .map((t) => `ghcr.io/acme/app:${t}`)
        .join(', ')}, and 2 more`,
    );
  });

  test('digests, platforms and duplicates of one repository share its one category too', () => {
    const d1 = makeImage(makeTarget({ repository: 'acme/app', digest: `sha256:${'a'.repeat(64)}` }), []);
    const amd = makeImage(makeTarget({ repository: 'acme/app', tag: '1', platform: 'linux/amd64' }), []);
    const arm = makeImage(makeTarget({ repository: 'acme/app', tag: '1', platform: 'linux/arm64' }), []);
    expect(ids([d1, amd, arm, appImage('3', []), appImage('3', [])])).toEqual([
      'image-scan/ghcr.io/acme/app/',
    ]);
  });

  test('one failed tag holds back the whole category (a merged run without it would close its alerts)', () => {
    const failed = appImage('2', []);
    failed.status = 'failed';
    failed.error = 'unable to pull';
    const { files, warnings } = buildSarifFiles(
      [appImage('1', [makeFinding({ id: 'CVE-1' })]), failed],
      base,
    );
    expect(runs(files)).toEqual([]);
    expect(warnings).toEqual([
      'image ghcr.io/acme/app:2: the scan failed, so no SARIF run was written for its category (2 images); its ' +
        'code scanning alerts stay as the last successful scan left them.',
    ]);
  });

  test('registries with a port and unusual characters in the category prefix are sanitised', () => {
    const target = makeTarget({ registry: 'localhost:5000', repository: 'team/app', tag: '1' });
    expect(categoryId(target, { category: 'my scans' })).toBe('my_scans/localhost:5000/team/app/');
    expect(categoryId(target, { category: '/nested/prefix//' })).toBe(
      'nested/prefix/localhost:5000/team/app/',
    );
  });

  test.each([
    // upload-sarif without `category`: `<workflow path>:<job id>/` (codeql-action computeAutomationID).
    ['.github/workflows/scan.yml:scan', '.github/workflows/scan.yml:scan/'],
    // ... with a matrix: `/<key>:<value>` per string value, sorted by key.
    ['.github/workflows/scan.yml:scan/image:api', '.github/workflows/scan.yml:scan/image:api/'],
    // upload-sarif with `category: trivy`.
    ['trivy', 'trivy/'],
  ])('trivy-action compatibility: exact category %s gives the id upload-sarif wrote, %s', (category, id) => {
    const image = appImage('1', [makeFinding({ id: 'CVE-1' })]);
    expect(ids([image], { category, exactCategory: true })).toEqual([id]);
    expect(
      runs(buildSarifFiles([image], { ...base, category, exactCategory: true }).files)[0].tool.driver.name,
    ).toBe('Trivy');
  });

  test('an exact category holds every image in its one run (never two runs of one category)', () => {
    const api = makeImage(makeTarget({ repository: 'acme/api', tag: '1' }), [makeFinding({ id: 'CVE-A' })]);
    const app = appImage('1', [makeFinding({ id: 'CVE-B' })]);
    const all = runs(buildSarifFiles([api, app], { ...base, category: 'trivy', exactCategory: true }).files);
    expect(all).toHaveLength(1);
    expect(all[0].results.map((r) => r.ruleId).sort()).toEqual(['CVE-A', 'CVE-B']);
  });

  test('closing runs (prune-categories): no results, the same tool, the category as id, 20 runs per file', () => {
    const categories = Array.from(
      { length: 21 },
      (_, i) => `image-scan/ghcr.io/acme/gone-${String(i).padStart(2, '0')}`,
    );
    const files = buildClosingSarifFiles(categories, { toolVersion: '0.1.0', trivyVersion: '0.74.0' });
    expect(files.map((f) => f.runs.length)).toEqual([20, 1]);
    const first = files[0].runs[0];
    expect(first.automationDetails.id).toBe('image-scan/ghcr.io/acme/gone-00/');
    expect(first.results).toEqual([]);
    expect(first.tool.driver).toMatchObject({ name: 'Trivy', version: '0.74.0', rules: [] });
  });
});

describe('fingerprints: the same vulnerability in the same package of the same repository keeps its alert', () => {
  const fingerprints = (run: SarifRun) =>
    run.results.map((r) => `${r.ruleId} ${r.partialFingerprints[FINGERPRINT_KEY]}`);
  const findings = (tag: string) => [
    makeFinding({
      id: 'CVE-1',
      pkg: 'openssl',
      installed: '1.0',
      target: `ghcr.io/acme/app:${tag} (alpine 3.19.1)`,
    }),
    makeFinding({
      id: 'CVE-2',
      pkg: 'lodash',
      class: 'lang-pkgs',
      target: 'app/package-lock.json',
      pkgPath: 'app/node_modules/lodash/package.json',
    }),
  ];

  test('re-tagged and rebuilt (new digest, new installed version of the package): identical fingerprints and category', () => {
    const before = onlyRun([appImage('1.0', findings('1.0'), `sha256:${'1'.repeat(64)}`)]);
    const retagged = findings('2.0');
    retagged[0].installed = '1.1';
    const after = onlyRun([appImage('2.0', retagged, `sha256:${'2'.repeat(64)}`)]);
    expect(fingerprints(after)).toEqual(fingerprints(before));
    expect(after.automationDetails.id).toBe(before.automationDetails.id);
    expect(fingerprints(before)[0]).toMatch(/^CVE-1 [0-9a-f]{64}$/);
  });

  test('another package, another repository or another lockfile: another fingerprint', () => {
    const fp = (image: ImageResult) => onlyRun([image]).results[0].partialFingerprints[FINGERPRINT_KEY];
    const reference = fp(appImage('1', [makeFinding({ id: 'CVE-1', pkg: 'openssl' })]));
    expect(fp(appImage('1', [makeFinding({ id: 'CVE-1', pkg: 'libssl' })]))).not.toBe(reference);
    expect(
      fp(
        makeImage(makeTarget({ repository: 'acme/api', tag: '1' }), [
          makeFinding({ id: 'CVE-1', pkg: 'openssl' }),
        ]),
      ),
    ).not.toBe(reference);
    const lock = (pkgPath: string) =>
      fp(appImage('1', [makeFinding({ id: 'CVE-1', pkg: 'openssl', class: 'lang-pkgs', pkgPath })]));
    expect(lock('a/package.json')).not.toBe(lock('b/package.json'));
  });

  test('the same package twice (two layers): one result, the more severe', () => {
    const run = onlyRun([
      appImage('1', [
        makeFinding({ id: 'CVE-1', severity: 'LOW', installed: '1.0' }),
        makeFinding({ id: 'CVE-1', severity: 'HIGH', installed: '1.1' }),
      ]),
    ]);
    expect(run.results).toHaveLength(1);
    expect(run.results[0].level).toBe('error');
  });
});

describe('what the user asked to see', () => {
  const image = appImage('1', [
    makeFinding({ id: 'CVE-C', severity: 'CRITICAL' }),
    makeFinding({ id: 'CVE-H', severity: 'HIGH', pkg: 'curl' }),
    makeFinding({ id: 'CVE-L', severity: 'LOW' }),
  ]);

  test('only the selected severities', () => {
    const run = onlyRun([image], { severities: ['CRITICAL', 'HIGH'] });
    expect(run.results.map((r) => r.ruleId).sort()).toEqual(['CVE-C', 'CVE-H']);
    expect(run.tool.driver.rules?.map((r) => r.id)).toEqual(['CVE-C', 'CVE-H']);
  });

  const ignores = {
    suppressed: [
      { image: 'ghcr.io/acme/app:1', findingId: 'CVE-H', pkg: 'curl', reason: 'not reachable' },
      { image: 'ghcr.io/acme/app:1', findingId: 'CVE-L', pkg: 'openssl' },
      { image: 'ghcr.io/acme/other:1', findingId: 'CVE-C', pkg: 'openssl', reason: 'other image' },
    ],
  };

  test('ignored findings are left out by default (GitHub does not dismiss alerts for SARIF suppressions)', () => {
    const run = onlyRun([image], ignores);
    expect(run.results.map((r) => r.ruleId)).toEqual(['CVE-C']);
    expect(run.results.every((r) => r.suppressions === undefined)).toBe(true);
  });

  test('with includeSuppressed, ignored findings stay as external suppressions with the reason', () => {
    const run = onlyRun([image], {
      includeSuppressed: true,
      suppressed: [
        { image: 'ghcr.io/acme/app:1', findingId: 'CVE-H', pkg: 'curl', reason: 'not reachable' },
        { image: 'ghcr.io/acme/app:1', findingId: 'CVE-L', pkg: 'openssl' },
        { image: 'ghcr.io/acme/other:1', findingId: 'CVE-C', pkg: 'openssl', reason: 'other image' },
      ],
    });
    const byRule = new Map(run.results.map((r) => [r.ruleId, r]));
    expect(byRule.get('CVE-H')?.suppressions).toEqual([
      { kind: 'external', status: 'accepted', justification: 'not reachable' },
    ]);
    expect(byRule.get('CVE-L')?.suppressions).toEqual([{ kind: 'external', status: 'accepted' }]);
    expect(byRule.get('CVE-C')?.suppressions).toBeUndefined();
  });

  test('an image with no findings still gets a run: it closes the alerts that were fixed', () => {
    const run = onlyRun([appImage('1', [])]);
    expect(run.results).toEqual([]);
    expect(run.automationDetails.id).toBe('image-scan/ghcr.io/acme/app/');
  });

  test('a failed scan writes no run by default (an empty run would close its alerts) and says so', () => {
    const failed = appImage('1', [], undefined);
    failed.status = 'failed';
    failed.error = 'unable to pull';
    const { files, warnings } = buildSarifFiles(
      [failed, makeImage(makeTarget({ repository: 'acme/api', tag: '1' }), [])],
      base,
    );
    expect(runs(files).map((r) => r.automationDetails.id)).toEqual(['image-scan/ghcr.io/acme/api/']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('image ghcr.io/acme/app:1: the scan failed');
  });

  test('with reportFailedScans, a failed scan is a run with executionSuccessful false and the error', () => {
    const failed = appImage('1', []);
    failed.status = 'failed';
    failed.error = 'unable to pull';
    const run = onlyRun([failed], { reportFailedScans: true });
    expect(run.results).toEqual([]);
    expect(run.invocations).toEqual([
      {
        executionSuccessful: false,
        toolExecutionNotifications: [
          {
            level: 'error',
            message: { text: 'Scanning ghcr.io/acme/app:1 failed: unable to pull' },
            descriptor: { id: 'image-scan-failed' },
          },
        ],
      },
    ]);
  });
});

describe("GitHub's limits", () => {
  test('over the results limit: the most severe are kept (open before suppressed), with the numbers', () => {
    const findings = [
      ...Array.from({ length: 6 }, (_, i) => makeFinding({ id: `CVE-L${i}`, severity: 'LOW' })),
      makeFinding({
        id: 'CVE-M',
        severity: 'MEDIUM',
        cvssV3OfSource: 4.0,
        cvss: { score: 4, source: 'nvd', version: '3' },
      }),
      makeFinding({
        id: 'CVE-M2',
        severity: 'MEDIUM',
        cvssV3OfSource: 6.5,
        cvss: { score: 6.5, source: 'nvd', version: '3' },
      }),
      makeFinding({ id: 'CVE-C', severity: 'CRITICAL', pkg: 'ignored' }),
      makeFinding({ id: 'CVE-H', severity: 'HIGH' }),
    ];
    const { files, warnings } = buildSarifFiles([appImage('1', findings)], {
      ...base,
      maxResultsPerRun: 3,
      includeSuppressed: true,
      suppressed: [{ image: 'ghcr.io/acme/app:1', findingId: 'CVE-C', pkg: 'ignored' }],
    });
    expect(runs(files)[0].results.map((r) => r.ruleId)).toEqual(['CVE-H', 'CVE-M2', 'CVE-M']);
    expect(warnings).toEqual([
      'image ghcr.io/acme/app:1: kept 3 of 10 results (the most severe); GitHub accepts at most 3 per run.',
    ]);
  });

  test('limits asked for above GitHub’s are clamped to GitHub’s', () => {
    const images = Array.from({ length: 25 }, (_, i) =>
      makeImage(makeTarget({ repository: `acme/s${i}`, tag: '1' }), []),
    );
    const { files } = buildSarifFiles(images, { ...base, maxRunsPerFile: 100 });
    expect(files.map((f) => f.runs.length)).toEqual([20, 5]);
  });

  test('more runs than a file may hold: split into files, every category in exactly one', () => {
    // 8 images, 7 repositories: the estate's svc-1 has two tags, which share one run.
    const images = syntheticEstate({ images: 8, findings: 70 });
    const { files } = buildSarifFiles(images, { ...base, maxRunsPerFile: 3 });
    expect(files.map((f) => f.runs.length)).toEqual([3, 3, 1]);
    const ids = runs(files).map((r) => r.automationDetails.id);
    expect(new Set(ids).size).toBe(7);
  });

  test('over the gzip limit: split into files that each fit', () => {
    const images = syntheticEstate({ images: 6, findings: 900 });
    const whole = gzipSync(JSON.stringify(buildSarifFiles(images, base).files[0])).length;
    const limit = Math.floor(whole / 2.5);
    const { files, warnings } = buildSarifFiles(images, { ...base, maxGzipBytes: limit });
    expect(files.length).toBeGreaterThanOrEqual(3);
    expect(warnings).toEqual([]);
    for (const f of files) expect(gitHubLimitViolations(f, limit)).toEqual([]);
    expect(runs(files).reduce((n, r) => n + r.results.length, 0)).toBe(900);
  }, 30_000);

  test('one run alone over the gzip limit: cut to the most severe results that fit, with a warning', () => {
    const images = syntheticEstate({ images: 1, findings: 600 });
    const whole = gzipSync(JSON.stringify(buildSarifFiles(images, base).files[0])).length;
    const limit = Math.floor(whole / 2);
    const { files, warnings } = buildSarifFiles(images, { ...base, maxGzipBytes: limit });
    expect(files).toHaveLength(1);
    expect(gitHubLimitViolations(files[0], limit)).toEqual([]);
    const kept = files[0].runs[0].results;
    expect(kept.length).toBeGreaterThan(150);
    expect(kept.length).toBeLessThan(600);
    expect(warnings).toEqual([
      `image ghcr.io/acme/svc-0:1: kept ${kept.length} of 600 results (the most severe) to ` +
        `stay under ${(limit / 1e6).toLocaleString('en-US', { maximumFractionDigits: 1 })} MB gzipped.`,
    ]);
    // Most severe kept: nothing dropped is more severe than anything kept.
    const rank = { error: 2, warning: 1, note: 0, none: 0 };
    const lowestKept = Math.min(...kept.map((r) => rank[r.level]));
    const severities = images[0].findings.map((f) => rank[sarifLevel(f.severity)]).sort((a, b) => b - a);
    expect(lowestKept).toBe(severities[kept.length - 1]);
  }, 30_000);

  test('the written file round-trips through gzip as the uploader sends it', () => {
    const { files } = buildSarifFiles(syntheticEstate({ images: 2, findings: 50 }), base);
    const parsed = JSON.parse(gunzipSync(gzipSync(JSON.stringify(files[0]))).toString('utf8')) as SarifLog;
    expect(parsed.version).toBe('2.1.0');
    expect(parsed.runs).toHaveLength(2);
  });
});

describe('deterministic output', () => {
  test('the same images in another order give byte-identical files', () => {
    const images = syntheticEstate({ images: 5, findings: 200 });
    const shuffled = [images[3], images[0], images[4], images[2], images[1]].map((i) => ({
      ...i,
      findings: [...i.findings].reverse(),
    }));
    expect(JSON.stringify(buildSarifFiles(shuffled, base))).toBe(
      JSON.stringify(buildSarifFiles(images, base)),
    );
  });
});

describe.runIf(goldenReportNames().includes('alpine-310.json.golden'))(
  "alpine-310: the same ruleIds, levels and security-severity as Trivy's own SARIF",
  () => {
    interface TrivySarif {
      runs: {
        tool: {
          driver: {
            rules: {
              id: string;
              defaultConfiguration: { level: string };
              properties: Record<string, unknown>;
            }[];
          };
        };
        results: { ruleId: string; level: string; message: { text: string } }[];
      }[];
    }
    test.each(['', 'legacy-v0.50.0/'])('%salpine-310', (folder) => {
      const trivy = readGolden(`${folder}alpine-310.sarif.golden`) as TrivySarif;
      const ours = onlyRun([goldenImage(`${folder}alpine-310.json.golden`).image]);
      const ruleFacts = (rules: TrivySarif['runs'][0]['tool']['driver']['rules']) =>
        rules
          .map((r) => ({
            id: r.id,
            level: r.defaultConfiguration.level,
            securitySeverity: r.properties['security-severity'],
            tags: r.properties.tags,
          }))
          .sort((a, b) => a.id.localeCompare(b.id));
      expect(ruleFacts(ours.tool.driver.rules as never)).toEqual(ruleFacts(trivy.runs[0].tool.driver.rules));
      // Results: the same (rule, level, package) triples; Trivy's message starts with the same "Package:" line.
      const resultFacts = (results: { ruleId: string; level: string; message: { text: string } }[]) =>
        results.map((r) => `${r.ruleId} ${r.level} ${r.message.text.split('\n')[0]}`).sort();
      expect(resultFacts(ours.results)).toEqual(resultFacts(trivy.runs[0].results));
      // Every line of Trivy's message is in ours, in order (ours adds the image after them).
      for (const theirs of trivy.runs[0].results) {
        const match = ours.results.find((r) => r.message.text.startsWith(theirs.message.text));
        expect(match, theirs.message.text).toBeDefined();
      }
    });
  },
);

test('rule help markdown: untrusted text cannot mention, autolink, reference issues or add markup', () => {
  const finding = makeFinding({
    id: 'CVE-2024-9999',
    pkg: '@acme/team|x',
    installed: '1.0 <img src=x>',
    fixed: 'see https://evil.example and #12',
    description:
      'Ping @octocat and @acme/security-team.\n\nDetails at www.evil.example, GH-42 and acme/app#7.',
  });
  const rule = onlyRun([appImage('1', [finding])]).tool.driver.rules!.find((r) => r.id === 'CVE-2024-9999')!;
  const md = rule.help.markdown!;
  expect(md).not.toMatch(/@(?!&#8203;)[a-z]/);
  expect(md).not.toMatch(/https?:\/\/evil|www\.evil|(?<!&)#\d|GH-\d/);
  expect(md).not.toMatch(/(?<!\\)<img/);
  // the table keeps its five columns, and the description its two paragraphs
  const row = md.split('\n').find((l) => l.includes('team'))!;
  expect(row.split(/(?<!\\)\|/)).toHaveLength(7);
  expect(md).toContain('\n\nDetails at www&#8203;.evil.example, GH&#8203;-42 and acme/app\\#&#8203;7.');
});
