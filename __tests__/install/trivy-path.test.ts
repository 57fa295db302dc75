import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { checkTrivyPath } from '../../src/install/trivy-path.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'trivy-path-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const executable = path.join(dir, 'trivy');
writeFileSync(executable, '#!/bin/sh\n');
chmodSync(executable, 0o755);
const notExecutable = path.join(dir, 'trivy-no-x');
writeFileSync(notExecutable, '#!/bin/sh\n');
chmodSync(notExecutable, 0o644);
mkdirSync(path.join(dir, 'a-dir'));

async function refusal(p: string, env: NodeJS.ProcessEnv = {}): Promise<ConfigurationError> {
  const e = await checkTrivyPath(p, env).catch((err: unknown) => err);
  expect(e).toBeInstanceOf(ConfigurationError);
  expect((e as ConfigurationError).input).toBe('trivy-path');
  return e as ConfigurationError;
}

describe('checkTrivyPath (before any work)', () => {
  test('unset or an executable file: fine', async () => {
    await expect(checkTrivyPath(undefined, {})).resolves.toBeUndefined();
    await expect(checkTrivyPath(executable, {})).resolves.toBeUndefined();
    await expect(
      checkTrivyPath('trivy', { PATH: `/nonexistent${path.delimiter}${dir}` }),
    ).resolves.toBeUndefined();
  });
  test.each([
    ['/nonexistent/trivy', /does not exist/],
    [notExecutable, /is not executable/],
    [path.join(dir, 'a-dir'), /is not a file/],
  ])('%s is refused naming trivy-path', async (p, why) => {
    expect((await refusal(p)).message).toMatch(why);
  });
  test('a bare name not on PATH is refused', async () => {
    expect((await refusal('trivy-nowhere', { PATH: dir })).message).toMatch(/not an executable on PATH/);
  });
});
