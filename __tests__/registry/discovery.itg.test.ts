import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { DiscoveryConfig } from '../../src/config.js';
import { createHttpClient, type HttpClient } from '../../src/infra/http.js';
import { MemoryLogger } from '../../src/infra/logger.js';
import { createCatalog } from '../../src/registry/catalog.js';
import { RegistryAuthError, RegistryNotListableError } from '../../src/registry/errors.js';
import { discoverRegistryImages } from '../../src/targets/registry-discovery.js';
import { startRegistry, type SeededTag, type TestRegistry } from '../../test-support/registry.js';

// Discovery end to end over the real registry: 2,000 repositories x 3 tags (every third repository also has
// `latest` on its newest image), include/exclude filters and both caps. The expectation is computed here from
// the seed's own record, with plain string tests instead of the globs.

const http = createHttpClient();

/** The real HTTP client, recording the path of every request it sends (to count what discovery asks for). */
function countingHttp(): { http: HttpClient; paths: string[] } {
  const paths: string[] = [];
  return {
    paths,
    http: (req) => {
      paths.push(new URL(req.url).pathname);
      return http(req);
    },
  };
}

function config(over: Partial<DiscoveryConfig>): DiscoveryConfig {
  return {
    repositories: ['**'],
    excludeRepositories: [],
    tags: ['*'],
    excludeTags: [],
    maxImagesPerRepository: 5,
    maxImages: 500,
    discoverFiles: [],
    ...over,
  };
}

