import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { MemoryLogger } from '../../src/infra/logger.js';
import { RESULTS_SCHEMA, type ImageResult, type ResultsFile, type Target } from '../../src/model.js';
import { actionsResultStore, type ActionsCacheApi } from '../../src/scale/actions-result-store.js';
import {
  chainedResultStore,
  directoryResultStore,
  partitionForReuse,
  reportsResultStore,
  resultFilePath,
  resultKey,
  storableKey,
  type ResultKeyParts,
} from '../../src/scale/result-cache.js';

const D1 = 'sha256:' + '1'.repeat(64);
const D2 = 'sha256:' + '2'.repeat(64);
const parts: ResultKeyParts = {
  trivyVersion: '0.74.0',
  dbUpdatedAt: '2026-08-14T06:00:00Z',
  scanners: ['vuln'],
  pkgTypes: ['os', 'library'],
};

function target(ref: string, digest?: string, origins: Target['origins'] = []): Target {
  const [, registry, repository, tag] = /^([^/]+)\/([^:@]+):?([^@]*)/.exec(ref)!;
  return {
    ref,
    input: ref,
    registry,
    repository,
    ...(tag && { tag }),
    ...(digest && { digest }),
    origins,
    sources: ['listed'],
  };
}

function scanned(t: Target, overrides: Partial<ImageResult> = {}): ImageResult {
  return {
    target: t,
    digest: t.digest,
    os: { family: 'debian', name: '12.5' },
    status: 'scanned',
    findings: [{ id: 'CVE-1', pkg: 'zlib', severity: 'HIGH', fixed: '1.3', class: 'os-pkgs', target: 'x' }],
    trivyVersion: parts.trivyVersion,
    dbUpdatedAt: parts.dbUpdatedAt,
    rawReport: 'raw/abc.json',
    durationMs: 4200,
    ...overrides,
  };
}

const tempDir = () => mkdtempSync(path.join(os.tmpdir(), 'isg-cache-'));

describe('resultKey', () => {
  const base = resultKey(D1, parts);

  test('shape: prefix + sha256 hex, and stable', () => {
    expect(base).toMatch(/^isg-results-[a-f0-9]{64}$/);
    expect(resultKey(D1, { ...parts })).toBe(base);
  });

  test('two different settings fingerprints give two keys', () => {
    expect(resultKey(D1, { ...parts, settings: 'a'.repeat(64) })).not.toBe(
      resultKey(D1, { ...parts, settings: 'b'.repeat(64) }),
    );
  });

  test('scanner and package-type order does not matter', () => {
    expect(resultKey(D1, { ...parts, pkgTypes: ['library', 'os'] })).toBe(base);
  });

  test.each([
    ['another digest', () => resultKey(D2, parts)],
    ['another Trivy version', () => resultKey(D1, { ...parts, trivyVersion: '0.73.0' })],
    ['another DB build', () => resultKey(D1, { ...parts, dbUpdatedAt: '2026-08-14T12:00:00Z' })],
    ['other scanners', () => resultKey(D1, { ...parts, scanners: ['vuln', 'secret'] })],
    ['other package types', () => resultKey(D1, { ...parts, pkgTypes: ['os'] })],
    ['a platform', () => resultKey(D1, { ...parts, platform: 'linux/arm64' })],
    [
      "Trivy's settings (trivy-config, skip-*, ignore-policy…)",
      () => resultKey(D1, { ...parts, settings: 'a'.repeat(64) }),
    ],
  ])('%s gives another key', (_name, key) => {
    expect(key()).not.toBe(base);
  });
});

