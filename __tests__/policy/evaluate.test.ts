import { describe, expect, test } from 'vitest';
import type { GateInputs } from '../../src/config.js';
import type { Finding, ImageResult, Severity } from '../../src/model.js';
import { effectivePolicy, type EffectivePolicy } from '../../src/policy/effective-policy.js';
import { evaluatePolicy, imageVerdicts, suppressionLookup } from '../../src/policy/evaluate.js';
import { parseTrivyIgnore } from '../../src/policy/ignore-files.js';
import type { IgnoreRule } from '../../src/policy/ignore-rules.js';
import { parsePolicyFile } from '../../src/policy/policy-file.js';

// Hand-written fixtures: a few images with findings whose severities, fixed versions and CVSS scores are chosen
// to sit on each rule's boundary.

function image(ref: string, findings: Finding[], over: Partial<ImageResult> = {}): ImageResult {
  const m = /^([^/]+)\/(.+?)(?::([^:@/]+))?(@sha256:.+)?$/.exec(ref)!;
  return {
    target: {
      ref,
      input: ref,
      registry: m[1],
      repository: m[2],
      tag: m[3],
      origins: [],
      sources: ['listed'],
    },
    status: 'scanned',
    findings,
    ...over,
  };
}

function vuln(id: string, pkg: string, severity: Severity, over: Partial<Finding> = {}): Finding {
  return {
    id,
    pkg,
    severity,
    class: 'os-pkgs',
    target: 'img (debian 12)',
    installed: '1.0',
    fixed: '1.1',
    ...over,
  };
}

const NGINX = 'docker.io/library/nginx:1.25';
const API = 'ghcr.io/acme/api:1.2';
const LEGACY = 'ghcr.io/acme/legacy/app:7';
const NOW = new Date('2026-01-15T12:00:00Z');

function policyOf(yaml: string | undefined, inputs: Partial<GateInputs> = {}): EffectivePolicy {
  const file = yaml === undefined ? undefined : parsePolicyFile(yaml, 'policy.yml');
  return effectivePolicy(file, { max: {}, gate: 'enforce', ...inputs });
}

function evaluate(
  images: ImageResult[],
  yaml?: string,
  inputs: Partial<GateInputs> = {},
  ignores?: IgnoreRule[],
  now = NOW,
) {
  const policy = policyOf(yaml, inputs);
  const file = yaml === undefined ? undefined : parsePolicyFile(yaml, 'policy.yml');
  return evaluatePolicy(images, policy, ignores ?? file?.ignore ?? [], now);
}

