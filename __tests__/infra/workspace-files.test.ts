import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import {
  isInsideDir,
  locateRepositoryFile,
  MAX_REPOSITORY_FILE_BYTES,
  readRegularFile,
  readRepositoryFile,
} from '../../src/infra/workspace-files.js';

// The one home of "repository files are untrusted": every path is resolved, symlinks and all, against the
// workspace before a byte is read, and what is read is a bounded regular file.

const SECRET = 'OUTSIDE-SECRET-CONTENT-41c9';
let outside: string;
let workspace: string;

beforeAll(async () => {
  const base = await mkdtemp(path.join(os.tmpdir(), 'isg-confine-'));
  outside = path.join(base, 'outside');
  workspace = path.join(base, 'workspace');
  await mkdir(outside);
  await mkdir(path.join(workspace, 'config'), { recursive: true });
  await writeFile(path.join(outside, 'secret.yml'), `${SECRET}\n`);
  await writeFile(path.join(workspace, 'config', 'policy.yml'), 'fail-on: high\n');
  await symlink('config/policy.yml', path.join(workspace, 'inside-link.yml'));
  await symlink(path.join(outside, 'secret.yml'), path.join(workspace, 'outside-link.yml'));
  await symlink('../outside/secret.yml', path.join(workspace, 'relative-outside-link.yml'));
  await symlink(outside, path.join(workspace, 'linked-dir'));
  await symlink('/proc/self/environ', path.join(workspace, '.trivyignore'));
  await symlink('does-not-exist.yml', path.join(workspace, 'dangling.yml'));
  await symlink('loop-b', path.join(workspace, 'loop-a'));
  await symlink('loop-a', path.join(workspace, 'loop-b'));
  execFileSync('mkfifo', [path.join(workspace, 'pipe.yml')]);
  await writeFile(path.join(workspace, 'huge.yml'), Buffer.alloc(MAX_REPOSITORY_FILE_BYTES + 1, 'a'));
});

async function refusal(file: string): Promise<ConfigurationError> {
  let e: unknown;
  try {
    const found = await locateRepositoryFile(workspace, file, 'policy');
    if (found) await readRepositoryFile(found, 'policy');
  } catch (err) {
    e = err;
  }
  if (!(e instanceof ConfigurationError)) throw new Error(`expected a refusal of ${file}, got ${String(e)}`);
  expect(e.input).toBe('policy');
  expect(e.message).toContain('`policy`');
  expect(e.message).toContain(JSON.stringify(file));
  expect(e.message).not.toContain(SECRET);
  return e;
}

describe('locateRepositoryFile + readRepositoryFile', () => {
  test('a file in the workspace is read', async () => {
    const found = await locateRepositoryFile(workspace, 'config/policy.yml', 'policy');
    expect(found).toMatchObject({ shown: 'config/policy.yml', size: 14 });
    expect(await readRepositoryFile(found!, 'policy')).toBe('fail-on: high\n');
  });

  test('an absolute path inside the workspace is read', async () => {
    const found = await locateRepositoryFile(workspace, path.join(workspace, 'config/policy.yml'), 'policy');
    expect(await readRepositoryFile(found!, 'policy')).toBe('fail-on: high\n');
  });

  test('a symlink that stays inside the workspace is followed', async () => {
    const found = await locateRepositoryFile(workspace, 'inside-link.yml', 'policy');
    expect(found?.real).toBe(path.join(await realWorkspace(), 'config', 'policy.yml'));
    expect(await readRepositoryFile(found!, 'policy')).toBe('fail-on: high\n');
  });

  test('nothing there: undefined, so the caller decides whether that is an error', async () => {
    expect(await locateRepositoryFile(workspace, 'absent.yml', 'policy')).toBeUndefined();
    expect(await locateRepositoryFile(workspace, 'config/policy.yml/x', 'policy')).toBeUndefined();
  });

  test.each([
    ['a symlink to a file outside', 'outside-link.yml', /resolves outside the workspace/],
    ['a relative symlink climbing out', 'relative-outside-link.yml', /resolves outside the workspace/],
    ['a symlinked directory on the way', 'linked-dir/secret.yml', /resolves outside the workspace/],
    ['a symlink to /proc/self/environ', '.trivyignore', /resolves outside the workspace/],
    ['..', '../outside/secret.yml', /is outside the workspace/],
    ['.. after a directory', 'config/../../outside/secret.yml', /is outside the workspace/],
    ['an absolute path outside', '/etc/passwd', /is outside the workspace/],
    ['a dangling symlink', 'dangling.yml', /symlink whose target does not exist/],
    ['a symlink loop', 'loop-a', /symlink whose target does not exist/],
    ['a directory', 'config', /is a directory/],
    ['a FIFO (reading it would block forever)', 'pipe.yml', /not a regular file/],
    ['a file over the size bound', 'huge.yml', /larger than 5 MiB/],
  ])('%s is refused naming the input and the path, never read', async (_name, file, why) => {
    const e = await refusal(file);
    expect(e.message).toMatch(why);
    expect(e.message).not.toContain('root:');
  });
});

describe('readRegularFile', () => {
  test('the bound holds while reading, not only by the reported size (procfs reports 0)', async () => {
    const e = await readRegularFile('/proc/self/environ', {
      input: 'reports',
      shown: 'environ',
      maxBytes: 8,
      followSymlink: true,
    }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ConfigurationError);
    expect((e as Error).message).toMatch(/`reports`: "environ" is larger than 8 bytes/);
  });

  test('a final symlink is refused when not to be followed', async () => {
    const shown = 'inside-link.yml';
    const opts = { input: 'policy', shown, followSymlink: false };
    await expect(readRegularFile(path.join(workspace, shown), opts)).rejects.toThrow(
      /"inside-link.yml" is a symlink; it is not followed/,
    );
  });

  test('a FIFO is refused at once, with no size bound asked', async () => {
    const opts = { input: 'reports', shown: 'pipe.yml', followSymlink: true };
    await expect(readRegularFile(path.join(workspace, 'pipe.yml'), opts)).rejects.toThrow(
      /not a regular file/,
    );
  });

  test('unbounded reads return the whole file', async () => {
    const opts = { input: 'reports', shown: 'huge.yml', followSymlink: true };
    expect((await readRegularFile(path.join(workspace, 'huge.yml'), opts)).length).toBe(
      MAX_REPOSITORY_FILE_BYTES + 1,
    );
  });
});

test.each([
  ['/w', '/w', true],
  ['/w', '/w/a/b', true],
  ['/w', '/w/..a', true],
  ['/w', '/w2/a', false],
  ['/w', '/', false],
  ['/w', '/w/../x', false],
])('isInsideDir(%s, %s) is %s', (dir, file, inside) => {
  expect(isInsideDir(dir, path.normalize(file))).toBe(inside);
});

async function realWorkspace(): Promise<string> {
  const { realpath } = await import('node:fs/promises');
  return realpath(workspace);
}
