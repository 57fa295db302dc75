import { describe, expect, test } from 'vitest';
import type { GateInputs } from '../../src/config.js';
import { describePolicy, effectivePolicy, rulesFor } from '../../src/policy/effective-policy.js';
import { parsePolicyFile } from '../../src/policy/policy-file.js';

const noInputs: GateInputs = { max: {}, gate: 'enforce' };
const file = parsePolicyFile(
  [
    'fail-on: high',
    'max: { critical: 0, high: 10 }',
    'max-cvss: 9.0',
    'ignore-unfixed: true',
    'expired-ignores: fail',
    'images:',
    '  - match: "ghcr.io/acme/legacy/*"',
    '    fail-on: critical',
    '    max: { high: 50 }',
    '    max-cvss: 10',
  ].join('\n'),
  'policy.yml',
);

describe('effectivePolicy: input > per-image rule > policy file > default', () => {
  test('defaults: fail-on CRITICAL and nothing else', () => {
    const p = effectivePolicy(undefined, noInputs);
    expect(p.rules).toEqual({
      failOn: 'CRITICAL',
      max: {},
      maxCvss: undefined,
      ignoreUnfixed: false,
      maxNew: {},
    });
    expect(p.newFindingsOnly).toBe(false);
    expect(p).toMatchObject({ gate: 'enforce', expiredIgnores: 'warn', scanErrors: 'fail', images: [] });
    expect(p.sources).toEqual({
      failOn: 'default',
      max: {},
      maxCvss: 'default',
      ignoreUnfixed: 'default',
      newFindingsOnly: 'default',
      expiredIgnores: 'default',
      scanErrors: 'default',
    });
  });

  test('the file overrides the defaults', () => {
    const p = effectivePolicy(file, noInputs);
    expect(p.rules).toEqual({
      failOn: 'HIGH',
      max: { CRITICAL: 0, HIGH: 10 },
      maxCvss: 9,
      ignoreUnfixed: true,
      maxNew: {},
    });
    expect(p.sources).toMatchObject({
      failOn: 'policy file',
      max: { CRITICAL: 'policy file', HIGH: 'policy file' },
    });
    expect(p.expiredIgnores).toBe('fail');
  });

  test.each<[string, Partial<GateInputs>, object, object]>([
    ['fail-on input', { failOn: 'MEDIUM' }, { failOn: 'MEDIUM' }, { failOn: 'input' }],
    ['fail-on none input', { failOn: 'NONE' }, { failOn: 'NONE' }, { failOn: 'input' }],
    [
      'max-high input, critical from file',
      { max: { HIGH: 3 } },
      { max: { CRITICAL: 0, HIGH: 3 } },
      { max: { CRITICAL: 'policy file', HIGH: 'input' } },
    ],
    [
      'max-low input adds a severity',
      { max: { LOW: 100 } },
      { max: { CRITICAL: 0, HIGH: 10, LOW: 100 } },
      { max: { LOW: 'input' } },
    ],
    ['max-cvss input', { maxCvss: 7 }, { maxCvss: 7 }, { maxCvss: 'input' }],
    [
      'ignore-unfixed false input beats true in the file',
      { ignoreUnfixed: false },
      { ignoreUnfixed: false },
      { ignoreUnfixed: 'input' },
    ],
  ])('%s overrides the file', (_name, inputs, rules, sources) => {
    const p = effectivePolicy(file, { ...noInputs, ...inputs, max: inputs.max ?? {} });
    expect(p.rules).toMatchObject(rules);
    expect(p.sources).toMatchObject(sources);
  });

  test('a per-image rule overrides the file, per severity for max', () => {
    const p = effectivePolicy(file, noInputs);
    expect(rulesFor(p, p.images[0])).toEqual({
      failOn: 'CRITICAL',
      max: { CRITICAL: 0, HIGH: 50 },
      maxCvss: 10,
      ignoreUnfixed: true,
      maxNew: {},
    });
    expect(rulesFor(p, undefined)).toBe(p.rules);
  });

  test('an explicit input also beats a per-image rule (a file cannot weaken what the workflow asks for)', () => {
    const p = effectivePolicy(file, { ...noInputs, failOn: 'HIGH', max: { HIGH: 5 } });
    expect(rulesFor(p, p.images[0])).toEqual({
      failOn: 'HIGH',
      max: { CRITICAL: 0, HIGH: 5 },
      maxCvss: 10,
      ignoreUnfixed: true,
      maxNew: {},
    });
  });
});

describe('describePolicy', () => {
  test('names each setting with its origin and flags per-image settings shadowed by inputs', () => {
    const p = effectivePolicy(file, { failOn: 'HIGH', max: { HIGH: 5 }, gate: 'warn' });
    expect(describePolicy(p)).toEqual([
      'fail-on: high (input)',
      'max: critical 0 (policy file policy.yml), high 5 (input)',
      'max-cvss: 9.0 (policy file policy.yml)',
      'ignore-unfixed: true (policy file policy.yml)',
      'expired-ignores: fail (policy file policy.yml)',
      'scan-errors: fail (default)',
      'gate: warn',
      'images matching "ghcr.io/acme/legacy/*" (policy.yml:7): max-cvss 10.0; overridden by inputs: fail-on critical, max-high 50',
    ]);
  });

  test('with no file and no inputs', () => {
    expect(describePolicy(effectivePolicy(undefined, noInputs))).toEqual([
      'fail-on: critical (default)',
      'max: none',
      'max-cvss: none (default)',
      'ignore-unfixed: false (default)',
      'expired-ignores: warn (default)',
      'scan-errors: fail (default)',
      'gate: enforce',
    ]);
  });
});