describe('a large seeded registry', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ seed: { repositories: 2000, tagsPerRepository: 3 } });
  });
  afterAll(() => reg.close());

  test('filters, merges digest duplicates, keeps the newest per repository, caps the registry', async () => {
    const cfg = config({
      registry: reg.host,
      repositories: ['backend/**', 'legacy/**'],
      excludeRepositories: ['**/service-0*', '**/service-1[0-4]*'],
      tags: ['/^1\\.\\d+\\.0$/', 'latest'],
      excludeTags: ['1.1.0'],
      maxImagesPerRepository: 1,
      maxImages: 150,
    });

    // --- the expectation, from the seed data
    const index = (repo: string) => Number(/service-(\d+)$/.exec(repo)![1]);
    const repoSelected = (repo: string) =>
      (repo.startsWith('backend/') || repo.startsWith('legacy/')) && index(repo) >= 1500;
    const tagSelected = (tag: string) => tag === 'latest' || (/^1\.\d+\.0$/.test(tag) && tag !== '1.1.0');
    const byRepo = new Map<string, SeededTag[]>();
    for (const s of reg.seeded)
      if (repoSelected(s.repository) && tagSelected(s.tag))
        byRepo.set(s.repository, [...(byRepo.get(s.repository) ?? []), s]);
    const newestPerRepo = [...byRepo.values()].map((tags) => {
      const newest = tags.reduce((a, b) => (b.created > a.created ? b : a));
      const sharing = tags.filter((t) => t.digest === newest.digest).map((t) => t.tag);
      return { ...newest, tags: sharing };
    });
    newestPerRepo.sort((a, b) => (a.created === b.created ? 0 : a.created < b.created ? 1 : -1));
    const expectedTargets = newestPerRepo.slice(0, 150);
    const expectedSkipped = newestPerRepo.slice(150);
    expect(new Set(newestPerRepo.map((e) => e.created)).size).toBe(newestPerRepo.length); // seed times are distinct
    expect(newestPerRepo.some((e) => e.tags.includes('latest'))).toBe(true);

    // --- discovery
    const logger = new MemoryLogger();
    const catalog = await createCatalog(reg.host, { http, logger, scheme: 'http', concurrency: 32 });
    const result = await discoverRegistryImages(cfg, { catalog, logger });

    expect(result.targets).toHaveLength(150);
    expect(
      result.targets.map((t) => [t.repository, t.digest, t.createdAt, [...(t.tags ?? [])].sort()]),
    ).toEqual(expectedTargets.map((e) => [e.repository, e.digest, e.created, [...e.tags].sort()]));
    for (const t of result.targets) {
      expect(t.ref).toBe(`${reg.host}/${t.repository}:${t.tag}`);
      expect(t.tags?.[0]).toBe(t.tag);
      expect(t.sources).toEqual(['registry']);
      // `latest` never names an image that also has a version tag (version sorts first at equal time)
      if (t.tags && t.tags.length > 1) expect(t.tag).not.toBe('latest');
    }
    expect(result.skipped).toHaveLength(expectedSkipped.length);
    expect(new Set(result.skipped.map((s) => s.ref.replace(/:[^:/@]+@.*$/, '')))).toEqual(
      new Set(expectedSkipped.map((e) => `${reg.host}/${e.repository}`)),
    );
    expect(result.skipped.every((s) => s.reason === 'over max-images (150)')).toBe(true);
    expect(logger.messages('warning')).toHaveLength(1);

    // requests: catalog pages (2,000 / 1,000 per page) + per selected repository one tags list + at most 2 per tag
    const selectedRepos = new Set(
      reg.seeded.filter((s) => repoSelected(s.repository)).map((s) => s.repository),
    );
    const tagsInSelected = reg.seeded.filter((s) => repoSelected(s.repository)).length;
    expect(result.requests).toBeGreaterThan(0);
    expect(result.requests).toBeLessThanOrEqual(3 + selectedRepos.size + 2 * tagsInSelected);
  });

  test('maxImagesPerRepository 0 keeps all, without a config-blob request; namespace limits the listing', async () => {
    const logger = new MemoryLogger();
    const { http: counting, paths } = countingHttp();
    const catalog = await createCatalog(reg.host, { http: counting, logger, scheme: 'http' });
    const result = await discoverRegistryImages(
      config({
        registry: `${reg.host}/legacy/old`,
        repositories: ['service-19*'],
        maxImagesPerRepository: 0,
        maxImages: 1000,
      }),
      { catalog, logger },
    );
    const expected = reg.seeded.filter((s) => s.repository.startsWith('legacy/old/service-19'));
    const uniqueDigests = new Set(expected.map((e) => e.digest));
    expect(result.targets).toHaveLength(uniqueDigests.size);
    expect(result.targets.flatMap((t) => t.tags ?? []).length).toBe(expected.length);
    expect(new Set(result.targets.map((t) => t.digest))).toEqual(uniqueDigests);
    // Nothing to order: one manifest per tag, no config blob, so no creation time either; order by name.
    expect(paths.filter((p) => p.includes('/blobs/'))).toEqual([]);
    expect(paths.filter((p) => p.includes('/manifests/'))).toHaveLength(expected.length);
    expect(result.targets.every((t) => t.createdAt === undefined)).toBe(true);
    const refs = result.targets.map((t) => t.ref);
    expect([...refs].sort()).toEqual(refs);
  });

  test('config blobs only where an order is needed: a repository with more tags than the cap', async () => {
    const logger = new MemoryLogger();
    const { http: counting, paths } = countingHttp();
    const catalog = await createCatalog(reg.host, { http: counting, logger, scheme: 'http' });
    // service-1900..1909: 3 tags each, `latest` too on every third (4 tags); the cap is 3.
    const result = await discoverRegistryImages(
      config({
        registry: `${reg.host}/legacy/old`,
        repositories: ['service-190*'],
        maxImagesPerRepository: 3,
        maxImages: 1000,
      }),
      { catalog, logger },
    );
    const seeded = reg.seeded.filter((s) => s.repository.startsWith('legacy/old/service-190'));
    const tagCount = (repo: string) => seeded.filter((s) => s.repository === repo).length;
    const repos = [...new Set(seeded.map((s) => s.repository))];
    const over = repos.filter((r) => tagCount(r) > 3);
    expect(over.length).toBeGreaterThan(0);
    expect(over.length).toBeLessThan(repos.length);
    // one config blob per distinct image, only in the repositories over the cap
    const blobRepos = paths
      .filter((p) => p.includes('/blobs/'))
      .map((p) => /^\/v2\/(.+)\/blobs\//.exec(p)![1]);
    expect(new Set(blobRepos)).toEqual(new Set(over));
    expect(blobRepos).toHaveLength(over.length * 3);
    for (const t of result.targets) {
      const own = seeded.find((s) => s.repository === t.repository && s.tag === t.tag)!;
      expect(t.createdAt).toBe(over.includes(t.repository) ? own.created : undefined);
    }
    expect(result.targets).toHaveLength(repos.length * 3);
  });

  test('the max-images cap needs a registry-wide order: creation times are fetched then, one per image', async () => {
    const logger = new MemoryLogger();
    const { http: counting, paths } = countingHttp();
    const catalog = await createCatalog(reg.host, { http: counting, logger, scheme: 'http' });
    const result = await discoverRegistryImages(
      config({
        registry: `${reg.host}/legacy/old`,
        repositories: ['service-190*'],
        maxImagesPerRepository: 0,
        maxImages: 5,
      }),
      { catalog, logger },
    );
    const seeded = reg.seeded.filter((s) => s.repository.startsWith('legacy/old/service-190'));
    const distinct = new Map(seeded.map((s) => [s.digest, s]));
    const newest = [...distinct.values()].sort((a, b) => (a.created < b.created ? 1 : -1)).slice(0, 5);
    expect(result.targets.map((t) => [t.digest, t.createdAt])).toEqual(
      newest.map((s) => [s.digest, s.created]),
    );
    // each manifest once (the later lookup reuses it), each distinct config once
    expect(paths.filter((p) => p.includes('/manifests/'))).toHaveLength(seeded.length);
    expect(paths.filter((p) => p.includes('/blobs/'))).toHaveLength(distinct.size);
  });
});

