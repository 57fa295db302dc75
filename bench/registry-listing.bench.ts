import { expect, test } from 'vitest';
import { createHttpClient, type HttpClient } from '../src/infra/http.js';
import { MemoryLogger } from '../src/infra/logger.js';
import { createCatalog } from '../src/registry/catalog.js';
import { discoverRegistryImages } from '../src/targets/registry-discovery.js';
import { startRegistry } from '../test-support/registry.js';

// Listing a large estate on the real registry: 2,000 repositories x 3 tags (+ `latest` on every third), each with
// digest and creation time. Two cases:
// - no order needed (`max-images-per-repository: 0`, all kept): one manifest request per tag (target <= 1.05);
// - an order needed in every repository (`max-images-per-repository: 1`): manifest + config blob per tag, a digest
//   seen before costs nothing more (target <= 2.05).
// "Per tag" counts the requests made for tags (manifests, config blobs); listing requests (catalog pages, one tags
// list per repository) are printed beside them. Target: under 10 s each. Asserts only correctness.

const REPOSITORIES = 2000;
const TAGS = 3;

test('registry listing: 2,000 repositories x 3 tags', async () => {
  const seedStart = performance.now();
  const reg = await startRegistry({ seed: { repositories: REPOSITORIES, tagsPerRepository: TAGS } });
  const seedMs = performance.now() - seedStart;
  const http = createHttpClient();
  try {
    for (const [label, maxImagesPerRepository, target] of [
      ['no order needed (max-images-per-repository: 0)', 0, 1.05],
      ['newest 1 per repository (max-images-per-repository: 1)', 1, 2.05],
    ] as const) {
      const concurrency = 16;
      const logger = new MemoryLogger();
      const paths: string[] = [];
      const counting: HttpClient = (req) => {
        paths.push(new URL(req.url).pathname);
        return http(req);
      };
      const catalog = await createCatalog(reg.host, { http: counting, logger, scheme: 'http', concurrency });
      const cpuBefore = process.cpuUsage();
      const start = performance.now();
      const result = await discoverRegistryImages(
        {
          registry: reg.host,
          repositories: ['**'],
          excludeRepositories: [],
          tags: ['*'],
          excludeTags: [],
          maxImagesPerRepository,
          maxImages: 100_000,
          discoverFiles: [],
        },
        { catalog, logger, concurrency },
      );
      const ms = performance.now() - start;
      const cpu = process.cpuUsage(cpuBefore);
      const tags = reg.seeded.length;
      const manifests = paths.filter((p) => p.includes('/manifests/')).length;
      const blobs = paths.filter((p) => p.includes('/blobs/')).length;
      const listing = paths.length - manifests - blobs;
      const perTag = (manifests + blobs) / tags;
      console.log(
        [
          `${label}: ${REPOSITORIES} repositories, ${tags} tags -> ${result.targets.length} images, concurrency ${concurrency}`,
          `  time ${(ms / 1000).toFixed(2)} s (seeding ${(seedMs / 1000).toFixed(2)} s, not counted), client CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`,
          `  per tag ${perTag.toFixed(2)} requests (${manifests} manifests + ${blobs} config blobs; target <= ${target})`,
          `  listing ${listing} requests (catalog pages + a tags list per repository); all ${paths.length} = ${(paths.length / tags).toFixed(2)} per tag`,
          `  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB, heap used ${(process.memoryUsage().heapUsed / 1048576).toFixed(0)} MB`,
        ].join('\n'),
      );

      // correctness: every tag found with the seed's digest (and time, where an order needed it); duplicates merged
      expect(result.requests).toBe(paths.length);
      const expectedImages = new Set(reg.seeded.map((s) => `${s.repository}@${s.digest}`));
      const seededBy = new Map(reg.seeded.map((s) => [`${s.repository}:${s.tag}`, s]));
      if (maxImagesPerRepository === 0) {
        expect(result.targets).toHaveLength(expectedImages.size);
        expect(result.targets.reduce((n, t) => n + (t.tags?.length ?? 0), 0)).toBe(tags);
      } else {
        expect(result.targets).toHaveLength(REPOSITORIES);
      }
      for (const t of result.targets) {
        const s = seededBy.get(`${t.repository}:${t.tag}`)!;
        expect([t.digest, t.createdAt]).toEqual([s.digest, maxImagesPerRepository ? s.created : undefined]);
      }
    }
  } finally {
    await reg.close();
  }
});
