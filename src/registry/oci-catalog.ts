import pLimit from 'p-limit';
import type { Logger } from '../infra/logger.js';
import type { CatalogImage, RegistryCatalog } from './catalog.js';
import type { RegistryClient } from './client.js';
import { RegistryAuthError, RegistryError } from './errors.js';

/**
 * The distribution API as a catalog: `_catalog`, then per repository its tags and, per selected tag, the manifest
 * (digest) and, when an order is needed, the config blob (`created`, the only timestamp a registry keeps). A digest
 * seen before costs one request.
 */
export function createOciCatalog(opts: {
  client: RegistryClient;
  logger: Logger;
  concurrency?: number;
}): RegistryCatalog {
  const { client, logger } = opts;
  const limit = pLimit(opts.concurrency ?? 16);
  return {
    async listRepositories(namespace) {
      const all = await client.listRepositories();
      if (!namespace) return all;
      const prefix = `${namespace.replace(/\/+$/, '')}/`;
      return all.filter((r) => r.startsWith(prefix));
    },
    async listImages(repository, options) {
      const listed = await limit(() => client.listTags(repository));
      const tags = options?.selectTags ? listed.filter(options.selectTags) : listed;
      const created = options?.needsCreated?.(tags.length) ?? true;
      return Promise.all(
        tags.map((tag) =>
          limit(async (): Promise<CatalogImage> => {
            try {
              const image = await client.describeImage(repository, tag, { created });
              return { tag, digest: image.digest, createdAt: image.createdAt };
            } catch (e) {
              if (e instanceof RegistryAuthError || !(e instanceof RegistryError)) throw e;
              // a tag deleted while we list, a manifest the registry cannot serve: keep the tag, unresolved
              logger.warning(`${client.registry}/${repository}:${tag}: ${e.message}`);
              return { tag };
            }
          }),
        ),
      );
    },
    createdAt: (repository, digest) => limit(() => client.getCreated(repository, digest)),
    requestCount: () => client.requestCount(),
  };
}
