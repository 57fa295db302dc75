import { registryCredentialsOf, type HostCredential } from '../auth/host-credential.js';
import { errorMessage } from '../errors.js';
import type { Clock } from '../infra/clock.js';
import type { HttpClient } from '../infra/http.js';
import type { Logger } from '../infra/logger.js';
import type { ImageResult } from '../model.js';
import { catalogKindFor, createCatalog } from '../registry/catalog.js';
import { createRegistryClient } from '../registry/client.js';
import {
  candidateTarget,
  needsBaseImageAdvice,
  newerTagsOnTrack,
  type BaseImagePlan,
} from './base-image-candidates.js';

export interface BaseImageTagDeps {
  logger: Logger;
  http: HttpClient;
  clock: Clock;
  credentials: readonly HostCredential[];
  env: NodeJS.ProcessEnv;
  githubToken?: string;
}

/**
 * For each Dockerfile FROM image with fixable findings, the newer tags on its track (at most `max`), listed with the
 * credentials of the image's own host — as discovery lists a registry. A repository that cannot be listed costs
 * only its advice (a warning), never the run.
 */
export async function findBaseImageCandidates(
  images: readonly ImageResult[],
  max: number,
  deps: BaseImageTagDeps,
): Promise<BaseImagePlan[]> {
  if (max <= 0) return [];
  const plans: BaseImagePlan[] = [];
  const tagsOf = new Map<string, Promise<string[]>>();
  for (const image of images.filter(needsBaseImageAdvice)) {
    const { registry, repository, tag } = image.target;
    const key = `${registry}/${repository}`;
    let listing = tagsOf.get(key);
    if (!listing) {
      listing = listTags(registry, repository, deps);
      tagsOf.set(key, listing);
    }
    let tags: string[];
    try {
      tags = await listing;
    } catch (e) {
      deps.logger.warning(
        `Base image advice for ${image.target.ref}: cannot list the tags of ${key}: ${errorMessage(e)}`,
      );
      continue;
    }
    const newer = newerTagsOnTrack(tag ?? '', tags, max);
    deps.logger.info(
      `Base image advice for ${image.target.ref}: ${newer.length ? `scanning ${newer.join(', ')}` : 'no newer tag on its track'}.`,
    );
    if (newer.length > 0)
      plans.push({ image, candidates: newer.map((t) => candidateTarget(image.target, t)) });
  }
  return plans;
}

async function listTags(registry: string, repository: string, deps: BaseImageTagDeps): Promise<string[]> {
  const credential = deps.credentials.find((c) => c.registry === registry);
  if (credential?.unavailable) throw new Error(credential.unavailable);
  const credentials = registryCredentialsOf(credential);
  // The distribution API's tag list where it answers; the big registries' own APIs where discovery uses them.
  if (catalogKindFor(registry) === 'oci') {
    const client = createRegistryClient({
      registry,
      credentials,
      http: deps.http,
      logger: deps.logger,
      clock: deps.clock,
    });
    return client.listTags(repository);
  }
  const catalog = await createCatalog(registry, {
    http: deps.http,
    logger: deps.logger,
    clock: deps.clock,
    credentials,
    githubToken: deps.githubToken,
    githubApiUrl: deps.env.GITHUB_API_URL,
    dockerHubApiUrl: deps.env.IMAGE_SCAN_GATE_DOCKER_HUB_API_URL,
  });
  return (await catalog.listImages(repository)).map((i) => i.tag);
}