describe('each rule on its boundary', () => {
  test.each<[string, ImageResult[], string | undefined, Partial<GateInputs>, string[]]>([
    [
      'default fail-on CRITICAL: a critical fails',
      [image(NGINX, [vuln('CVE-1', 'openssl', 'CRITICAL')])],
      undefined,
      {},
      ['fail-on'],
    ],
    [
      'default fail-on CRITICAL: a high passes',
      [image(NGINX, [vuln('CVE-1', 'openssl', 'HIGH')])],
      undefined,
      {},
      [],
    ],
    [
      'fail-on high: a high fails',
      [image(NGINX, [vuln('CVE-1', 'openssl', 'HIGH')])],
      'fail-on: high',
      {},
      ['fail-on'],
    ],
    [
      'fail-on high: a medium passes',
      [image(NGINX, [vuln('CVE-1', 'openssl', 'MEDIUM')])],
      'fail-on: high',
      {},
      [],
    ],
    [
      'fail-on unknown: an unknown fails',
      [image(NGINX, [vuln('CVE-1', 'x', 'UNKNOWN')])],
      'fail-on: unknown',
      {},
      ['fail-on'],
    ],
    [
      'fail-on none: nothing fails',
      [image(NGINX, [vuln('CVE-1', 'x', 'CRITICAL')])],
      'fail-on: none',
      {},
      [],
    ],
    [
      'max high 1: one high is allowed',
      [image(NGINX, [vuln('CVE-1', 'a', 'HIGH')])],
      'fail-on: none\nmax: { high: 1 }',
      {},
      [],
    ],
    [
      'max high 1: two highs exceed it',
      [image(NGINX, [vuln('CVE-1', 'a', 'HIGH'), vuln('CVE-2', 'b', 'HIGH')])],
      'fail-on: none\nmax: { high: 1 }',
      {},
      ['max-high'],
    ],
    [
      'max high counts only HIGH (not CRITICAL)',
      [image(NGINX, [vuln('CVE-1', 'a', 'CRITICAL'), vuln('CVE-2', 'b', 'HIGH')])],
      'fail-on: none\nmax: { high: 1 }',
      {},
      [],
    ],
    [
      'max critical 0: one critical exceeds it',
      [image(NGINX, [vuln('CVE-1', 'a', 'CRITICAL')])],
      'fail-on: none\nmax: { critical: 0 }',
      {},
      ['max-critical'],
    ],
    [
      'max counts per image, not across images',
      [image(NGINX, [vuln('CVE-1', 'a', 'HIGH')]), image(API, [vuln('CVE-2', 'b', 'HIGH')])],
      'fail-on: none\nmax: { high: 1 }',
      {},
      [],
    ],
    [
      'max-cvss 9.0: a 9.0 is at the threshold',
      [image(NGINX, [vuln('CVE-1', 'a', 'MEDIUM', { cvss: { score: 9.0, source: 'nvd', version: '3' } })])],
      'max-cvss: 9.0',
      {},
      ['max-cvss'],
    ],
    [
      'max-cvss 9.0: an 8.9 is below',
      [image(NGINX, [vuln('CVE-1', 'a', 'MEDIUM', { cvss: { score: 8.9, source: 'nvd', version: '3' } })])],
      'max-cvss: 9.0',
      {},
      [],
    ],
    [
      'max-cvss: a finding without a score never matches',
      [image(NGINX, [vuln('CVE-1', 'a', 'HIGH')])],
      'max-cvss: 0',
      {},
      [],
    ],
    [
      'max-cvss input',
      [image(NGINX, [vuln('CVE-1', 'a', 'LOW', { cvss: { score: 7.5, source: 'ghsa', version: '3' } })])],
      undefined,
      { maxCvss: 7 },
      ['max-cvss'],
    ],
    [
      'all rules at once, in a fixed order',
      [image(NGINX, [vuln('CVE-1', 'a', 'CRITICAL', { cvss: { score: 9.8, source: 'nvd', version: '3' } })])],
      'max: { critical: 0 }\nmax-cvss: 9',
      {},
      ['fail-on', 'max-critical', 'max-cvss'],
    ],
  ])('%s', (_name, images, yaml, inputs, rules) => {
    const verdict = evaluate(images, yaml, inputs);
    expect(verdict.violations.map((v) => v.rule)).toEqual(rules);
    expect(verdict.result).toBe(rules.length ? 'fail' : 'pass');
  });

  test('the fail-on violation names image, rule, threshold and findings (worst first, then by ID)', () => {
    const verdict = evaluate(
      [
        image(NGINX, [
          vuln('CVE-2023-2', 'zlib', 'HIGH'),
          vuln('CVE-2023-9', 'curl', 'LOW'),
          vuln('CVE-2023-1', 'openssl', 'HIGH'),
        ]),
      ],
      'fail-on: high',
    );
    expect(verdict.violations).toEqual([
      {
        rule: 'fail-on',
        image: NGINX,
        findings: ['CVE-2023-1 (openssl)', 'CVE-2023-2 (zlib)'],
        threshold: 'HIGH',
        message:
          'docker.io/library/nginx:1.25: 2 findings at or above HIGH (fail-on: high): CVE-2023-1 (openssl), CVE-2023-2 (zlib)',
      },
    ]);
  });

  test('max and max-cvss messages state the count or score against the threshold', () => {
    const verdict = evaluate(
      [
        image(API, [
          vuln('CVE-1', 'a', 'HIGH', { cvss: { score: 9.1, source: 'nvd', version: '3' } }),
          vuln('CVE-2', 'b', 'HIGH'),
        ]),
      ],
      'fail-on: none\nmax: { high: 1 }\nmax-cvss: 9',
    );
    expect(verdict.violations.map((v) => [v.rule, v.threshold, v.message])).toEqual([
      [
        'max-high',
        '> 1',
        'ghcr.io/acme/api:1.2: 2 HIGH findings, more than the 1 allowed (max-high: 1): CVE-1 (a), CVE-2 (b)',
      ],
      [
        'max-cvss',
        '>= 9.0',
        'ghcr.io/acme/api:1.2: 1 finding with a CVSS score at or above 9.0 (max-cvss: 9.0): CVE-1 (a, CVSS 9.1)',
      ],
    ]);
  });

  test('a long list is cut in the message but kept whole in findings; one package at two paths is one entry ×2', () => {
    const many = Array.from({ length: 12 }, (_, i) =>
      vuln(`CVE-2024-${String(i).padStart(2, '0')}`, `p${i}`, 'CRITICAL'),
    );
    const twice = [vuln('CVE-2024-00', 'p0', 'CRITICAL', { pkgPath: 'other/path' })];
    const [v] = evaluate([image(NGINX, [...many, ...twice])]).violations;
    expect(v.findings).toHaveLength(12);
    expect(v.message).toMatch(/^docker\.io\/library\/nginx:1\.25: 13 findings at or above CRITICAL/);
    expect(v.message).toContain('CVE-2024-00 (p0) ×2, CVE-2024-01 (p1)');
    expect(v.message).toMatch(/CVE-2024-09 \(p9\), and 2 more$/);
  });

  test('secrets and misconfigurations are labelled by Trivy target', () => {
    const secret: Finding = {
      id: 'aws-access-key-id',
      pkg: '',
      severity: 'CRITICAL',
      class: 'secret',
      target: 'app/.env',
    };
    expect(evaluate([image(NGINX, [secret])]).violations[0].findings).toEqual([
      'aws-access-key-id (app/.env)',
    ]);
  });
});

