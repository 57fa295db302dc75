import pLimit from 'p-limit';
import type { DiscoveryConfig } from '../config.js';
import { ConfigurationError } from '../errors.js';
import type { Logger } from '../infra/logger.js';
import { plural } from '../infra/wording.js';
import type { SkippedTarget, Target } from '../model.js';
import type { CatalogImage, RegistryCatalog } from '../registry/catalog.js';
import { RegistryAuthError, RegistryError, RegistryNotListableError } from '../registry/errors.js';
import { compileRepositoryFilter, compileTagFilter } from './filters.js';
import { capUniqueImages } from './max-images.js';
import { DOCKER_HUB, normaliseRegistryHost } from './reference.js';

// Registry discovery: list repositories (under a namespace), filter them, list each one's tags with digest and
// creation time, filter tags, merge tags that share a digest into one image, keep the newest per repository, then
// cap the whole registry at max-images, listing the rest as skipped (never dropped silently).
//
// A discovered Target's `ref` is `host/repository:tag` with the newest tag of its digest, and `digest` is set:
// the ref reads well in reports, the digest pins what was discovered (the scan stage scans by digest).

export interface DiscoveryResult {
  targets: Target[];
  skipped: SkippedTarget[];
  /** Requests the catalog sent, when it counts them. */
  requests?: number;
}

export interface DiscoveryDeps {
  catalog: RegistryCatalog;
  logger: Logger;
  /** Repositories described at once (default 16). */
  concurrency?: number;
}

/** `host[:port][/namespace]` -> parts; docker.io aliases normalise to `docker.io`. */
export function parseRegistryLocation(registry: string): { host: string; namespace?: string } {
  const trimmed = registry
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/+$/, '');
  const slash = trimmed.indexOf('/');
  let host = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const namespace = slash < 0 ? undefined : trimmed.slice(slash + 1) || undefined;
  if (!host)
    throw new ConfigurationError(
      '`registry` is empty: give host[:port][/namespace], e.g. ghcr.io/acme.',
      'registry',
    );
  const problem = registryHostProblem(host) ?? (namespace ? namespaceProblem(namespace) : undefined);
  if (problem) {
    throw new ConfigurationError(
      `\`registry\` is "${registry.trim()}": ${problem}. Give host[:port][/namespace], e.g. ghcr.io/acme, ` +
        'registry.example.com:5000/team or localhost:5000.',
      'registry',
    );
  }
  if (normaliseRegistryHost(host) === DOCKER_HUB) host = DOCKER_HUB;
  return { host, namespace };
}

/** A DNS name, an IPv4 address or a bracketed IPv6 address, then an optional port (1-65535). */
function registryHostProblem(host: string): string | undefined {
  const m =
    /^(\[[0-9a-f:.]+\]|[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*)(?::(\d{1,5}))?$/i.exec(
      host,
    );
  if (!m) return `${JSON.stringify(host)} is not a host name`;
  if (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65_535))
    return `port ${m[2]} is out of range`;
  return undefined;
}

/** Repository path components as image references allow them (GHCR owners may be written in capitals). */
function namespaceProblem(namespace: string): string | undefined {
  const component = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/i;
  return namespace.split('/').every((c) => component.test(c))
    ? undefined
    : `the namespace ${JSON.stringify(namespace)} is not a repository path (letters, digits, . _ - separated by /)`;
}

/** Newest first: createdAt descending (unknown last), then tag name, so the order never depends on the network. */
function byNewest(a: { createdAt?: string; tag: string }, b: { createdAt?: string; tag: string }): number {
  const ta = a.createdAt ? Date.parse(a.createdAt) : Number.NEGATIVE_INFINITY;
  const tb = b.createdAt ? Date.parse(b.createdAt) : Number.NEGATIVE_INFINITY;
  if (ta !== tb) return tb > ta ? 1 : -1;
  return a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0;
}

/** Tags sharing a digest become one image: its tag is the newest (name as tiebreak), `tags` lists them all. */
function mergeByDigest(
  images: readonly CatalogImage[],
): { tag: string; tags: string[]; digest?: string; createdAt?: string }[] {
  const sorted = [...images].sort(byNewest);
  const groups = new Map<string, { tag: string; tags: string[]; digest?: string; createdAt?: string }>();
  for (const image of sorted) {
    const key = image.digest ?? `tag:${image.tag}`;
    const group = groups.get(key);
    if (group) group.tags.push(image.tag);
    else
      groups.set(key, {
        tag: image.tag,
        tags: [image.tag],
        digest: image.digest,
        createdAt: image.createdAt,
      });
  }
  return [...groups.values()].sort(byNewest);
}

