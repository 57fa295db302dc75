import { ConfigurationError } from '../errors.js';
import type { HttpClient, HttpResponse } from '../infra/http.js';
import type { Logger } from '../infra/logger.js';
import type { CatalogImage, RegistryCatalog } from './catalog.js';
import { nextPageOnSameHost } from './credential-hosts.js';
import { RegistryAuthError, RegistryError } from './errors.js';
import { nextLink } from './http-headers.js';

// GHCR has no `_catalog`; the GitHub Packages API lists an owner's container packages and their versions (one per
// digest, with its tags and `updated_at`). Owners are organisations or users: we try the org endpoint first.

const REGISTRY = 'ghcr.io';

interface PackageVersion {
  name: string; // the digest
  updated_at?: string;
  created_at?: string;
  metadata?: { container?: { tags?: string[] } };
}

export function createGhcrCatalog(opts: {
  http: HttpClient;
  logger: Logger;
  token?: string;
  apiUrl?: string;
}): RegistryCatalog {
  const { http, logger, token } = opts;
  const api = (opts.apiUrl ?? 'https://api.github.com').replace(/\/+$/, '');
  if (token) logger.setSecret(token);
  let requests = 0;
  const ownerKind = new Map<string, 'orgs' | 'users'>();

  async function get(url: string, what: string, allow404 = false): Promise<HttpResponse | undefined> {
    requests++;
    const res = await http({
      url,
      headers: {
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    });
    if (res.status === 404 && allow404) return undefined;
    if (res.status === 401 || res.status === 403) {
      const tried = token ? 'the GitHub token (github-token)' : 'no token';
      throw new RegistryAuthError(
        `${REGISTRY}: GitHub refused to list ${what} (HTTP ${res.status}; tried: ${tried}). ` +
          'The token needs the `read:packages` permission (workflow: `permissions: packages: read`).',
        REGISTRY,
        tried,
        'access',
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

  async function all<T>(first: string, what: string, allow404 = false): Promise<T[] | undefined> {
    const out: T[] = [];
    let next: string | undefined = first;
    while (next) {
      const res = await get(next, what, allow404 && next === first);
      if (!res) return undefined;
      out.push(...res.json<T[]>());
      next = nextPageOnSameHost(nextLink(res.headers.get('link'), res.url), first, logger, what);
    }
    return out;
  }

  /** Runs `list` against /orgs/{owner} then /users/{owner}, remembering which one the owner is. */
  async function forOwner<T>(owner: string, path: string, what: string): Promise<T[]> {
    const known = ownerKind.get(owner);
    for (const kind of known ? [known] : (['orgs', 'users'] as const)) {
      const found = await all<T>(`${api}/${kind}/${encodeURIComponent(owner)}${path}`, what, !known);
      if (found) {
        ownerKind.set(owner, kind);
        return found;
      }
    }
    throw new RegistryError(
      `${REGISTRY}: ${what}: no organisation or user named ${owner} (HTTP 404)`,
      REGISTRY,
      404,
    );
  }

  return {
    async listRepositories(namespace) {
      if (!namespace) {
        throw new ConfigurationError(
          'registry: GHCR needs an owner, e.g. `ghcr.io/<org-or-user>`.',
          'registry',
        );
      }
      const owner = namespace.split('/')[0];
      const packages = await forOwner<{ name: string }>(
        owner,
        '/packages?package_type=container&per_page=100',
        `packages of ${owner}`,
      );
      const prefix = `${namespace.toLowerCase()}/`;
      return packages
        .map((p) => `${owner.toLowerCase()}/${p.name.toLowerCase()}`)
        .filter((r) => r.startsWith(prefix));
    },
    async listImages(repository) {
      const slash = repository.indexOf('/');
      const owner = repository.slice(0, slash);
      const name = repository.slice(slash + 1);
      const versions = await forOwner<PackageVersion>(
        owner,
        `/packages/container/${encodeURIComponent(name)}/versions?per_page=100`,
        `versions of ${repository}`,
      );
      return versions.flatMap((v) =>
        (v.metadata?.container?.tags ?? []).map((tag): CatalogImage => ({
          tag,
          digest: v.name,
          createdAt: v.updated_at ?? v.created_at,
        })),
      );
    },
    requestCount: () => requests,
  };
}