describe('ignore-unfixed: fixable means a non-empty entry in the comma list', () => {
  test.each<[string, Partial<Finding>, boolean]>([
    ['no fixed version', { fixed: undefined }, false],
    ['empty fixed version', { fixed: '' }, false],
    ['only commas and spaces', { fixed: ' , ' }, false],
    ['one fixed version', { fixed: '1.1' }, true],
    ['comma list', { fixed: '1.1.1w-0+deb11u1, 3.0.11-1~deb12u2' }, true],
    ['comma list with an empty entry', { fixed: ', 3.0.11' }, true],
  ])('%s → counted: %s', (_name, over, counted) => {
    const verdict = evaluate(
      [image(NGINX, [vuln('CVE-1', 'openssl', 'CRITICAL', over)])],
      'ignore-unfixed: true',
    );
    expect(verdict.violations.length).toBe(counted ? 1 : 0);
  });

  test('without ignore-unfixed, unfixed findings count', () => {
    expect(evaluate([image(NGINX, [vuln('CVE-1', 'openssl', 'CRITICAL', { fixed: '' })])]).result).toBe(
      'fail',
    );
  });

  test('secrets have no fixed version and still count', () => {
    const secret: Finding = {
      id: 'github-pat',
      pkg: '',
      severity: 'CRITICAL',
      class: 'secret',
      target: 'root/.git-credentials',
    };
    expect(evaluate([image(NGINX, [secret])], 'ignore-unfixed: true').result).toBe('fail');
  });

  test('a vulnerability of unknown class (Result.Class missing or new) is a vulnerability, as in SARIF', () => {
    const unfixed = vuln('CVE-9', 'pkg', 'CRITICAL', { class: 'unknown', fixed: '' });
    expect(evaluate([image(NGINX, [unfixed])], 'ignore-unfixed: true').result).toBe('pass');
    expect(evaluate([image(NGINX, [unfixed])]).result).toBe('fail');
  });

  test('unfixed findings are not counted towards max either', () => {
    const images = [image(NGINX, [vuln('CVE-1', 'a', 'HIGH'), vuln('CVE-2', 'b', 'HIGH', { fixed: '' })])];
    expect(evaluate(images, 'fail-on: none\nmax: { high: 1 }\nignore-unfixed: true').result).toBe('pass');
    expect(evaluate(images, 'fail-on: none\nmax: { high: 1 }').result).toBe('fail');
  });
});

