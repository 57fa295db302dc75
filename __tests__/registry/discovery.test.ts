import { describe, expect, test } from 'vitest';
import type { DiscoveryConfig } from '../../src/config.js';
import { ConfigurationError } from '../../src/errors.js';
import { MemoryLogger } from '../../src/infra/logger.js';
import { catalogKindFor } from '../../src/registry/catalog.js';
import type { CatalogImage, RegistryCatalog } from '../../src/registry/catalog.js';
import { RegistryAuthError, RegistryNotListableError } from '../../src/registry/errors.js';
import { parseEcrHost } from '../../src/registry/ecr-host.js';
import { discoverRegistryImages, parseRegistryLocation } from '../../src/targets/registry-discovery.js';

// Discovery's rules over an in-memory catalog (no network): filters, digest merging, newest first, caps.

const d = (n: number) => `sha256:${String(n).padStart(64, '0')}`;

function fakeCatalog(data: Record<string, CatalogImage[]>, failing: Record<string, Error> = {}) {
  const calls: { listRepositories: (string | undefined)[]; listImages: string[] } = {
    listRepositories: [],
    listImages: [],
  };
  const catalog: RegistryCatalog = {
    listRepositories(namespace) {
      calls.listRepositories.push(namespace);
      return Promise.resolve(Object.keys(data).filter((r) => !namespace || r.startsWith(`${namespace}/`)));
    },
    listImages(repository) {
      calls.listImages.push(repository);
      if (failing[repository]) return Promise.reject(failing[repository]);
      return Promise.resolve(data[repository] ?? []);
    },
    requestCount: () => 42,
  };
  return { catalog, calls };
}

function config(over: Partial<DiscoveryConfig>): DiscoveryConfig {
  return {
    registry: 'reg.example:5000',
    repositories: ['**'],
    excludeRepositories: [],
    tags: ['*'],
    excludeTags: [],
    maxImagesPerRepository: 0,
    maxImages: 500,
    discoverFiles: [],
    ...over,
  };
}

