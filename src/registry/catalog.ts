import type { ECRClient } from '@aws-sdk/client-ecr';
import type { Clock } from '../infra/clock.js';
import type { HttpClient } from '../infra/http.js';
import type { Logger } from '../infra/logger.js';
import { createRegistryClient, type RegistryCredentials } from './client.js';
import { createDockerHubCatalog } from './docker-hub.js';
import { createEcrCatalog } from './ecr.js';
import { parseEcrHost } from './ecr-host.js';
import { createGhcrCatalog } from './ghcr.js';
import { createOciCatalog } from './oci-catalog.js';
import { DOCKER_HUB, normaliseRegistryHost } from '../targets/reference.js';

// One interface over every way of listing a registry: the distribution API where `_catalog` works, and each
// big registry's own API where it does not (Docker Hub, GHCR, ECR). Discovery sees only this.

export interface CatalogImage {
  tag: string;
  digest?: string;
  /** Creation or push time, ISO 8601, when the registry tells it. */
  createdAt?: string;
}

interface ListImagesOptions {
  /** The tag filter: an adapter may leave other tags out before spending requests on them. */
  selectTags?: (tag: string) => boolean;
  /**
   * Whether creation times are needed, given how many tags were selected (default: always). Where they cost a
   * request per image (the distribution API's config blob), an adapter leaves them out when this says no.
   */
  needsCreated?: (selectedTags: number) => boolean;
}

export interface RegistryCatalog {
  /** Full repository names (`team/app`), limited to those under `namespace` when given. */
  listRepositories(namespace?: string): Promise<string[]>;
  listImages(repository: string, options?: ListImagesOptions): Promise<CatalogImage[]>;
  /** The creation time of an image that `listImages` gave without it (adapters that can leave it out). */
  createdAt?(repository: string, digest: string): Promise<string | undefined>;
  /** HTTP requests sent so far (for the report and the benchmark), when the adapter counts them. */
  requestCount?(): number;
}

export interface CatalogDeps {
  http: HttpClient;
  logger: Logger;
  credentials?: RegistryCredentials;
  /** For GHCR: the GitHub token (`github-token`) and API base (`GITHUB_API_URL`). */
  githubToken?: string;
  githubApiUrl?: string;
  /** Docker Hub API base (tests point it at a local server). */
  dockerHubApiUrl?: string;
  /** For ECR: an ECR client (tests inject one with a local `endpoint`); default: the AWS SDK's chain. */
  ecrClient?: Pick<ECRClient, 'send'>;
  /** Scheme for plain distribution registries (default https; local hosts fall back to http). */
  scheme?: 'https' | 'http';
  clock?: Clock;
  /** Concurrent manifest/config requests per registry (default 16). */
  concurrency?: number;
}

export type CatalogKind = 'dockerhub' | 'ghcr' | 'ecr' | 'oci';

/** Which API lists this host (pure; host without namespace). */
export function catalogKindFor(host: string): CatalogKind {
  const h = host.toLowerCase();
  if (normaliseRegistryHost(h) === DOCKER_HUB) return 'dockerhub';
  if (h === 'ghcr.io') return 'ghcr';
  if (parseEcrHost(h)) return 'ecr';
  return 'oci';
}

export async function createCatalog(registry: string, deps: CatalogDeps): Promise<RegistryCatalog> {
  switch (catalogKindFor(registry)) {
    case 'dockerhub':
      return createDockerHubCatalog({
        http: deps.http,
        logger: deps.logger,
        credentials: deps.credentials,
        baseUrl: deps.dockerHubApiUrl,
      });
    case 'ghcr':
      return createGhcrCatalog({
        http: deps.http,
        logger: deps.logger,
        token:
          deps.githubToken ??
          (deps.credentials && 'password' in deps.credentials ? deps.credentials.password : undefined),
        apiUrl: deps.githubApiUrl,
      });
    case 'ecr': {
      const parsed = parseEcrHost(registry)!;
      let client = deps.ecrClient;
      if (!client) {
        // loaded on demand: the SDK is large and only ECR users need it
        const { ECRClient } = await import('@aws-sdk/client-ecr');
        client = new ECRClient({ region: parsed.region });
      }
      return createEcrCatalog({ client, registryId: parsed.accountId, logger: deps.logger });
    }
    default:
      return createOciCatalog({
        client: createRegistryClient({
          registry,
          credentials: deps.credentials,
          http: deps.http,
          logger: deps.logger,
          scheme: deps.scheme,
          clock: deps.clock,
        }),
        logger: deps.logger,
        concurrency: deps.concurrency,
      });
  }
}
