import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
// The library's own tar runner (not exported by the package): the test drives the very code that starts `tar`.
import { createTar } from '../../node_modules/@actions/cache/lib/internal/tar.js';
import { narrowedActionsCache, withNarrowedEnvironment } from '../../src/infra/library-env.js';

// @actions/cache starts tar with a copy of process.env. Around its calls process.env is narrowed to the child
// allow-list plus what the cache library needs, so a job's AWS keys never reach tar or zstd.

const MARK = 'AKIA-MARKER-library-env';
const saved = { ...process.env };

beforeEach(() => {
  process.env.AWS_SECRET_ACCESS_KEY = MARK;
  process.env.INPUT_REGISTRY_PASSWORD = MARK;
  process.env.ACTIONS_RUNTIME_TOKEN = 'runtime-token';
});

afterEach(() => {
  for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
  Object.assign(process.env, saved);
});

/** A `tar` first on PATH that writes the environment it was given, as @actions/cache's createTar starts it. */
async function envSeenByLibraryTar(narrow: boolean): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'isg-libenv-'));
  const bin = path.join(dir, 'bin');
  mkdirSync(bin);
  const out = path.join(dir, 'env.txt');
  writeFileSync(path.join(bin, 'tar'), `#!/bin/sh\nenv > "${out}"\n`);
  chmodSync(path.join(bin, 'tar'), 0o755);
  const folder = path.join(dir, 'folder');
  mkdirSync(folder);
  process.env.PATH = `${bin}:${saved.PATH ?? '/usr/bin:/bin'}`;
  process.env.GITHUB_WORKSPACE = dir;
  const create = () => createTar(folder, ['x'], 'gzip' as Parameters<typeof createTar>[2]);
  await (narrow ? withNarrowedEnvironment(create) : create());
  return readFileSync(out, 'utf8');
}

describe('the tar @actions/cache starts', () => {
  test('without narrowing it would get the job’s secrets (what this guards against)', async () => {
    expect(await envSeenByLibraryTar(false)).toContain(MARK);
  });

  test('narrowed: no AWS key, no INPUT_*, but PATH and what the cache service needs; restored after', async () => {
    const env = await envSeenByLibraryTar(true);
    expect(env).not.toContain(MARK);
    expect(env).toContain('ACTIONS_RUNTIME_TOKEN=runtime-token');
    expect(env).toMatch(/^PATH=/m);
    expect(process.env.AWS_SECRET_ACCESS_KEY).toBe(MARK);
    expect(process.env.INPUT_REGISTRY_PASSWORD).toBe(MARK);
  });
});

describe('withNarrowedEnvironment', () => {
  test('overlapping calls share one narrowing; the last one restores; a throw restores too', async () => {
    let releaseFirst!: () => void;
    const first = withNarrowedEnvironment(() => new Promise<void>((r) => (releaseFirst = r)));
    const second = withNarrowedEnvironment(() => Promise.resolve(process.env.AWS_SECRET_ACCESS_KEY));
    expect(await second).toBeUndefined();
    expect(process.env.AWS_SECRET_ACCESS_KEY).toBeUndefined(); // the first is still running
    releaseFirst();
    await first;
    expect(process.env.AWS_SECRET_ACCESS_KEY).toBe(MARK);

    await expect(withNarrowedEnvironment(() => Promise.reject(new Error('cache down')))).rejects.toThrow();
    expect(process.env.AWS_SECRET_ACCESS_KEY).toBe(MARK);
  });

  test('narrowedActionsCache makes every restore and save inside the narrowing', async () => {
    const seen: (string | undefined)[] = [];
    const cache = narrowedActionsCache({
      isFeatureAvailable: () => true,
      restoreCache: () => {
        seen.push(process.env.AWS_SECRET_ACCESS_KEY);
        return Promise.resolve(undefined);
      },
      saveCache: () => Promise.resolve(seen.push(process.env.AWS_SECRET_ACCESS_KEY)),
    });
    await cache.restoreCache(['/x'], 'k', []);
    await cache.saveCache(['/x'], 'k');
    expect(seen).toEqual([undefined, undefined]);
    expect(process.env.AWS_SECRET_ACCESS_KEY).toBe(MARK);
  });
});