describe('directoryResultStore', () => {
  test('put then get returns the result without this run’s paths and timings', async () => {
    const dir = path.join(tempDir(), 'nested', 'cache');
    const store = directoryResultStore(dir);
    const result = scanned(target('ghcr.io/acme/api:1', D1));
    await store.put('k1', result);
    const { rawReport: _r, durationMs: _d, ...expected } = result;
    expect(await store.get('k1')).toEqual(expected);
    expect(readdirSync(dir)).toEqual(['k1.json']); // no temp files left behind
    expect(statSync(resultFilePath(dir, 'k1')).isFile()).toBe(true);
  });

  test('a miss, a corrupt file and a foreign JSON file are all misses, never errors', async () => {
    const dir = tempDir();
    const logger = new MemoryLogger();
    const store = directoryResultStore(dir, logger);
    expect(await store.get('absent')).toBeUndefined();
    writeFileSync(resultFilePath(dir, 'corrupt'), '{"target": ');
    expect(await store.get('corrupt')).toBeUndefined();
    writeFileSync(resultFilePath(dir, 'foreign'), JSON.stringify({ hello: 'world' }));
    expect(await store.get('foreign')).toBeUndefined();
    expect(logger.entries.filter((e) => e.level === 'debug')).toHaveLength(2);
  });

  test("a corrupt file's content is never quoted in the log, only where its syntax breaks", async () => {
    const dir = tempDir();
    const logger = new MemoryLogger();
    writeFileSync(resultFilePath(dir, 'hostile'), 'SECRET-FROM-ANOTHER-JOB::error::x');
    expect(await directoryResultStore(dir, logger).get('hostile')).toBeUndefined();
    const [line] = logger.messages('debug');
    expect(line).toMatch(/^cached result hostile is not JSON \(syntax error[^)]*\); scanning again$/);
    expect(line).not.toContain('SECRET');
  });
});

describe('partitionForReuse', () => {
  test('a digest scanned before with the same key parts is reused; others are scanned', async () => {
    const store = directoryResultStore(tempDir());
    const previous = scanned(target('ghcr.io/acme/api:old-tag', D1));
    await store.put(storableKey(previous, parts)!, previous);

    const now = target('ghcr.io/acme/api:1.2', D1, [{ file: 'Dockerfile', line: 3 }]);
    const other = target('ghcr.io/acme/web:1', D2);
    const noDigest = target('ghcr.io/acme/db:1');
    const plan = await partitionForReuse([now, other, noDigest], store, parts);

    expect(plan.scan).toEqual([other, noDigest]);
    expect(plan.reuse).toHaveLength(1);
    const [reused] = plan.reuse;
    expect(reused.status).toBe('reused');
    // This run's target (its tag and origins), the stored findings and OS.
    expect(reused.target).toBe(now);
    expect(reused.findings).toEqual(previous.findings);
    expect(reused.os).toEqual(previous.os);
    expect(reused.digest).toBe(D1);
    expect(reused).not.toHaveProperty('rawReport');
    expect(reused).not.toHaveProperty('durationMs');
  });

  test('a new DB build or Trivy version scans again', async () => {
    const store = directoryResultStore(tempDir());
    const previous = scanned(target('ghcr.io/acme/api:1', D1));
    await store.put(storableKey(previous, parts)!, previous);
    const t = target('ghcr.io/acme/api:1', D1);
    expect(
      (await partitionForReuse([t], store, { ...parts, dbUpdatedAt: '2026-08-15T00:00:00Z' })).scan,
    ).toEqual([t]);
    expect((await partitionForReuse([t], store, { ...parts, trivyVersion: '0.75.0' })).scan).toEqual([t]);
    expect((await partitionForReuse([t], store, parts)).reuse).toHaveLength(1);
  });

  test('only clean scans with a digest are worth storing', () => {
    const t = target('ghcr.io/acme/api:1', D1);
    expect(storableKey(scanned(t), parts)).toBe(resultKey(D1, parts));
    expect(storableKey(scanned(t, { status: 'failed' }), parts)).toBeUndefined();
    expect(storableKey(scanned(t, { status: 'reused' }), parts)).toBeUndefined();
    expect(storableKey(scanned(target('ghcr.io/acme/api:1'), { digest: undefined }), parts)).toBeUndefined();
  });
});