describe('per-image rules and their order', () => {
  const yaml = [
    'fail-on: high',
    'images:',
    '  - match: "ghcr.io/acme/legacy/*"',
    '    fail-on: critical',
    '  - match: "ghcr.io/acme/**"',
    '    fail-on: low',
  ].join('\n');
  const images = [
    image(LEGACY, [vuln('CVE-1', 'a', 'HIGH')]),
    image(API, [vuln('CVE-2', 'b', 'MEDIUM')]),
    image(NGINX, [vuln('CVE-3', 'c', 'MEDIUM')]),
  ];

  test('first match wins; unmatched images use the top level', () => {
    const verdict = evaluate(images, yaml);
    // legacy: HIGH under its own fail-on critical passes (the later ** rule would have failed it);
    // api: MEDIUM under fail-on low fails; nginx: MEDIUM under the top-level high passes.
    expect(verdict.violations.map((v) => [v.image, v.rule, v.threshold])).toEqual([[API, 'fail-on', 'LOW']]);
    expect(verdict.violations[0].message).toContain(
      '[rules of images matching "ghcr.io/acme/**" at policy.yml:5]',
    );
  });

  test('an explicit fail-on input applies to every image, over per-image rules', () => {
    const verdict = evaluate(images, yaml, { failOn: 'HIGH' });
    expect(verdict.violations.map((v) => [v.image, v.threshold])).toEqual([[LEGACY, 'HIGH']]);
  });

  test('short names match Docker Hub images', () => {
    const verdict = evaluate(
      [image(NGINX, [vuln('CVE-1', 'a', 'LOW')])],
      'images:\n  - match: nginx\n    fail-on: low',
    );
    expect(verdict.result).toBe('fail');
  });
});

describe('ignores', () => {
  const yaml = (ignore: string) => `fail-on: high\nignore:\n${ignore}`;

  test('an ignore drops the finding and is recorded with its source and reason', () => {
    const verdict = evaluate(
      [image(NGINX, [vuln('CVE-1', 'openssl', 'CRITICAL')])],
      yaml('  - id: CVE-1\n    reason: not reachable\n    expires: 2026-06-30'),
    );
    expect(verdict.result).toBe('pass');
    expect(verdict.ignored).toEqual([
      {
        image: NGINX,
        findingId: 'CVE-1',
        pkg: 'openssl',
        rule: 'policy.yml:3',
        reason: 'not reachable',
        expires: '2026-06-30',
      },
    ]);
    expect(verdict.unusedIgnores).toEqual([]);
  });

  test('scoped by image: ignored in api, still counted in nginx', () => {
    const verdict = evaluate(
      [image(API, [vuln('CVE-1', 'openssl', 'HIGH')]), image(NGINX, [vuln('CVE-1', 'openssl', 'HIGH')])],
      yaml('  - id: CVE-1\n    images: ["ghcr.io/acme/api*"]'),
    );
    expect(verdict.ignored.map((i) => i.image)).toEqual([API]);
    expect(verdict.violations.map((v) => v.image)).toEqual([NGINX]);
  });

  test('scoped by package: the same CVE in another package still counts', () => {
    const verdict = evaluate(
      [image(NGINX, [vuln('CVE-1', 'openssl', 'HIGH'), vuln('CVE-1', 'libssl3', 'HIGH')])],
      yaml('  - id: CVE-1\n    packages: [openssl]'),
    );
    expect(verdict.ignored.map((i) => i.pkg)).toEqual(['openssl']);
    expect(verdict.violations[0].findings).toEqual(['CVE-1 (libssl3)']);
  });

  test('scoped by image AND package: both must match', () => {
    const verdict = evaluate(
      [
        image(API, [vuln('CVE-1', 'openssl', 'HIGH'), vuln('CVE-1', 'zlib', 'HIGH')]),
        image(NGINX, [vuln('CVE-1', 'openssl', 'HIGH')]),
      ],
      yaml('  - id: CVE-1\n    packages: [openssl]\n    images: ["ghcr.io/**"]'),
    );
    expect(verdict.ignored.map((i) => `${i.image} ${i.pkg}`)).toEqual([`${API} openssl`]);
    // Violations are ordered by image reference (docker.io/... before ghcr.io/...), whatever the input order.
    expect(verdict.violations.map((v) => `${v.image} ${v.findings.join()}`)).toEqual([
      `${NGINX} CVE-1 (openssl)`,
      `${API} CVE-1 (zlib)`,
    ]);
  });

  test('by alias, and misconfiguration IDs in either style', () => {
    const misconf: Finding = {
      id: 'DS-0002',
      pkg: '',
      severity: 'HIGH',
      class: 'config',
      target: 'Dockerfile',
    };
    const verdict = evaluate(
      [
        image(NGINX, [
          vuln('CVE-2023-44487', 'golang.org/x/net', 'HIGH', { aliases: ['GHSA-qppj-fm5r-hxr3'] }),
          misconf,
        ]),
      ],
      yaml('  - id: GHSA-qppj-fm5r-hxr3\n  - id: DS002'),
    );
    expect(verdict.result).toBe('pass');
    expect(verdict.ignored.map((i) => i.findingId)).toEqual(['CVE-2023-44487', 'DS-0002']);
  });

  test('ignores apply before max counts', () => {
    const images = [image(NGINX, [vuln('CVE-1', 'a', 'HIGH'), vuln('CVE-2', 'b', 'HIGH')])];
    expect(evaluate(images, 'fail-on: none\nmax: { high: 1 }\nignore:\n  - id: CVE-2').result).toBe('pass');
  });

  test('ignores that matched nothing are listed for clean-up; those that matched are not', () => {
    const verdict = evaluate(
      [image(NGINX, [vuln('CVE-1', 'openssl', 'HIGH')])],
      yaml('  - id: CVE-1\n  - id: CVE-1\n    packages: [zlib]\n  - id: CVE-404'),
    );
    expect(verdict.unusedIgnores).toEqual([
      { id: 'CVE-1', source: 'policy.yml:4' },
      { id: 'CVE-404', source: 'policy.yml:6' },
    ]);
  });

  test('two ignores matching the same finding are both in use; the first is the one recorded', () => {
    const verdict = evaluate(
      [image(NGINX, [vuln('CVE-1', 'openssl', 'HIGH')])],
      yaml('  - id: CVE-1\n  - id: cve-1'),
    );
    expect(verdict.unusedIgnores).toEqual([]);
    expect(verdict.ignored.map((i) => i.rule)).toEqual(['policy.yml:3']);
  });

  test('.trivyignore rules (policy ignores plus the ignore file) apply the same way', () => {
    const rules = parseTrivyIgnore('CVE-1 exp:2026-12-31\nCVE-2\n', '.trivyignore');
    const verdict = evaluate([image(NGINX, [vuln('CVE-1', 'a', 'CRITICAL')])], undefined, {}, rules);
    expect(verdict.result).toBe('pass');
    expect(verdict.ignored[0].rule).toBe('.trivyignore:1');
    expect(verdict.unusedIgnores).toEqual([{ id: 'CVE-2', source: '.trivyignore:2' }]);
  });
});

