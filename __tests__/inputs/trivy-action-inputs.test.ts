import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { ConfigurationError } from '../../src/errors.js';
import { parseInputs } from '../../src/inputs.js';
import { checkTrivyActionInputs, TRIVY_ACTION_ONLY_INPUTS } from '../../src/inputs/trivy-action-inputs.js';
import { projectRoot } from '../../test-support/paths.js';

function refusal(inputs: Record<string, string>): ConfigurationError {
  try {
    checkTrivyActionInputs((n) => inputs[n] ?? '');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigurationError);
    return e as ConfigurationError;
  }
  throw new Error('expected a ConfigurationError');
}

describe('trivy-action input names', () => {
  test("exit-code with trivy-action's severity is fail-on here, said in one sentence", () => {
    const e = refusal({ 'exit-code': '1', severity: 'HIGH,CRITICAL' });
    expect(e.input).toBe('exit-code');
    expect(e.message).toContain('`exit-code: 1` with `severity: HIGH,CRITICAL` is `fail-on: high` here');
  });

  test("exit-code with this action's default severity (every one) is fail-on: unknown", () => {
    const e = refusal({ 'exit-code': '1', severity: 'UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL' });
    expect(e.message).toContain('`exit-code: 1` is `fail-on: unknown` here');
    expect(refusal({ 'exit-code': '0' }).message).toContain('`gate: warn`');
  });

  test.each([
    ['image-ref', 'ghcr.io/acme/api:1.2', '`images: ghcr.io/acme/api:1.2`'],
    ['vuln-type', 'os', '`pkg-types: os`'],
    ['trivyignores', '.trivyignore,.trivyignore.extra', '`ignore-file: .trivyignore,.trivyignore.extra`'],
    ['version', 'v0.74.0', '`trivy-version: 0.74.0`'],
    ['cache', 'false', '`cache-db: false`'],
    ['format', 'sarif', 'results.sarif is written'],
    ['output', 'trivy-results.sarif', '`output-dir`'],
    ['hide-progress', 'true', 'remove it'],
    ['limit-severities-for-sarif', 'true', '`severity` already limits SARIF'],
    ['scan-type', 'fs', 'container images only'],
    ['skip-setup-trivy', 'true', '`trivy-path: trivy`'],
    ['docker-host', 'unix:///var/run/docker.sock', '`image-source: docker`'],
    ['github-pat', 'ghp_x', '`dependency-graph: true`'],
  ])('%s: %s -> %s', (name, value, advice) => {
    const e = refusal({ [name]: value });
    expect(e.input).toBe(name);
    expect(e.message).toContain(advice);
  });

  test('every trivy-action input given is listed in one message, in a fixed order', () => {
    const e = refusal({ 'image-ref': 'alpine:3.19', format: 'sarif', output: 'x.sarif', 'exit-code': '1' });
    const lines = e.message.split('\n').filter((l) => l.startsWith('- '));
    expect(lines.map((l) => /^- `([a-z-]+)/.exec(l)?.[1])).toEqual([
      'image-ref',
      'exit-code',
      'format',
      'output',
    ]);
    expect(e.message).toContain('Moving from trivy-action');
  });

  test('tokens are named, never quoted', () => {
    const e = refusal({ 'github-pat': 'ghp_SECRETVALUE', 'token-setup-trivy': 'ghs_OTHER' });
    expect(e.message).not.toContain('ghp_SECRETVALUE');
    expect(e.message).not.toContain('ghs_OTHER');
    expect(e.message).toContain('- `github-pat`: ');
  });

  test('none given: nothing to say', () => {
    expect(() => checkTrivyActionInputs(() => '')).not.toThrow();
  });

  test('parseInputs checks them first, before its own inputs', () => {
    // `images` is missing too, but the trivy-action name is what the user has to fix first.
    expect(() =>
      parseInputs(
        (n) => ({ 'image-ref': 'alpine:3.19' })[n] ?? '',
        {},
        {
          parseRegistryAuth: () => [],
          maskSecret: () => undefined,
        },
      ),
    ).toThrow(/`image-ref: alpine:3.19`: write `images: alpine:3.19`/);
  });

  test("none of them is an input of this action (the runner would set it from action.yml's default)", () => {
    const action = parse(fs.readFileSync(path.join(projectRoot, 'action.yml'), 'utf8')) as {
      inputs: Record<string, unknown>;
    };
    const ours = Object.keys(action.inputs);
    expect(TRIVY_ACTION_ONLY_INPUTS.filter((n) => ours.includes(n))).toEqual([]);
    // trivy-action's 29 inputs: the ones it shares with this action plus the ones above.
    const shared = [
      'ignore-unfixed',
      'severity',
      'skip-dirs',
      'skip-files',
      'timeout',
      'ignore-policy',
      'scanners',
      'trivy-config',
    ];
    for (const name of shared) expect(ours).toContain(name);
    expect(TRIVY_ACTION_ONLY_INPUTS.length + shared.length).toBe(29);
  });
});