describe('discoverRegistryImages', () => {
  const data: Record<string, CatalogImage[]> = {
    'acme/api': [
      { tag: '1.0', digest: d(1), createdAt: '2024-01-01T00:00:00Z' },
      { tag: '1.1', digest: d(2), createdAt: '2024-02-01T00:00:00Z' },
      { tag: 'latest', digest: d(2), createdAt: '2024-02-01T00:00:00Z' },
      { tag: 'stable', digest: d(2), createdAt: '2024-02-01T00:00:00Z' },
      { tag: '1.2-rc1', digest: d(3), createdAt: '2024-03-01T00:00:00Z' },
    ],
    'acme/web': [
      { tag: 'b', digest: d(10), createdAt: '2024-01-15T00:00:00Z' },
      { tag: 'a', digest: d(11), createdAt: '2024-01-15T00:00:00Z' }, // same time: tag name decides
      { tag: 'old', digest: d(12), createdAt: '2023-01-01T00:00:00Z' },
    ],
    'other/tool': [{ tag: 'x', digest: d(20), createdAt: '2025-01-01T00:00:00Z' }],
  };

  test('merges tags sharing a digest, newest first, refs host/repo:newestTag with digest', async () => {
    const { catalog } = fakeCatalog(data);
    const { targets, skipped, requests } = await discoverRegistryImages(
      config({ repositories: ['acme/api'] }),
      { catalog, logger: new MemoryLogger() },
    );
    expect(skipped).toEqual([]);
    expect(requests).toBe(42);
    expect(targets.map((t) => [t.ref, t.digest, t.tags])).toEqual([
      ['reg.example:5000/acme/api:1.2-rc1', d(3), ['1.2-rc1']],
      // 1.1, latest, stable share one digest and one creation time: one target, named by the first tag in order
      ['reg.example:5000/acme/api:1.1', d(2), ['1.1', 'latest', 'stable']],
      ['reg.example:5000/acme/api:1.0', d(1), ['1.0']],
    ]);
    expect(targets[0]).toEqual({
      ref: 'reg.example:5000/acme/api:1.2-rc1',
      input: 'reg.example:5000/acme/api:1.2-rc1',
      registry: 'reg.example:5000',
      repository: 'acme/api',
      tag: '1.2-rc1',
      digest: d(3),
      tags: ['1.2-rc1'],
      origins: [],
      sources: ['registry'],
      createdAt: '2024-03-01T00:00:00Z',
    });
  });

  test('tag filters apply before merging; per-repository cap keeps the newest images', async () => {
    const { catalog } = fakeCatalog(data);
    const cfg = config({ excludeTags: ['*-rc*', 'stable'], maxImagesPerRepository: 1 });
    const { targets } = await discoverRegistryImages(cfg, { catalog, logger: new MemoryLogger() });
    expect(targets.map((t) => [t.repository, t.tag, t.tags])).toEqual([
      ['other/tool', 'x', ['x']],
      ['acme/api', '1.1', ['1.1', 'latest']], // 1.2-rc1 and stable filtered out, 1.0 older than the cap
      ['acme/web', 'a', ['a']], // a and b share a time: the tag name decides
    ]);
  });

  test('max-images caps across the registry; the rest are skipped with the reason and one warning', async () => {
    const { catalog } = fakeCatalog(data);
    const logger = new MemoryLogger();
    const { targets, skipped } = await discoverRegistryImages(config({ maxImages: 3 }), { catalog, logger });
    // all images newest first: tool:x (2025), api:1.2-rc1 (2024-03), api:1.1 (2024-02), web:a, web:b, api:1.0, web:old
    expect(targets.map((t) => `${t.repository}:${t.tag}`)).toEqual([
      'other/tool:x',
      'acme/api:1.2-rc1',
      'acme/api:1.1',
    ]);
    expect(skipped.map((s) => s.ref)).toEqual([
      `reg.example:5000/acme/web:a@${d(11)}`,
      `reg.example:5000/acme/web:b@${d(10)}`,
      `reg.example:5000/acme/api:1.0@${d(1)}`,
      `reg.example:5000/acme/web:old@${d(12)}`,
    ]);
    expect(new Set(skipped.map((s) => s.reason))).toEqual(new Set(['over max-images (3)']));
    const warnings = logger.messages('warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/7 images match; scanning the newest 3 \(max-images\), 4 listed as skipped/);
  });

  test('a digest in several repositories counts once against max-images', async () => {
    const { catalog } = fakeCatalog({
      'a/one': [{ tag: '1', digest: d(1), createdAt: '2024-01-02T00:00:00Z' }],
      'a/two': [{ tag: '1', digest: d(1), createdAt: '2024-01-02T00:00:00Z' }],
      'a/three': [{ tag: '1', digest: d(3), createdAt: '2024-01-01T00:00:00Z' }],
    });
    const { targets, skipped } = await discoverRegistryImages(config({ maxImages: 1 }), {
      catalog,
      logger: new MemoryLogger(),
    });
    expect(targets.map((t) => t.repository)).toEqual(['a/one', 'a/two']);
    expect(skipped.map((s) => s.ref)).toEqual([`reg.example:5000/a/three:1@${d(3)}`]);
  });

  test('namespace: only repositories under it are listed; patterns may be relative to it', async () => {
    const { catalog, calls } = fakeCatalog(data);
    const { targets } = await discoverRegistryImages(
      config({ registry: 'reg.example:5000/acme', repositories: ['web'], maxImagesPerRepository: 0 }),
      {
        catalog,
        logger: new MemoryLogger(),
      },
    );
    expect(calls.listRepositories).toEqual(['acme']);
    expect(calls.listImages).toEqual(['acme/web']);
    expect(targets.map((t) => t.tag)).toEqual(['a', 'b', 'old']);
  });

  test('images without digest or time stay separate and sort last, by tag', async () => {
    const { catalog } = fakeCatalog({
      r: [{ tag: 'z' }, { tag: 'y' }, { tag: 'new', digest: d(5), createdAt: '2024-01-01T00:00:00Z' }],
    });
    const { targets } = await discoverRegistryImages(config({}), { catalog, logger: new MemoryLogger() });
    expect(targets.map((t) => [t.tag, t.digest])).toEqual([
      ['new', d(5)],
      ['y', undefined],
      ['z', undefined],
    ]);
  });

  test('a bad tag regex fails before any request', async () => {
    const { catalog, calls } = fakeCatalog(data);
    await expect(
      discoverRegistryImages(config({ tags: ['/(/'] }), { catalog, logger: new MemoryLogger() }),
    ).rejects.toThrow(ConfigurationError);
    expect(calls.listRepositories).toEqual([]);
  });

  test('a registry that cannot be listed throws its clear error', async () => {
    const catalog: RegistryCatalog = {
      listRepositories: () =>
        Promise.reject(new RegistryNotListableError('reg does not let us list its repositories', 'reg')),
      listImages: () => Promise.resolve([]),
    };
    await expect(discoverRegistryImages(config({}), { catalog, logger: new MemoryLogger() })).rejects.toThrow(
      RegistryNotListableError,
    );
  });

  test('one repository failing is skipped with a warning; an auth failure stops discovery', async () => {
    const logger = new MemoryLogger();
    const { catalog } = fakeCatalog(data, { 'acme/web': new Error('HTTP 500 after 4 attempts') });
    const { targets, skipped } = await discoverRegistryImages(config({}), { catalog, logger });
    expect(targets.some((t) => t.repository === 'acme/web')).toBe(false);
    expect(targets.some((t) => t.repository === 'acme/api')).toBe(true);
    expect(skipped).toEqual([
      { ref: 'reg.example:5000/acme/web', reason: 'cannot list tags: HTTP 500 after 4 attempts' },
    ]);
    expect(logger.messages('warning').join('\n')).toContain('acme/web');

    const auth = fakeCatalog(data, {
      'acme/web': new RegistryAuthError('refused', 'reg', 'Basic as user x', 'credentials'),
    });
    await expect(discoverRegistryImages(config({}), { catalog: auth.catalog, logger })).rejects.toThrow(
      RegistryAuthError,
    );
  });

  test('creation times are asked for only where an order is needed', async () => {
    // A catalog that, like the distribution API, gives times only when asked (and counts the asks).
    const asked: Record<string, boolean> = {};
    const lookups: string[] = [];
    const catalog: RegistryCatalog = {
      listRepositories: () => Promise.resolve(Object.keys(data)),
      listImages(repository, options) {
        const images = data[repository].filter((i) => options?.selectTags?.(i.tag) ?? true);
        asked[repository] = options?.needsCreated?.(images.length) ?? true;
        return Promise.resolve(
          images.map((i) => (asked[repository] ? i : { tag: i.tag, ...(i.digest && { digest: i.digest }) })),
        );
      },
      createdAt(repository, digest) {
        lookups.push(digest);
        return Promise.resolve(data[repository].find((i) => i.digest === digest)?.createdAt);
      },
    };
    const logger = new MemoryLogger();

    // cap 2: acme/api (4 tags after the filter) and acme/web (3) need an order, other/tool (1) does not
    let result = await discoverRegistryImages(
      config({ excludeTags: ['stable'], maxImagesPerRepository: 2 }),
      {
        catalog,
        logger,
      },
    );
    expect(asked).toEqual({ 'acme/api': true, 'acme/web': true, 'other/tool': false });
    expect(lookups).toEqual([]);
    expect(result.targets.find((t) => t.repository === 'other/tool')?.createdAt).toBeUndefined();

    // all kept and nothing over max-images: no times at all, images by name
    result = await discoverRegistryImages(config({ maxImagesPerRepository: 0 }), { catalog, logger });
    expect(asked).toEqual({ 'acme/api': false, 'acme/web': false, 'other/tool': false });
    expect(lookups).toEqual([]);
    expect(result.targets.map((t) => t.ref)).toEqual([...result.targets.map((t) => t.ref)].sort());

    // max-images cuts: one lookup per distinct digest, then newest first across the registry
    result = await discoverRegistryImages(config({ maxImagesPerRepository: 0, maxImages: 2 }), {
      catalog,
      logger,
    });
    expect([...lookups].sort()).toEqual([d(1), d(2), d(3), d(10), d(11), d(12), d(20)]);
    expect(result.targets.map((t) => [t.ref, t.createdAt])).toEqual([
      ['reg.example:5000/other/tool:x', '2025-01-01T00:00:00Z'],
      ['reg.example:5000/acme/api:1.2-rc1', '2024-03-01T00:00:00Z'],
    ]);
  });

  test('no registry configured: nothing to do', async () => {
    const { catalog, calls } = fakeCatalog(data);
    expect(
      await discoverRegistryImages(config({ registry: undefined }), { catalog, logger: new MemoryLogger() }),
    ).toEqual({ targets: [], skipped: [] });
    expect(calls.listRepositories).toEqual([]);
  });
});

describe('registry locations and adapters', () => {
  test.each([
    ['ghcr.io/acme', { host: 'ghcr.io', namespace: 'acme' }],
    ['localhost:5000/team/sub/', { host: 'localhost:5000', namespace: 'team/sub' }],
    ['https://registry.example.com', { host: 'registry.example.com', namespace: undefined }],
    ['index.docker.io/acme', { host: 'docker.io', namespace: 'acme' }],
  ])('%s', (input, expected) => expect(parseRegistryLocation(input)).toEqual(expected));

  test.each([
    ['docker.io', 'dockerhub'],
    ['registry-1.docker.io', 'dockerhub'],
    ['index.docker.io', 'dockerhub'],
    ['ghcr.io', 'ghcr'],
    ['123456789012.dkr.ecr.eu-west-1.amazonaws.com', 'ecr'],
    ['123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn', 'ecr'],
    ['quay.io', 'oci'],
    ['localhost:5000', 'oci'],
    ['myacr.azurecr.io', 'oci'],
    // dual-stack: it gets ECR credentials, so it must be listed through ECR's API too, not `_catalog`
    ['123456789012.dkr-ecr.eu-west-1.on.aws', 'ecr'],
  ])('%s -> %s', (host, kind) => expect(catalogKindFor(host)).toBe(kind));

  test('ECR host parts', () => {
    expect(parseEcrHost('123456789012.dkr.ecr.eu-west-1.amazonaws.com')).toEqual({
      accountId: '123456789012',
      region: 'eu-west-1',
    });
    expect(parseEcrHost('12345.dkr.ecr.eu-west-1.amazonaws.com')).toBeUndefined();
    expect(parseEcrHost('123456789012.dkr-ecr-fips.us-east-1.on.aws')).toEqual({
      accountId: '123456789012',
      region: 'us-east-1',
    });
    expect(parseEcrHost('123456789012.dkr-ecr.eu-west-1.on.aws.evil.example')).toBeUndefined();
  });
});
