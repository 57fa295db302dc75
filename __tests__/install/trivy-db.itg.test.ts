import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { TrivyConfig } from '../../src/config.js';
import { fixedClock } from '../../src/infra/clock.js';
import { runProcess } from '../../src/infra/exec.js';
import { MemoryLogger } from '../../src/infra/logger.js';
import {
  actionsDbCache,
  prepareTrivyDatabases,
  readTrivyVersion,
  type DbCache,
} from '../../src/install/trivy-db.js';
import { readStandinLog, standinPath } from '../standin/standin-helpers.js';

// The DB step against the real stand-in process; the Actions cache replaced by a directory-backed fake with the
// same contract (exact key, then restore-key prefixes, newest first).

const root = mkdtempSync(path.join(os.tmpdir(), 'trivy-db-itg-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

class DirectoryCache implements DbCache {
  readonly calls: string[] = [];
  private readonly entries: { key: string; dir: string; paths: string[] }[] = [];
  private readonly store = mkdtempSync(path.join(root, 'cache-store-'));
  restore(paths: string[], key: string, restoreKeys: string[]): Promise<string | undefined> {
    this.calls.push(`restore ${key}`);
    const same = (e: { paths: string[] }) => JSON.stringify(e.paths) === JSON.stringify(paths);
    const hit =
      this.entries.find((e) => e.key === key && same(e)) ??
      [...this.entries].reverse().find((e) => same(e) && restoreKeys.some((k) => e.key.startsWith(k)));
    if (!hit) return Promise.resolve(undefined);
    for (const p of paths) cpSync(path.join(hit.dir, path.basename(p)), p, { recursive: true });
    return Promise.resolve(hit.key);
  }
  save(paths: string[], key: string): Promise<void> {
    this.calls.push(`save ${key}`);
    const dir = path.join(this.store, String(this.entries.length));
    for (const p of paths) cpSync(p, path.join(dir, path.basename(p)), { recursive: true });
    this.entries.push({ key, dir, paths });
    return Promise.resolve();
  }
}

const trivy = (over: Partial<TrivyConfig> = {}): TrivyConfig => ({
  version: '0.74.0',
  downloadUrl: 'http://unused',
  dbRepositories: ['mirror.example/trivy-db:2', 'ghcr.example/trivy-db:2'],
  javaDbRepositories: [],
  cacheDb: true,
  scanners: ['vuln'],
  pkgTypes: ['os'],
  timeoutMs: 600_000,
  parallel: 4,
  skipFiles: [],
  skipDirs: [],
  vulnSeveritySource: [],
  ...over,
});

function setup(name: string) {
  const dir = mkdtempSync(path.join(root, `${name}-`));
  const log = path.join(dir, 'standin.log');
  // Added to the allow-listed environment every child gets (PATH, HOME, ... from this process).
  const env = { STANDIN_LOG: log, HOME: dir };
  const cwd = mkdtempSync(path.join(dir, 'cwd-'));
  const isolation = {
    cwd,
    configFile: path.join(cwd, 'trivy.yaml'),
    ignoreFile: path.join(cwd, '.trivyignore'),
  };
  writeFileSync(isolation.configFile, '');
  writeFileSync(isolation.ignoreFile, '');
  return { dir, log, env, isolation, cacheDir: path.join(dir, 'cache') };
}

describe('prepareTrivyDatabases', () => {
  test('downloads once with --db-repository, saves; the next run in the same window restores and downloads nothing', async () => {
    const cache = new DirectoryCache();
    const clock = fixedClock(new Date().toISOString());
    const a = setup('first');
    const first = await prepareTrivyDatabases({
      trivyPath: standinPath,
      cacheDir: a.cacheDir,
      trivy: trivy(),
      needJavaDb: false,
      runProcess,
      logger: new MemoryLogger(),
      cache,
      clock,
      env: a.env,
      isolation: a.isolation,
    });
    const lines = readStandinLog(a.log);
    expect(lines).toHaveLength(1);
    expect(lines[0].argv).toEqual(
      expect.arrayContaining([
        '--download-db-only',
        '--db-repository',
        'mirror.example/trivy-db:2,ghcr.example/trivy-db:2',
      ]),
    );
    expect(lines[0].argv).not.toContain('--download-java-db-only');
    const meta = JSON.parse(readFileSync(path.join(a.cacheDir, 'db', 'metadata.json'), 'utf8'));
    expect(first).toEqual({
      cacheDir: a.cacheDir,
      dbUpdatedAt: meta.UpdatedAt,
      nextUpdate: meta.NextUpdate,
      restoredFromCache: false,
    });
    expect(cache.calls).toHaveLength(2);
    expect(cache.calls[1]).toBe(cache.calls[0].replace('restore', 'save'));

    // A new runner: same RUNNER_TEMP path (the cache version hashes the paths), empty disk.
    rmSync(a.cacheDir, { recursive: true, force: true });
    const b = setup('second');
    const second = await prepareTrivyDatabases({
      trivyPath: standinPath,
      cacheDir: a.cacheDir,
      trivy: trivy(),
      needJavaDb: false,
      runProcess,
      logger: new MemoryLogger(),
      cache,
      clock,
      env: b.env,
      isolation: b.isolation,
    });
    expect(readStandinLog(b.log)).toEqual([]); // Trivy not even started
    expect(second).toMatchObject({ restoredFromCache: true, dbUpdatedAt: meta.UpdatedAt });
    expect(cache.calls.slice(2)).toEqual([cache.calls[0]]); // restored, not saved again
  });

  test('a DB past its NextUpdate is downloaded again and saved under the new window key', async () => {
    const cache = new DirectoryCache();
    const a = setup('stale-a');
    const opts = { trivyPath: standinPath, trivy: trivy(), needJavaDb: false, runProcess, cache };
    await prepareTrivyDatabases({
      ...opts,
      cacheDir: a.cacheDir,
      logger: new MemoryLogger(),
      env: a.env,
      isolation: a.isolation,
      clock: fixedClock(new Date().toISOString()),
    });
    const later = fixedClock(new Date(Date.now() + 7 * 3_600_000).toISOString());
    rmSync(a.cacheDir, { recursive: true, force: true });
    const b = setup('stale-b');
    const result = await prepareTrivyDatabases({
      ...opts,
      cacheDir: a.cacheDir,
      logger: new MemoryLogger(),
      env: b.env,
      isolation: b.isolation,
      clock: later,
    });
    expect(readStandinLog(b.log)).toHaveLength(1);
    expect(result.restoredFromCache).toBe(false);
    const saves = cache.calls.filter((c) => c.startsWith('save'));
    expect(saves).toHaveLength(2);
    expect(saves[0]).not.toBe(saves[1]);
  });

  test('needJavaDb also downloads the Java DB, with --java-db-repository', async () => {
    const s = setup('java');
    await prepareTrivyDatabases({
      trivyPath: standinPath,
      cacheDir: s.cacheDir,
      trivy: trivy({ javaDbRepositories: ['mirror.example/trivy-java-db:1'] }),
      needJavaDb: true,
      runProcess,
      logger: new MemoryLogger(),
      env: s.env,
      isolation: s.isolation,
    });
    const argvs = readStandinLog(s.log).map((l) => l.argv);
    expect(argvs).toHaveLength(2);
    expect(argvs[1]).toEqual(
      expect.arrayContaining([
        '--download-java-db-only',
        '--java-db-repository',
        'mirror.example/trivy-java-db:1',
      ]),
    );
    expect(existsSync(path.join(s.cacheDir, 'java-db', 'metadata.json'))).toBe(true);
  });

  test('cache-db false: the cache is never touched; no repositories given: Trivy defaults (no flag)', async () => {
    const cache = new DirectoryCache();
    const s = setup('nocache');
    await prepareTrivyDatabases({
      trivyPath: standinPath,
      cacheDir: s.cacheDir,
      trivy: trivy({ cacheDb: false, dbRepositories: [] }),
      needJavaDb: false,
      runProcess,
      logger: new MemoryLogger(),
      cache,
      env: s.env,
      isolation: s.isolation,
    });
    expect(cache.calls).toEqual([]);
    expect(readStandinLog(s.log)[0].argv).not.toContain('--db-repository');
  });

  test('a failed download is an error carrying Trivy’s words and the db-repository hint', async () => {
    const s = setup('denied');
    const err = await prepareTrivyDatabases({
      trivyPath: standinPath,
      cacheDir: s.cacheDir,
      trivy: trivy(),
      needJavaDb: false,
      runProcess,
      logger: new MemoryLogger(),
      env: { ...s.env, STANDIN_DB_DENY: 'mirror.example/trivy-db:2,ghcr.example/trivy-db:2' },
      isolation: s.isolation,
    }).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('failed to download artifact from any source');
    expect((err as Error).message).toContain('`db-repository`');
  });
});

describe('actionsDbCache without a cache service', () => {
  test('one notice, then carries on', async () => {
    const saved = { a: process.env.ACTIONS_CACHE_URL, b: process.env.ACTIONS_RESULTS_URL };
    delete process.env.ACTIONS_CACHE_URL;
    delete process.env.ACTIONS_RESULTS_URL;
    try {
      const logger = new MemoryLogger();
      const c = actionsDbCache(logger);
      const dir = path.join(root, 'x');
      mkdirSync(dir, { recursive: true });
      expect(await c.restore([dir], 'k', ['k'])).toBeUndefined();
      await c.save([dir], 'k');
      expect(logger.messages('notice')).toHaveLength(1);
      expect(logger.messages('notice')[0]).toContain('Actions cache is unavailable');
    } finally {
      if (saved.a !== undefined) process.env.ACTIONS_CACHE_URL = saved.a;
      if (saved.b !== undefined) process.env.ACTIONS_RESULTS_URL = saved.b;
    }
  });
});

describe('readTrivyVersion', () => {
  test('version, and the DB build time once a DB is there', async () => {
    const s = setup('version');
    expect(await readTrivyVersion(standinPath, runProcess, s.cacheDir, s.isolation)).toEqual({
      version: '0.74.0',
    });
    await prepareTrivyDatabases({
      trivyPath: standinPath,
      cacheDir: s.cacheDir,
      trivy: trivy(),
      needJavaDb: false,
      runProcess,
      logger: new MemoryLogger(),
      env: s.env,
      isolation: s.isolation,
    });
    const meta = JSON.parse(readFileSync(path.join(s.cacheDir, 'db', 'metadata.json'), 'utf8'));
    expect(await readTrivyVersion(standinPath, runProcess, s.cacheDir, s.isolation)).toEqual({
      version: '0.74.0',
      dbUpdatedAt: meta.UpdatedAt,
    });
  });
});
