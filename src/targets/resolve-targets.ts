import type { Config } from '../config.js';
import type { HttpClient } from '../infra/http.js';
import type { Clock } from '../infra/clock.js';
import type { Logger } from '../infra/logger.js';
import type { SkippedTarget, Target } from '../model.js';
import { registryCredentialsOf, type HostCredential } from '../auth/host-credential.js';
import { createCatalog, type CatalogDeps } from '../registry/catalog.js';
import { discoverFileReferences } from './file-references.js';
import { capUniqueImages } from './max-images.js';
import { mergeTargets } from './merge-targets.js';
import { discoverRegistryImages, parseRegistryLocation } from './registry-discovery.js';

export interface ResolvedTargets {
  targets: Target[];
  skipped: SkippedTarget[];
}

/** Images found in the repository's files: no network, so it runs before credentials are resolved. */
export async function findFileTargets(config: Config, logger: Logger): Promise<ResolvedTargets> {
  // discoverFileReferences says each reference it cannot scan, once, on its line.
  const found = await discoverFileReferences(config.discovery.discoverFiles, {
    workspace: config.workspace,
    logger,
    ...(config.trivy.platform ? { platform: config.trivy.platform } : {}),
  });
  // Each unresolved reference was logged once by discoverFileReferences; the summary lists them as skipped.
  return { targets: found.targets, skipped: found.unresolved };
}

/**
 * All the images of this run: listed + discovered in the registry + found in files, one Target per normalised
 * reference (origins and sources merged), capped at `max-images` — the rest listed as skipped, never dropped silently.
 */
export async function resolveTargets(
  config: Config,
  listed: Target[],
  fromFiles: ResolvedTargets,
  credentials: readonly HostCredential[],
  deps: { logger: Logger; http: HttpClient; clock: Clock; env: NodeJS.ProcessEnv } & Partial<CatalogDeps>,
): Promise<ResolvedTargets> {
  const skipped: SkippedTarget[] = [...fromFiles.skipped];
  let fromRegistry: Target[] = [];
  if (config.discovery.registry) {
    const { host } = parseRegistryLocation(config.discovery.registry);
    const unavailable = credentials.find((c) => c.registry === host)?.unavailable;
    if (unavailable)
      throw new Error(`Cannot discover images in ${config.discovery.registry}: ${unavailable}`);
    const catalog = await createCatalog(host, {
      http: deps.http,
      logger: deps.logger,
      clock: deps.clock,
      credentials: registryCredentialsOf(credentials.find((c) => c.registry === host)),
      githubToken: config.githubToken,
      githubApiUrl: deps.env.GITHUB_API_URL,
      dockerHubApiUrl: deps.dockerHubApiUrl ?? deps.env.IMAGE_SCAN_GATE_DOCKER_HUB_API_URL,
      ecrClient: deps.ecrClient,
    });
    const discovered = await discoverRegistryImages(config.discovery, { catalog, logger: deps.logger });
    fromRegistry = discovered.targets;
    skipped.push(...discovered.skipped);
    // discoverRegistryImages said how many it found (and at what cost in requests): not said twice.
  }
  const all = mergeTargets(listed, fromRegistry, fromFiles.targets);
  const max = config.discovery.maxImages;
  const { kept, over, found } = capUniqueImages(all, max);
  if (over.length > 0) {
    deps.logger.warning(
      `${found} images found; scanning the first ${max} ` +
        `(max-images). ${over.length} are listed as skipped in the summary and the results file: raise max-images, ` +
        'narrow the filters, or shard with mode: discover.',
    );
    for (const t of over)
      skipped.push({ ref: t.ref, reason: `over max-images (${max})`, origins: t.origins });
  }
  // A skipped entry whose image is scanned after all (listed elsewhere) is not skipped.
  const scannedRefs = new Set(kept.map((t) => t.ref));
  return { targets: kept, skipped: skipped.filter((s) => !scannedRefs.has(s.ref)) };
}