describe('expiry at the date boundary, in UTC', () => {
  const yaml =
    'fail-on: high\nignore:\n  - id: CVE-1\n    expires: 2026-01-31\n    reason: waiting for Debian';
  const images = [image(NGINX, [vuln('CVE-1', 'openssl', 'HIGH')])];

  test('still ignored at 2026-01-31T23:59:59Z', () => {
    const verdict = evaluate(images, yaml, {}, undefined, new Date('2026-01-31T23:59:59Z'));
    expect(verdict.result).toBe('pass');
    expect(verdict.expiredIgnores).toEqual([]);
    expect(verdict.ignored).toHaveLength(1);
  });

  test('expired at 2026-02-01T00:00:00Z: the finding counts, the ignore is listed and not "unused"', () => {
    const verdict = evaluate(images, yaml, {}, undefined, new Date('2026-02-01T00:00:00Z'));
    expect(verdict.result).toBe('fail');
    expect(verdict.ignored).toEqual([]);
    expect(verdict.expiredIgnores).toEqual([
      { id: 'CVE-1', expires: '2026-01-31', source: 'policy.yml:3', reason: 'waiting for Debian' },
    ]);
    expect(verdict.unusedIgnores).toEqual([]);
    // expired-ignores defaults to warn: the expiry itself is a warning, not a violation.
    expect(verdict.violations.map((v) => v.rule)).toEqual(['fail-on']);
    expect(verdict.warnings.map((v) => v.rule)).toEqual(['expired-ignore']);
  });

  // Was `warn` under `gate: enforce`, with "the policy is violated" and no violation listed.
  test('expired-ignores: warn alone is a warning, not a verdict: the result stays pass under every gate', () => {
    for (const gate of ['enforce', 'warn', 'off'] as const) {
      const verdict = evaluate(
        images,
        yaml.replace('fail-on: high', 'fail-on: critical'),
        { gate },
        undefined,
        new Date('2026-03-01T00:00:00Z'),
      );
      expect(verdict.violations).toEqual([]);
      expect(verdict.warnings.map((w) => w.rule)).toEqual(['expired-ignore']);
      expect(verdict.expiredIgnores.map((e) => e.id)).toEqual(['CVE-1']);
      expect(verdict.result, gate).toBe('pass');
    }
  });

  test('expired-ignores: fail makes the expiry itself a violation', () => {
    const failing = yaml.replace('fail-on: high', 'fail-on: critical\nexpired-ignores: fail');
    const verdict = evaluate(images, failing, {}, undefined, new Date('2026-03-01T00:00:00Z'));
    expect(verdict.result).toBe('fail');
    expect(verdict.violations).toEqual([
      {
        rule: 'expired-ignore',
        findings: [`CVE-1 (openssl) in ${NGINX}`],
        threshold: 'expired-ignores: fail',
        message:
          'ignore CVE-1 (policy.yml:4) expired on 2026-01-31 and no longer applies; it would have matched ' +
          `CVE-1 (openssl) in ${NGINX}, which now count; fix the findings, or extend or remove the ignore (expired-ignores: fail)`,
      },
    ]);
  });
});

