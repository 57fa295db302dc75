import { ConfigurationError } from '../errors.js';
import type { HttpClient, HttpResponse } from '../infra/http.js';
import type { Logger } from '../infra/logger.js';
import type { CatalogImage, RegistryCatalog } from './catalog.js';
import type { RegistryCredentials } from './client.js';
import { nextPageOnSameHost } from './credential-hosts.js';
import { RegistryAuthError, RegistryError } from './errors.js';

// Docker Hub has no `_catalog`; its own API lists a namespace's repositories and their tags with digests and
// push times: /v2/namespaces/{ns}/repositories and .../{repo}/tags, paged by an absolute `next` URL.

const REGISTRY = 'docker.io';

interface HubPage<T> {
  next?: string | null;
  results?: T[];
}

interface HubRepository {
  name: string;
  namespace?: string;
}

interface HubTag {
  name: string;
  digest?: string;
  last_updated?: string;
  tag_last_pushed?: string;
  images?: { digest?: string; os?: string; architecture?: string }[];
}

export function createDockerHubCatalog(opts: {
  http: HttpClient;
  logger: Logger;
  credentials?: RegistryCredentials;
  baseUrl?: string;
}): RegistryCatalog {
  const { http, logger, credentials } = opts;
  const base = (opts.baseUrl ?? 'https://hub.docker.com').replace(/\/+$/, '');
  let requests = 0;
  let authorization: Promise<string | undefined> | undefined;

  /** Hub API calls take a JWT from /v2/users/login (password or personal access token). */
  function login(): Promise<string | undefined> {
    authorization ??= (async () => {
      if (!credentials) return undefined;
      if ('token' in credentials) {
        logger.setSecret(credentials.token);
        return `Bearer ${credentials.token}`;
      }
      logger.setSecret(credentials.password);
      requests++;
      const res = await http({
        url: `${base}/v2/users/login`,
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ username: credentials.username, password: credentials.password }),
      });
      if (res.status === 401 || res.status === 403) {
        const tried = `Docker Hub login as user ${credentials.username}`;
        throw new RegistryAuthError(
          `${REGISTRY} refused the credentials (HTTP ${res.status}; tried: ${tried}). Check registry-username / registry-password.`,
          REGISTRY,
          tried,
          'credentials',
        );
      }
      if (res.status !== 200)
        throw new RegistryError(`${REGISTRY}: login answered HTTP ${res.status}`, REGISTRY, res.status);
      const token = res.json<{ token?: string; access_token?: string }>();
      const jwt = token.token ?? token.access_token;
      if (!jwt) throw new RegistryError(`${REGISTRY}: login returned no token`, REGISTRY);
      logger.setSecret(jwt);
      return `Bearer ${jwt}`;
    })();
    return authorization;
  }

  async function get(url: string, what: string): Promise<HttpResponse> {
    const auth = await login();
    requests++;
    const res = await http({
      url,
      headers: { accept: 'application/json', ...(auth ? { authorization: auth } : {}) },
    });
    if (res.status === 401 || res.status === 403) {
      const tried =
        credentials && 'username' in credentials
          ? `Docker Hub API as user ${credentials.username}`
          : 'Docker Hub API anonymously';
      throw new RegistryAuthError(
        `${REGISTRY} refused to list ${what} (HTTP ${res.status}; tried: ${tried}).`,
        REGISTRY,
        tried,
        'access',
      );
    }
    if (res.status === 404) {
      throw new RegistryError(
        `${REGISTRY}: ${what} not found (HTTP 404): check the namespace in \`registry\`.`,
        REGISTRY,
        404,
      );
    }
    if (res.status !== 200)
      throw new RegistryError(
        `${REGISTRY}: listing ${what} answered HTTP ${res.status}`,
        REGISTRY,
        res.status,
      );
    return res;
  }

  async function all<T>(first: string, what: string): Promise<T[]> {
    const out: T[] = [];
    let next: string | null | undefined = first;
    while (next) {
      const page: HubPage<T> = (await get(next, what)).json<HubPage<T>>();
      out.push(...(page.results ?? []));
      next = nextPageOnSameHost(
        page.next ? new URL(page.next, first).toString() : undefined,
        first,
        logger,
        what,
      );
    }
    return out;
  }

  return {
    async listRepositories(namespace) {
      if (!namespace) {
        throw new ConfigurationError(
          'registry: Docker Hub cannot list all of its repositories; give a namespace, e.g. `docker.io/<user-or-org>`.',
          'registry',
        );
      }
      const ns = encodeURIComponent(namespace);
      const repos = await all<HubRepository>(
        `${base}/v2/namespaces/${ns}/repositories?page_size=100`,
        `repositories of ${namespace}`,
      );
      return repos.map((r) => `${r.namespace ?? namespace}/${r.name}`);
    },
    async listImages(repository) {
      const slash = repository.indexOf('/');
      const ns = slash > 0 ? repository.slice(0, slash) : 'library';
      const name = slash > 0 ? repository.slice(slash + 1) : repository;
      const tags = await all<HubTag>(
        `${base}/v2/namespaces/${encodeURIComponent(ns)}/repositories/${encodeURIComponent(name)}/tags?page_size=100`,
        `tags of ${repository}`,
      );
      return tags.map((t): CatalogImage => ({
        tag: t.name,
        digest: t.digest ?? (t.images?.length === 1 ? t.images[0].digest : undefined),
        createdAt: t.tag_last_pushed ?? t.last_updated,
      }));
    },
    requestCount: () => requests,
  };
}