describe('discovery through auth', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'token' });
    await reg.push('team/api', '1.0', { created: '2024-01-01T00:00:00Z', layerContent: 'api-1' });
    await reg.push('team/api', '2.0', { created: '2024-02-01T00:00:00Z', layerContent: 'api-2' });
    await reg.push('other/x', '1', { created: '2024-03-01T00:00:00Z' });
  });
  afterAll(() => reg.close());

  test('token auth with a namespace: tokens for the catalog and the one repository', async () => {
    const [username, password] = Object.entries(reg.users)[0];
    const logger = new MemoryLogger();
    const catalog = await createCatalog(reg.host, {
      http,
      logger,
      scheme: 'http',
      credentials: { username, password },
    });
    reg.tokenServer!.requests.length = 0;
    // A cap of 1 below the repository's 2 tags: the newest is chosen, so its config blob is read with the token too.
    const result = await discoverRegistryImages(
      config({ registry: `${reg.host}/team`, maxImagesPerRepository: 1 }),
      { catalog, logger },
    );
    expect(result.targets.map((t) => [t.tag, t.createdAt])).toEqual([['2.0', '2024-02-01T00:00:00Z']]);
    expect(reg.tokenServer!.requests.map((r) => r.scopes[0]).sort()).toEqual([
      'registry:catalog:*',
      'repository:team/api:pull',
    ]);
  });

  test('wrong password: discovery stops with RegistryAuthError', async () => {
    const logger = new MemoryLogger();
    const catalog = await createCatalog(reg.host, {
      http,
      logger,
      scheme: 'http',
      credentials: { username: 'tester', password: 'bad-pass-7' },
    });
    const err = await discoverRegistryImages(config({ registry: reg.host }), { catalog, logger }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RegistryAuthError);
    expect((err as Error).message).not.toContain('bad-pass-7');
  });

  test('anonymous: the catalog is not listable, with the hint', async () => {
    const logger = new MemoryLogger();
    const catalog = await createCatalog(reg.host, { http, logger, scheme: 'http' });
    await expect(discoverRegistryImages(config({ registry: reg.host }), { catalog, logger })).rejects.toThrow(
      RegistryNotListableError,
    );
  });
});