describe('scan errors and the gate mode', () => {
  const failed = image('ghcr.io/acme/private:1', [], {
    status: 'failed',
    error: 'unable to pull: UNAUTHORIZED\nmore detail',
  });
  const bad = image(NGINX, [vuln('CVE-1', 'openssl', 'CRITICAL')]);

  test.each<[string, ImageResult[], string | undefined, Partial<GateInputs>, string, string[], string[]]>([
    ['a failed image fails the gate', [failed], undefined, {}, 'fail', ['scan-error'], []],
    [
      'scan-errors: warn downgrades it to a warning',
      [failed],
      'scan-errors: warn',
      {},
      'warn',
      [],
      ['scan-error'],
    ],
    [
      'gate: warn turns a failure into a warning',
      [bad],
      undefined,
      { gate: 'warn' },
      'warn',
      ['fail-on'],
      [],
    ],
    // gate: off is the policy's real outcome; only the step does not fail (main.ts).
    [
      'gate: off reports the real outcome and lists violations',
      [bad, failed],
      undefined,
      { gate: 'off' },
      'fail',
      ['fail-on', 'scan-error'],
      [],
    ],
    [
      'gate: off with only scan-error warnings is warn',
      [failed],
      'scan-errors: warn',
      { gate: 'off' },
      'warn',
      [],
      ['scan-error'],
    ],
    [
      'scan-errors: warn under enforce is warn, never pass',
      [failed],
      'scan-errors: warn',
      {},
      'warn',
      [],
      ['scan-error'],
    ],
    [
      'a violation and a warning: fail',
      [bad, failed],
      'scan-errors: warn',
      {},
      'fail',
      ['fail-on'],
      ['scan-error'],
    ],
    [
      'a reused result is evaluated like a scan',
      [{ ...bad, status: 'reused' }],
      undefined,
      {},
      'fail',
      ['fail-on'],
      [],
    ],
  ])('%s', (_name, images, yaml, inputs, result, violations, warnings) => {
    const verdict = evaluate(images, yaml, inputs);
    expect(verdict.result).toBe(result);
    expect(verdict.violations.map((v) => v.rule)).toEqual(violations);
    expect(verdict.warnings.map((v) => v.rule)).toEqual(warnings);
  });

  test('the scan-error names the image and the first line of the error', () => {
    const [v] = evaluate([failed]).violations;
    expect(v).toMatchObject({
      rule: 'scan-error',
      image: 'ghcr.io/acme/private:1',
      findings: [],
      threshold: 'scan-errors: fail',
    });
    expect(v.message).toMatch(/^ghcr\.io\/acme\/private:1: the scan failed: unable to pull: UNAUTHORIZED; /);
    expect(v.message).not.toContain('more detail');
  });
});