describe('reportsResultStore (results files given as reports)', () => {
  const file = (images: ImageResult[], extra: Partial<ResultsFile> = {}): ResultsFile => ({
    schema: RESULTS_SCHEMA,
    tool: { name: 'image-scan-gate', version: '1.0.0' },
    createdAt: '2026-08-14T00:00:00Z',
    images,
    skipped: [],
    ...extra,
  });

  test('offers images whose digest, Trivy version and DB build match; failures and other builds are not offered', async () => {
    const store = reportsResultStore(
      [
        file([
          scanned(target('ghcr.io/acme/api:1', D1)),
          scanned(target('ghcr.io/acme/web:1', D2), { dbUpdatedAt: '2026-08-01T00:00:00Z' }),
        ]),
        file([scanned(target('ghcr.io/acme/db:1', 'sha256:' + '3'.repeat(64)), { status: 'failed' })]),
      ],
      parts,
    );
    const plan = await partitionForReuse(
      [
        target('ghcr.io/acme/api:1', D1),
        target('ghcr.io/acme/web:1', D2),
        target('ghcr.io/acme/db:1', 'sha256:' + '3'.repeat(64)),
      ],
      store,
      parts,
    );
    expect(plan.reuse.map((r) => r.target.ref)).toEqual(['ghcr.io/acme/api:1']);
    expect(plan.scan.map((t) => t.ref)).toEqual(['ghcr.io/acme/web:1', 'ghcr.io/acme/db:1']);
  });

  test('an image without its own Trivy version / DB build takes the file’s', async () => {
    const image = scanned(target('ghcr.io/acme/api:1', D1), {
      trivyVersion: undefined,
      dbUpdatedAt: undefined,
    });
    const store = reportsResultStore(
      [file([image], { trivyVersion: parts.trivyVersion, dbUpdatedAt: parts.dbUpdatedAt })],
      parts,
    );
    expect(await store.get(resultKey(D1, parts))).toBeDefined();
  });

  test('chained: the reports are asked first, the directory next; saves go to the directory', async () => {
    const dir = tempDir();
    const chained = chainedResultStore(reportsResultStore([], parts), directoryResultStore(dir));
    const result = scanned(target('ghcr.io/acme/api:1', D1));
    await chained.put('k', result);
    expect((await chained.get('k'))?.findings).toEqual(result.findings);
    expect(readdirSync(dir)).toEqual(['k.json']);
  });
});

describe('actionsResultStore (over a stand-in for @actions/cache)', () => {
  function fakeCache(opts: { available?: boolean; failRestore?: boolean } = {}) {
    const saved = new Map<string, string[]>();
    const calls: string[] = [];
    const api: ActionsCacheApi = {
      isFeatureAvailable: () => opts.available ?? true,
      restoreCache: (paths, key) => {
        calls.push(`restore ${key}`);
        if (opts.failRestore) return Promise.reject(new Error('cache service responded with 503'));
        return Promise.resolve(saved.has(key) ? key : undefined);
      },
      saveCache: (paths, key) => {
        calls.push(`save ${key}`);
        saved.set(key, paths);
        return Promise.resolve(1);
      },
    };
    return { api, saved, calls };
  }

  test('a result saved in one run is restored in the next (new runner, empty directory)', async () => {
    const cache = fakeCache();
    const firstDir = tempDir();
    const result = scanned(target('ghcr.io/acme/api:1', D1));
    const key = storableKey(result, parts)!;
    await actionsResultStore(firstDir, new MemoryLogger(), cache.api).put(key, result);
    expect(cache.saved.get(key)).toEqual([resultFilePath(firstDir, key)]);

    // The real cache would extract the file into the same path; do what it would do.
    const secondDir = tempDir();
    const restoring: ActionsCacheApi = {
      ...cache.api,
      restoreCache: async (paths, k) => {
        const hit = await cache.api.restoreCache(paths, k);
        if (hit) await directoryResultStore(secondDir).put(k, result);
        return hit;
      },
    };
    const store = actionsResultStore(secondDir, new MemoryLogger(), restoring);
    expect((await store.get(key))?.findings).toEqual(result.findings);
    expect(await store.get('isg-results-unknown')).toBeUndefined();
  });

  test('no cache service: one notice, then it works as the directory alone', async () => {
    const cache = fakeCache({ available: false });
    const logger = new MemoryLogger();
    const store = actionsResultStore(tempDir(), logger, cache.api);
    expect(await store.get('a')).toBeUndefined();
    expect(await store.get('b')).toBeUndefined();
    await store.put('c', scanned(target('ghcr.io/acme/api:1', D1)));
    expect(cache.calls).toEqual([]);
    expect(logger.entries.filter((e) => e.level === 'notice')).toHaveLength(1);
    expect(await store.get('c')).toBeDefined();
  });

  test('the service failing: one notice, then no more calls', async () => {
    const cache = fakeCache({ failRestore: true });
    const logger = new MemoryLogger();
    const store = actionsResultStore(tempDir(), logger, cache.api);
    expect(await store.get('a')).toBeUndefined();
    expect(await store.get('b')).toBeUndefined();
    await store.put('c', scanned(target('ghcr.io/acme/api:1', D1)));
    expect(cache.calls).toEqual(['restore a']);
    const notices = logger.entries.filter((e) => e.level === 'notice');
    expect(notices).toHaveLength(1);
    expect(notices[0].message).toContain('503');
  });
});
