import { describe, expect, test } from 'vitest';
import type { TrivyConfig } from '../../src/config.js';
import { MemoryLogger } from '../../src/infra/logger.js';
import type { ImageResult, Target } from '../../src/model.js';
import { resultKey, type ResultKeyParts, type ResultStore } from '../../src/scale/result-cache.js';
import { planScans, resultReuseKey, withAliases } from '../../src/scan/plan-scans.js';

const D1 = 'sha256:' + '1'.repeat(64);
const D2 = 'sha256:' + '2'.repeat(64);
const key: ResultKeyParts = {
  trivyVersion: '0.74.0',
  dbUpdatedAt: '2026-08-14T06:00:00Z',
  scanners: ['vuln'],
  pkgTypes: ['os', 'library'],
};

function target(ref: string, digest?: string): Target {
  const [, registry, repository, tag] = /^([^/]+)\/([^:@]+):?([^@]*)/.exec(ref)!;
  return {
    ref,
    input: ref,
    registry,
    repository,
    ...(tag && { tag }),
    ...(digest && { digest }),
    origins: [],
    sources: ['listed'],
  };
}

function storeWith(results: Record<string, ImageResult>): ResultStore {
  return {
    get: (k) => Promise.resolve(results[k]),
    put: () => Promise.resolve(),
  };
}

const noSbom = { sbom: 'none', dependencyGraph: false } as const;

describe('planScans', () => {
  test('one scan per digest; the other tags of that digest become its aliases; a refused image is failed, not scanned', async () => {
    const a = target('r.example/app:1', D1);
    const b = target('r.example/app:latest', D1);
    const c = target('r.example/other:1', D2);
    const locked = target('locked.example/x:1');
    const plan = await planScans(
      noSbom,
      {
        targets: [a, b, c, locked],
        refused: new Map([[locked.ref, 'locked.example refused the credentials.']]),
      },
      { logger: new MemoryLogger(), trivyVersion: '0.74.0' },
    );
    expect(plan.scan.map((t) => t.ref)).toEqual([a.ref, c.ref]);
    expect(plan.merged).toBe(1);
    expect(plan.aliasesOf.get(a.ref)?.map((t) => t.ref)).toEqual([b.ref]);
    expect(plan.refused).toEqual([
      {
        target: locked,
        status: 'failed',
        error: 'locked.example refused the credentials.',
        findings: [],
        trivyVersion: '0.74.0',
      },
    ]);
    expect(plan.reuseKey).toBeUndefined();
    expect(plan.listAllPkgs).toBe(false);
  });

  test('a digest with a stored result is reused, not scanned, and the plan carries the key to store new results under', async () => {
    const a = target('r.example/app:1', D1);
    const c = target('r.example/other:1', D2);
    const stored: ImageResult = { target: a, digest: D1, status: 'scanned', findings: [], packages: [] };
    const logger = new MemoryLogger();
    const plan = await planScans(
      noSbom,
      { targets: [a, c], refused: new Map() },
      {
        logger,
        trivyVersion: key.trivyVersion,
        reuse: { store: storeWith({ [resultKey(D1, key)]: stored }), key },
      },
    );
    expect(plan.scan.map((t) => t.ref)).toEqual([c.ref]);
    expect(plan.reuse.map((r) => [r.target.ref, r.status])).toEqual([[a.ref, 'reused']]);
    expect(plan.reuseKey).toEqual(key);
    expect(logger.entries.map((e) => e.message)).toContain(
      'Reusing earlier results for 1 image already scanned with this Trivy and DB.',
    );
  });

  test('with an SBOM to write, a stored result without its package list is scanned again', async () => {
    const a = target('r.example/app:1', D1);
    const stored: ImageResult = { target: a, digest: D1, status: 'scanned', findings: [] };
    const plan = await planScans(
      { sbom: 'cyclonedx', dependencyGraph: false },
      { targets: [a], refused: new Map() },
      {
        logger: new MemoryLogger(),
        trivyVersion: key.trivyVersion,
        reuse: { store: storeWith({ [resultKey(D1, key)]: stored }), key },
      },
    );
    expect(plan.scan.map((t) => t.ref)).toEqual([a.ref]);
    expect(plan.reuse).toEqual([]);
    expect(plan.listAllPkgs).toBe(true);
  });
});

test('withAliases: every result of the plan, then the same result under each other tag of its digest', async () => {
  const a = target('r.example/app:1', D1);
  const b = target('r.example/app:latest', D1);
  const locked = target('locked.example/x:1');
  const plan = await planScans(
    noSbom,
    { targets: [a, b, locked], refused: new Map([[locked.ref, 'refused']]) },
    { logger: new MemoryLogger(), trivyVersion: '0.74.0' },
  );
  const scanned: ImageResult = { target: a, digest: D1, status: 'scanned', findings: [] };
  expect(withAliases(plan, [scanned]).map((r) => [r.target.ref, r.status])).toEqual([
    [a.ref, 'scanned'],
    [b.ref, 'scanned'],
    [locked.ref, 'failed'],
  ]);
});

describe('resultReuseKey', () => {
  const trivy = { version: '0.74.0', dbUpdatedAt: '2026-08-14T06:00:00Z' };
  const trivyConfig = { scanners: ['vuln'], pkgTypes: ['os', 'library'] } satisfies Partial<TrivyConfig>;

  test('cache-results on: the key names the Trivy, DB build, scanners, package types and settings', () => {
    const got = resultReuseKey(
      { cacheResults: true, trivy: { ...trivyConfig, platform: 'linux/arm64' } },
      trivy,
      { fingerprint: 'abc' },
      new MemoryLogger(),
    );
    expect(got).toEqual({ ...key, platform: 'linux/arm64', settings: 'abc' });
  });

  test('no key when cache-results is off, when the DB build is unknown, or when Trivy reads VEX at scan time', () => {
    const logger = new MemoryLogger();
    expect(resultReuseKey({ cacheResults: false, trivy: trivyConfig }, trivy, {}, logger)).toBeUndefined();
    expect(
      resultReuseKey({ cacheResults: true, trivy: trivyConfig }, { version: '0.74.0' }, {}, logger),
    ).toBeUndefined();
    expect(
      resultReuseKey(
        { cacheResults: true, trivy: { ...trivyConfig, vexSources: ['repo'] } },
        trivy,
        {},
        logger,
      ),
    ).toBeUndefined();
    expect(logger.entries.map((e) => e.message)).toEqual([
      'cache-results: not reusing results, since vex: repo is read by Trivy at scan time.',
    ]);
  });
});
