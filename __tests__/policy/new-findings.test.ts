import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { compareResults, newFindingTest } from '../../src/findings/compare.js';
import type { GateInputs } from '../../src/config.js';
import type { Finding, ImageResult, Severity } from '../../src/model.js';
import { describePolicy, effectivePolicy, rulesFor } from '../../src/policy/effective-policy.js';
import { evaluatePolicy } from '../../src/policy/evaluate.js';
import { parsePolicyFile } from '../../src/policy/policy-file.js';

// The gate against a baseline: `new-findings-only` (input or policy file) and `max-new` (policy file, top level and
// per image). Without a baseline every finding counts: the full policy, never a silent pass.

const NOW = new Date('2026-06-01T00:00:00Z');

function image(ref: string, findings: Finding[]): ImageResult {
  const [, registry, repository, tag] = /^([^/]+)\/(.+):([^:]+)$/.exec(ref)!;
  return {
    target: { ref, input: ref, registry, repository, tag, origins: [], sources: ['listed'] },
    status: 'scanned',
    findings,
  };
}

function vuln(id: string, pkg: string, severity: Severity): Finding {
  return { id, pkg, severity, class: 'os-pkgs', target: 't', installed: '1', fixed: '2' };
}

const BASE = image('reg.test/app:1.0', [
  vuln('CVE-OLD', 'openssl', 'CRITICAL'),
  vuln('CVE-GONE', 'zlib', 'HIGH'),
]);
const HEAD = image('reg.test/app:1.1', [
  vuln('CVE-OLD', 'openssl', 'CRITICAL'),
  vuln('CVE-NEW', 'curl', 'HIGH'),
  vuln('CVE-NEW2', 'expat', 'MEDIUM'),
]);

function gate(yaml: string | undefined, inputs: Partial<GateInputs>, withBaseline: boolean) {
  const file = yaml === undefined ? undefined : parsePolicyFile(yaml, 'policy.yml');
  const policy = effectivePolicy(file, { max: {}, gate: 'enforce', ...inputs });
  const delta = withBaseline
    ? { baseline: { source: 'main', createdAt: '' }, images: compareResults([BASE], [HEAD]) }
    : { missing: 'first run', images: [] };
  const verdict = evaluatePolicy([HEAD], policy, [], NOW, newFindingTest(delta));
  return {
    result: verdict.result,
    rules: verdict.violations.map((v) => `${v.rule}: ${v.findings.join(', ')}`),
    verdict,
  };
}

describe('new-findings-only', () => {
  test.each<[string, string | undefined, Partial<GateInputs>, boolean, string[]]>([
    ['the old critical fails the full policy', undefined, {}, true, ['fail-on: CVE-OLD (openssl)']],
    ['input: only new findings count; none is critical', undefined, { newFindingsOnly: true }, true, []],
    [
      'input with fail-on high: the new high fails, the old critical does not',
      undefined,
      { newFindingsOnly: true, failOn: 'HIGH' },
      true,
      ['fail-on: CVE-NEW (curl)'],
    ],
    ['policy file key', 'new-findings-only: true', {}, true, []],
    [
      'the input beats the file',
      'new-findings-only: true',
      { newFindingsOnly: false },
      true,
      ['fail-on: CVE-OLD (openssl)'],
    ],
    [
      'without a baseline the full policy applies',
      'new-findings-only: true',
      {},
      false,
      ['fail-on: CVE-OLD (openssl)'],
    ],
  ])('%s', (_name, yaml, inputs, withBaseline, expected) => {
    expect(gate(yaml, inputs, withBaseline).rules).toEqual(expected);
  });

  test('the violation says the findings are new', () => {
    const { verdict } = gate('new-findings-only: true\nfail-on: high', {}, true);
    expect(verdict.violations[0].message).toBe(
      'reg.test/app:1.1: 1 new finding at or above HIGH (fail-on: high): CVE-NEW (curl)',
    );
  });
});

describe('max-new', () => {
  test.each<[string, string, boolean, string[]]>([
    [
      'one new high over max-new high 0',
      'fail-on: none\nmax-new: { high: 0 }',
      true,
      ['max-new-high: CVE-NEW (curl)'],
    ],
    ['within the limit', 'fail-on: none\nmax-new: { high: 1, critical: 0 }', true, []],
    [
      'without a baseline every finding counts as new',
      'fail-on: none\nmax-new: { critical: 0 }',
      false,
      ['max-new-critical: CVE-OLD (openssl)'],
    ],
    [
      'a per-image rule sets its own limit',
      'fail-on: none\nmax-new: { high: 0 }\nimages:\n  - match: "reg.test/app:*"\n    max-new: { high: 5, medium: 0 }',
      true,
      ['max-new-medium: CVE-NEW2 (expat)'],
    ],
  ])('%s', (_name, yaml, withBaseline, expected) => {
    expect(gate(yaml, {}, withBaseline).rules).toEqual(expected);
  });

  test('the message names the rule and, without a baseline, why every finding counts', () => {
    const { verdict } = gate('fail-on: none\nmax-new: { critical: 0 }', {}, false);
    expect(verdict.result).toBe('fail');
    expect(verdict.violations[0].message).toBe(
      'reg.test/app:1.1: 1 new CRITICAL finding, more than the 0 allowed (max-new: critical 0; there is no ' +
        'baseline, so every finding counts as new): CVE-OLD (openssl)',
    );
  });

  test('per-image max-new merges per severity over the top level', () => {
    const file = parsePolicyFile(
      'max-new: { critical: 0, high: 0 }\nimages:\n  - match: "x/*"\n    max-new: { high: 3 }',
      'policy.yml',
    );
    const p = effectivePolicy(file, { max: {}, gate: 'enforce' });
    expect(rulesFor(p, p.images[0]).maxNew).toEqual({ CRITICAL: 0, HIGH: 3 });
    expect(describePolicy(p)).toEqual(
      expect.arrayContaining([
        'max-new: critical 0 (policy file policy.yml), high 0 (policy file policy.yml)',
        'images matching "x/*" (policy.yml:3): max-new-high 3',
      ]),
    );
  });
});

describe('policy file: the new keys are validated like the others', () => {
  test.each<[string, RegExp]>([
    ['max-new: { severe: 1 }', /policy\.yml:1:\d+.*max-new/],
    ['max-new: { high: -1 }', /policy\.yml:1:\d+.*max-new\.high.*whole number ≥ 0/],
    ['new-findings-only: maybe', /policy\.yml:1:\d+.*new-findings-only.*true or false/],
    ['images:\n  - match: a\n    max-new: 3', /policy\.yml:3:\d+.*images\[0\]\.max-new/],
  ])('%s', (text, message) => {
    let error: unknown;
    try {
      parsePolicyFile(text, 'policy.yml');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).message).toMatch(message);
    expect((error as ConfigurationError).input).toBe('policy');
  });
});