describe('determinism: a merged report run and a single run agree', () => {
  const yaml = [
    'fail-on: medium',
    'max: { low: 1 }',
    'max-cvss: 7',
    'ignore:',
    '  - id: CVE-5',
    '  - id: CVE-9',
    'images:',
    '  - match: "ghcr.io/acme/legacy/*"',
    '    fail-on: critical',
  ].join('\n');
  const all = [
    image(NGINX, [
      vuln('CVE-3', 'c', 'LOW'),
      vuln('CVE-1', 'a', 'MEDIUM', { cvss: { score: 7.2, source: 'nvd', version: '3' } }),
      vuln('CVE-2', 'b', 'LOW'),
      vuln('CVE-5', 'e', 'CRITICAL'),
    ]),
    image(API, [
      vuln('CVE-4', 'd', 'HIGH'),
      vuln('CVE-1', 'a', 'MEDIUM', { pkgPath: 'x' }),
      vuln('CVE-1', 'a', 'MEDIUM', { pkgPath: 'y' }),
    ]),
    image(LEGACY, [vuln('CVE-6', 'f', 'HIGH'), vuln('CVE-7', 'g', 'LOW'), vuln('CVE-8', 'h', 'LOW')]),
    image('ghcr.io/acme/broken:1', [], { status: 'failed', error: 'timeout' }),
  ];

  function shuffled<T>(items: readonly T[], seed: number): T[] {
    const out = [...items];
    let s = seed;
    for (let i = out.length - 1; i > 0; i--) {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      const j = s % (i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }

  test('the same images and findings in any order give an identical verdict', () => {
    const single = evaluate(all, yaml);
    expect(single.violations.length).toBeGreaterThan(3); // the fixture exercises several rules
    for (const seed of [1, 2, 3, 42, 1234]) {
      const images = shuffled(all, seed).map((img) => ({
        ...img,
        findings: shuffled(img.findings, seed + 7),
      }));
      expect(evaluate(images, yaml)).toEqual(single);
    }
  });

  test('two shards evaluated after merging equal one run over everything', () => {
    const shardA = [all[2], all[0]];
    const shardB = [all[3], all[1]];
    expect(evaluate([...shardB, ...shardA], yaml)).toEqual(evaluate(all, yaml));
  });
});

// End to end, pure: the policy file text, the ignore file text and two clocks, one day apart.
describe('an ignore expires between two runs', () => {
  const policyText = [
    'fail-on: high',
    'ignore:',
    '  - id: CVE-2023-44487',
    '    packages: ["golang.org/x/net"]',
    '    images: ["ghcr.io/acme/api*"]',
    '    reason: HTTP/2 not exposed',
    '    expires: 2026-01-31',
  ].join('\n');
  const images = [
    image(API, [
      vuln('CVE-2023-44487', 'golang.org/x/net', 'HIGH', { class: 'lang-pkgs', target: 'app/server' }),
      vuln('CVE-2024-1', 'busybox', 'LOW'),
    ]),
  ];

  function run(now: string) {
    const file = parsePolicyFile(policyText, '.github/image-policy.yml');
    const trivyIgnores = parseTrivyIgnore('CVE-2024-1\n', '.trivyignore');
    const policy = effectivePolicy(file, { max: {}, gate: 'enforce' });
    return evaluatePolicy(images, policy, [...file.ignore, ...trivyIgnores], new Date(now));
  }

  test('the verdict flips from pass to fail and says why', () => {
    const before = run('2026-01-31T18:00:00Z');
    expect(before.result).toBe('pass');
    expect(before.ignored.map((i) => [i.findingId, i.rule])).toEqual([
      ['CVE-2023-44487', '.github/image-policy.yml:3'],
      ['CVE-2024-1', '.trivyignore:1'],
    ]);

    const after = run('2026-02-01T06:00:00Z');
    expect(after.result).toBe('fail');
    expect(after.ignored.map((i) => i.findingId)).toEqual(['CVE-2024-1']);
    expect(after.expiredIgnores).toEqual([
      {
        id: 'CVE-2023-44487',
        expires: '2026-01-31',
        source: '.github/image-policy.yml:3',
        reason: 'HTTP/2 not exposed',
      },
    ]);
    const [violation] = after.violations;
    expect(violation).toMatchObject({
      rule: 'fail-on',
      image: API,
      findings: ['CVE-2023-44487 (golang.org/x/net)'],
    });
    expect(violation.message).toContain(
      'No longer ignored: CVE-2023-44487 (golang.org/x/net) was ignored by .github/image-policy.yml:3 until 2026-01-31, which has passed',
    );
    expect(after.warnings[0].message).toContain('expired on 2026-01-31');
  });
});

describe('helpers for reporters', () => {
  test('imageVerdicts: per image, following the gate', () => {
    const images = [
      image(NGINX, [vuln('CVE-1', 'a', 'CRITICAL')]),
      image(API, []),
      image('ghcr.io/acme/broken:1', [], { status: 'failed', error: 'x' }),
    ];
    const perImage = (yaml?: string, inputs: Partial<GateInputs> = {}) =>
      imageVerdicts(evaluate(images, yaml, inputs), images).map((v) => v.result);
    expect(perImage()).toEqual(['fail', 'pass', 'fail']);
    expect(perImage('scan-errors: warn')).toEqual(['fail', 'pass', 'warn']);
    expect(perImage(undefined, { gate: 'warn' })).toEqual(['warn', 'pass', 'warn']);
    expect(perImage(undefined, { gate: 'off' })).toEqual(['fail', 'pass', 'fail']);
    expect(imageVerdicts(evaluate(images), images).map((v) => v.ref)).toEqual([
      NGINX,
      API,
      'ghcr.io/acme/broken:1',
    ]);
  });

  test('suppressionLookup finds the ignore that dropped a finding, per image', () => {
    const hit = vuln('CVE-1', 'openssl', 'HIGH');
    const verdict = evaluate(
      [image(API, [hit]), image(NGINX, [hit])],
      'ignore:\n  - id: CVE-1\n    images: [ghcr.io/**]\n    reason: r',
    );
    const lookup = suppressionLookup(verdict);
    expect(lookup(API, hit)).toMatchObject({ rule: 'policy.yml:2', reason: 'r' });
    expect(lookup(NGINX, hit)).toBeUndefined();
    expect(lookup(API, vuln('CVE-1', 'zlib', 'HIGH'))).toBeUndefined();
  });

  test('the verdict carries the effective policy for display', () => {
    const verdict = evaluate([], 'fail-on: low');
    expect(verdict.policy.rules.failOn).toBe('LOW');
    expect(verdict.result).toBe('pass');
  });
});

describe('per-image rules that applied to no image are listed, with the spelling that would match', () => {
  const images = [
    image(NGINX, [vuln('CVE-1', 'openssl', 'HIGH')], {
      target: { ...image(NGINX, []).target, input: NGINX },
    }),
    image(API, []),
  ];
  const rules = (yaml: string) => evaluate(images, yaml).imageRules;

  test('a rule that applies is counted; one that matches nothing says so', () => {
    expect(
      rules(
        'images:\n  - match: "ghcr.io/acme/*"\n    fail-on: high\n  - match: "quay.io/nothing/*"\n    fail-on: low\n',
      ),
    ).toEqual([
      { match: 'ghcr.io/acme/*', source: 'policy.yml:2', applied: 1 },
      {
        match: 'quay.io/nothing/*',
        source: 'policy.yml:4',
        applied: 0,
        note: 'matched no image in this run',
      },
    ]);
  });

  test.each([
    ['docker.io/nginx*', 'docker.io/library/nginx*'],
    ['index.docker.io/library/nginx*', 'docker.io/library/nginx*'],
    ['library/nginx:*', 'docker.io/library/nginx:*'],
  ])('%s matches nothing; the note names %s and how the image is reported', (pattern, suggestion) => {
    const [rule] = rules(`images:\n  - match: "${pattern}"\n    fail-on: high\n`);
    expect(rule.applied).toBe(0);
    expect(rule.note).toBe(`matched no image; images are named like ${NGINX}: "${suggestion}" would match`);
  });

  test('a rule that matches only by the short Docker Hub name applies, and says by which name', () => {
    const [rule] = rules('images:\n  - match: "nginx*"\n    fail-on: high\n');
    expect(rule.applied).toBe(1);
    expect(rule.note).toBe(`matches by the short name nginx:1.25; the image is reported as ${NGINX}`);
    // The full form is not a short-name match: no note.
    expect(rules('images:\n  - match: "docker.io/library/nginx*"\n')[0]).toEqual({
      match: 'docker.io/library/nginx*',
      source: 'policy.yml:2',
      applied: 1,
    });
  });

  test('a rule whose every image is taken by an earlier rule names that rule (first match wins)', () => {
    const [, second] = rules('images:\n  - match: "ghcr.io/**"\n  - match: "ghcr.io/acme/api*"\n');
    expect(second.applied).toBe(0);
    expect(second.note).toBe(
      `every image it matches (such as ${API}) takes the earlier rule "ghcr.io/**" at policy.yml:2 first (first match wins)`,
    );
  });
});
