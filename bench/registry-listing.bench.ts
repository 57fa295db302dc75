import { expect, test } from 'vitest';
import { createHttpClient } from '../src/infra/http.js';
import { MemoryLogger } from '../src/infra/logger.js';
import { createCatalog } from '../src/registry/catalog.js';
import { discoverRegistryImages } from '../src/targets/registry-discovery.js';
import { startRegistry } from '../test-support/registry.js';

// Listing a large estate on the real registry: 2,000 repositories x 3 tags (+ `latest` on every third), each
// with digest and creation time. Target: under 10 s, at most 2 requests per tag + 1 per repository + catalog pages.

const REPOSITORIES = 2000;
const TAGS = 3;

test('registry listing: 2,000 repositories x 3 tags', async () => {
  const seedStart = performance.now();
  const reg = await startRegistry({ seed: { repositories: REPOSITORIES, tagsPerRepository: TAGS } });
  const seedMs = performance.now() - seedStart;
  try {
    for (const concurrency of [16]) {
      const logger = new MemoryLogger();
      const catalog = await createCatalog(reg.host, {
        http: createHttpClient(),
        logger,
        scheme: 'http',
        concurrency,
      });
      const cpuBefore = process.cpuUsage();
      const start = performance.now();
      const result = await discoverRegistryImages(
        {
          registry: reg.host,
          repositories: ['**'],
          excludeRepositories: [],
          tags: ['*'],
          excludeTags: [],
          maxImagesPerRepository: 0,
          maxImages: 100_000,
          discoverFiles: [],
        },
        { catalog, logger, concurrency },
      );
      const ms = performance.now() - start;
      const cpu = process.cpuUsage(cpuBefore);
      const tags = reg.seeded.length;
      const catalogPages = Math.ceil(REPOSITORIES / 1000) + 1;
      const requests = result.requests ?? 0;
      console.log(
        [
          `concurrency ${concurrency}: ${REPOSITORIES} repositories, ${tags} tags -> ${result.targets.length} images`,
          `  time ${(ms / 1000).toFixed(2)} s (seeding ${(seedMs / 1000).toFixed(2)} s, not counted), client CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`,
          `  requests ${requests} = ${(requests / tags).toFixed(2)} per tag (budget ${2 * tags + REPOSITORIES + catalogPages})`,
          `  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB, heap used ${(process.memoryUsage().heapUsed / 1048576).toFixed(0)} MB`,
        ].join('\n'),
      );

      // correctness: every tag found, with the seed's digest and time; digest duplicates merged
      const expectedImages = new Set(reg.seeded.map((s) => `${s.repository}@${s.digest}`));
      expect(result.targets).toHaveLength(expectedImages.size);
      expect(result.targets.reduce((n, t) => n + (t.tags?.length ?? 0), 0)).toBe(tags);
      const seededBy = new Map(reg.seeded.map((s) => [`${s.repository}:${s.tag}`, s]));
      for (const t of result.targets) {
        const s = seededBy.get(`${t.repository}:${t.tag}`)!;
        expect([t.digest, t.createdAt]).toEqual([s.digest, s.created]);
      }
      expect(requests).toBeLessThanOrEqual(2 * tags + REPOSITORIES + catalogPages);
    }
  } finally {
    await reg.close();
  }
});