export async function discoverRegistryImages(
  cfg: DiscoveryConfig,
  deps: DiscoveryDeps,
): Promise<DiscoveryResult> {
  if (!cfg.registry) return { targets: [], skipped: [] };
  const { host, namespace } = parseRegistryLocation(cfg.registry);
  const { catalog, logger } = deps;
  // compile before any request: a bad pattern is the user's to fix, not a network failure
  const repoFilter = compileRepositoryFilter(cfg.repositories, cfg.excludeRepositories, namespace);
  const tagFilter = compileTagFilter(cfg.tags, cfg.excludeTags);

  let repositories: string[];
  try {
    repositories = await catalog.listRepositories(namespace);
  } catch (e) {
    if (
      e instanceof RegistryNotListableError ||
      e instanceof RegistryAuthError ||
      e instanceof ConfigurationError
    )
      throw e;
    throw new Error(
      `Cannot list the repositories of ${cfg.registry}: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  const selected = repositories.filter(repoFilter).sort();
  logger.info(
    `${cfg.registry}: ${plural(repositories.length, 'repository', 'repositories')}, ${selected.length} selected by the filters`,
  );

  const limit = pLimit(deps.concurrency ?? 16);
  const skipped: SkippedTarget[] = [];
  let overPerRepository = 0;
  const perRepository = await Promise.all(
    selected.map((repository) =>
      limit(async (): Promise<Target[]> => {
        let images: CatalogImage[];
        try {
          images = await catalog.listImages(repository, {
            selectTags: tagFilter,
            needsCreated: (selectedTags) =>
              cfg.maxImagesPerRepository > 0 && selectedTags > cfg.maxImagesPerRepository,
          });
        } catch (e) {
          if (e instanceof RegistryAuthError) throw e;
          const reason = `cannot list tags: ${e instanceof Error ? e.message : String(e)}`;
          logger.warning(`${host}/${repository}: ${reason}`);
          skipped.push({ ref: `${host}/${repository}`, reason });
          return [];
        }
        const merged = mergeByDigest(images.filter((i) => tagFilter(i.tag)));
        const kept = cfg.maxImagesPerRepository > 0 ? merged.slice(0, cfg.maxImagesPerRepository) : merged;
        overPerRepository += merged.length - kept.length;
        return kept.map((image): Target => ({
          ref: `${host}/${repository}:${image.tag}`,
          input: `${host}/${repository}:${image.tag}`,
          registry: host,
          repository,
          tag: image.tag,
          ...(image.digest ? { digest: image.digest } : {}),
          tags: image.tags,
          origins: [],
          sources: ['registry'],
          ...(image.createdAt ? { createdAt: image.createdAt } : {}),
        }));
      }),
    ),
  );
  if (overPerRepository > 0) {
    logger.info(
      `${cfg.registry}: ${overPerRepository} older images left out by max-images-per-repository (${cfg.maxImagesPerRepository})`,
    );
  }

  // Across the registry: newest first, then the cap on unique images (a digest found in several repositories is
  // one image to scan, so only its first appearance counts).
  const found = perRepository.flat();
  if (new Set(found.map((t) => t.digest ?? t.ref)).size > cfg.maxImages) {
    await addMissingCreationTimes(found, catalog, logger);
  }
  const all = found.sort((a, b) =>
    byNewest({ createdAt: a.createdAt, tag: a.ref }, { createdAt: b.createdAt, tag: b.ref }),
  );
  const { kept: targets, over, found: unique } = capUniqueImages(all, cfg.maxImages);
  if (over.length > 0) {
    const reason = `over max-images (${cfg.maxImages})`;
    for (const t of over) skipped.push({ ref: t.digest ? `${t.ref}@${t.digest}` : t.ref, reason });
    logger.warning(
      `${cfg.registry}: ${unique} images match; scanning the newest ${cfg.maxImages} (max-images), ` +
        `${over.length} listed as skipped. Raise max-images or narrow repositories / tags to change this.`,
    );
  }
  const requests = catalog.requestCount?.();
  logger.info(
    `Discovered ${plural(targets.length, 'image')} to scan in ${cfg.registry}${requests !== undefined ? ` (${requests} registry requests)` : ''}`,
  );
  return { targets, skipped, ...(requests !== undefined ? { requests } : {}) };
}

/**
 * Creation times for images listed without them (no per-repository order was needed), now that the max-images cap
 * needs a registry-wide order. One lookup per digest; an image whose time cannot be read sorts last, with a warning.
 */
async function addMissingCreationTimes(
  targets: Target[],
  catalog: RegistryCatalog,
  logger: Logger,
): Promise<void> {
  const lookup = catalog.createdAt?.bind(catalog);
  if (!lookup) return;
  const byDigest = new Map<string, Promise<string | undefined>>();
  await Promise.all(
    targets.map(async (target) => {
      if (target.createdAt || !target.digest) return;
      const digest = target.digest;
      let created = byDigest.get(digest);
      if (!created) {
        created = lookup(target.repository, digest).catch((e: unknown) => {
          if (e instanceof RegistryAuthError || !(e instanceof RegistryError)) throw e;
          logger.warning(`${target.ref}: creation time unknown, ordered last: ${e.message}`);
          return undefined;
        });
        byDigest.set(digest, created);
      }
      const createdAt = await created;
      if (createdAt) target.createdAt = createdAt;
    }),
  );
}
