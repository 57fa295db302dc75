import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { readStandinLog, runStandin } from './standin-helpers.js';

// The stand-in must refuse what Trivy refuses and keep Trivy's DB rules, or tests built on it prove nothing.

const home = mkdtempSync(path.join(os.tmpdir(), 'standin-cli-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));
const fresh = (name: string) => path.join(mkdtempSync(path.join(home, `${name}-`)), 'cache');

describe('argv is checked against Trivy flags', () => {
  test.each([
    [['image', '--foo', 'alpine'], 'unknown flag: --foo'],
    [['image', '--vuln-type', 'os', 'alpine'], 'unknown flag: --vuln-type'], // removed in v0.54, now --pkg-types
    [['--version', '--output=x'], 'unknown flag: --output'], // an image flag is not a root flag
    [['image', '-z', 'alpine'], "unknown shorthand flag: 'z' in -z"],
    [['image', '--list-all-pkgs=maybe', 'alpine'], 'strconv.ParseBool'],
    [['image', '--timeout', '10 minutes', 'alpine'], 'time: invalid duration'],
    [['image', 'alpine', '--cache-dir'], 'flag needs an argument: --cache-dir'],
    [['frobnicate'], 'unknown command "frobnicate" for "trivy"'],
  ])('%j is refused', async (args, message) => {
    const r = await runStandin(args, {}, home);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toMatch(/\tFATAL\t/);
  });
});

describe('version', () => {
  test('--version --format json reports the version and, once downloaded, the DB metadata', async () => {
    const cacheDir = fresh('version');
    const before = await runStandin(['--version', '--format', 'json', '--cache-dir', cacheDir], {}, home);
    expect(before.exitCode).toBe(0);
    expect(JSON.parse(before.stdout)).toEqual({ Version: '0.74.0' });

    await runStandin(['image', '--download-db-only', '--cache-dir', cacheDir], {}, home);
    const after = await runStandin(
      ['version', '-f', 'json', '--cache-dir', cacheDir],
      { STANDIN_TRIVY_VERSION: '0.99.0' },
      home,
    );
    const parsed = JSON.parse(after.stdout);
    expect(parsed.Version).toBe('0.99.0');
    expect(parsed.VulnerabilityDB).toEqual(
      JSON.parse(readFileSync(path.join(cacheDir, 'db', 'metadata.json'), 'utf8')),
    );
  });
});

describe('DB download', () => {
  test('--download-db-only writes metadata.json (RFC3339, NextUpdate 6 h after UpdatedAt) and trivy.db', async () => {
    const cacheDir = fresh('db');
    const log = path.join(home, 'db.log');
    const r = await runStandin(
      [
        'image',
        '--download-db-only',
        '--cache-dir',
        cacheDir,
        '--db-repository',
        'registry.example/trivy-db:2',
      ],
      { STANDIN_LOG: log },
      home,
    );
    expect(r.exitCode).toBe(0);
    const meta = JSON.parse(readFileSync(path.join(cacheDir, 'db', 'metadata.json'), 'utf8'));
    expect(meta.Version).toBe(2);
    for (const k of ['NextUpdate', 'UpdatedAt', 'DownloadedAt'])
      expect(meta[k]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(Date.parse(meta.NextUpdate) - Date.parse(meta.UpdatedAt)).toBe(6 * 3_600_000);
    expect(existsSync(path.join(cacheDir, 'db', 'trivy.db'))).toBe(true);
    expect(existsSync(path.join(cacheDir, 'java-db'))).toBe(false);
    expect(readStandinLog(log).at(-1)?.dbRepositories).toEqual(['registry.example/trivy-db:2']);
  });

  test('--download-java-db-only writes java-db/metadata.json; a rate-limited repository falls back to the next', async () => {
    const cacheDir = fresh('javadb');
    const log = path.join(home, 'javadb.log');
    const r = await runStandin(
      [
        'image',
        '--download-java-db-only',
        '--cache-dir',
        cacheDir,
        '--java-db-repository',
        'a.example/java-db:1,b.example/java-db:1',
      ],
      { STANDIN_LOG: log, STANDIN_DB_DENY: 'a.example/java-db:1' },
      home,
    );
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(readFileSync(path.join(cacheDir, 'java-db', 'metadata.json'), 'utf8')).Version).toBe(1);
    expect(existsSync(path.join(cacheDir, 'db', 'metadata.json'))).toBe(false);
    expect(readStandinLog(log).at(-1)?.dbRepositories).toEqual(['b.example/java-db:1']);
    expect(r.stderr).toContain('TOOMANYREQUESTS');
  });

  test('every repository refused -> exit 1', async () => {
    const r = await runStandin(
      ['image', '--download-db-only', '--cache-dir', fresh('denied'), '--db-repository', 'a.example/db:2'],
      { STANDIN_DB_DENY: 'a.example/db:2' },
      home,
    );
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('failed to download artifact from any source');
  });

  test('--skip-db-update on an empty cache is an error, before any registry access', async () => {
    const r = await runStandin(
      [
        'image',
        '--skip-db-update',
        '--format',
        'json',
        '--cache-dir',
        fresh('skip'),
        '127.0.0.1:1/nothing:1',
      ],
      {},
      home,
    );
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('--skip-db-update cannot be specified on the first run');
    expect(r.stderr).not.toContain('127.0.0.1:1');
  });

  test('TRIVY_<FLAG> environment variables are read like flags', async () => {
    const cacheDir = fresh('env');
    const r = await runStandin(['image', '--download-db-only'], { TRIVY_CACHE_DIR: cacheDir }, home);
    expect(r.exitCode).toBe(0);
    expect(existsSync(path.join(cacheDir, 'db', 'metadata.json'))).toBe(true);
  });
});
