import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { loadGatePolicy } from '../../src/policy/load-policy.js';

async function workspace(files: Record<string, string>): Promise<string> {
  const ws = await mkdtemp(path.join(os.tmpdir(), 'gate-'));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(ws, name), text);
  return ws;
}

test('policy file + default ignore file + inputs, in that precedence', async () => {
  const ws = await workspace({
    'policy.yml': 'fail-on: low\nmax-cvss: 9\nignore:\n  - id: CVE-1\n',
    '.trivyignore': 'CVE-2\n',
  });
  const { policy, ignores } = await loadGatePolicy({
    policyFile: 'policy.yml',
    ignoreFiles: [],
    workspace: ws,
    gate: { failOn: 'HIGH', max: {}, gate: 'warn' },
  });
  expect(policy.rules).toMatchObject({ failOn: 'HIGH', maxCvss: 9 });
  expect(policy.gate).toBe('warn');
  expect(ignores.map((r) => r.source)).toEqual(['policy.yml:4', '.trivyignore:1']);
});

test('no policy file: inputs and defaults only', async () => {
  const { policy, ignores } = await loadGatePolicy({
    workspace: await workspace({}),
    ignoreFiles: [],
    gate: { max: {}, gate: 'enforce' },
  });
  expect(policy.rules.failOn).toBe('CRITICAL');
  expect(policy.file).toBeUndefined();
  expect(ignores).toEqual([]);
});

test('a malformed policy file stops everything with a ConfigurationError', async () => {
  const ws = await workspace({ 'policy.yml': 'fail-on: hihg\n' });
  const err = await loadGatePolicy({
    policyFile: 'policy.yml',
    ignoreFiles: [],
    workspace: ws,
    gate: { max: {}, gate: 'enforce' },
  }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ConfigurationError);
  expect((err as Error).message).toMatch(/^policy\.yml:1:10: fail-on: "hihg"/);
});
