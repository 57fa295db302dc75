import { createHash } from 'node:crypto';
import { systemClock, type Clock } from '../infra/clock.js';
import type { HttpClient, HttpRequest, HttpResponse } from '../infra/http.js';
import type { Logger } from '../infra/logger.js';
import { nextPageOnSameHost, realmMayReceiveCredentials, sameHost } from './credential-hosts.js';
import { RegistryAuthError, RegistryError, RegistryNotListableError } from './errors.js';
import { nextLink, parseWwwAuthenticate, type AuthChallenge } from './http-headers.js';
import { isIndexMediaType, MANIFEST_ACCEPT } from './media-types.js';

// An OCI distribution client for what discovery needs: the catalog, tags, digests and creation times.
// Auth is challenge-driven (as Docker does it): a request goes out, a 401 names the scheme (and for Bearer the
// realm, service and scope), we answer it and resend. What a challenge taught us is remembered, so later requests
// carry credentials up front (Basic) or a cached token for their scope (Bearer) instead of a 401 round trip each.
// Credentials go only where ./credential-hosts.ts allows: the registry's own host, and a token realm it may use.

export type RegistryCredentials = { username: string; password: string } | { token: string };

export interface RegistryClientOptions {
  registry: string; // host[:port]
  credentials?: RegistryCredentials;
  http: HttpClient;
  logger: Logger;
  /** Forced scheme. Default https; for localhost, 127.0.0.1 and [::1], http when https cannot connect. */
  scheme?: 'https' | 'http';
  clock?: Clock;
  /** `n` for `_catalog` pages (distribution refuses more than its `catalog.maxentries`, default 1000). */
  catalogPageSize?: number;
}

interface ManifestDescription {
  digest: string;
  mediaType: string;
}

interface ImageDescription extends ManifestDescription {
  /** The image config's `created` (for an index: its linux/amd64 image, else its first). */
  createdAt?: string;
}

export interface RegistryClient {
  readonly registry: string;
  listRepositories(): Promise<string[]>;
  listTags(repository: string): Promise<string[]>;
  resolveDigest(repository: string, reference: string): Promise<ManifestDescription>;
  getCreated(repository: string, digest: string): Promise<string | undefined>;
  /**
   * Digest and creation time of a tag in as few requests as the registry allows (GET manifest + GET config).
   * `{ created: false }` stops at the manifest (one request); `getCreated` on its digest later costs only the config.
   */
  describeImage(
    repository: string,
    reference: string,
    options?: { created?: boolean },
  ): Promise<ImageDescription>;
  /** HTTP requests sent to the registry and its token server so far. */
  requestCount(): number;
}

interface ManifestLike {
  mediaType?: string;
  config?: { digest?: string };
  manifests?: { digest: string; mediaType?: string; platform?: { os?: string; architecture?: string } }[];
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);
const CATALOG_SCOPE = 'registry:catalog:*';

function hostname(registry: string): string {
  return registry.startsWith('[') ? registry.slice(0, registry.indexOf(']') + 1) : registry.split(':')[0];
}

/** The scope a request needs, derived from its path the way distribution's token auth defines it. */
export function scopeForPath(path: string): string | undefined {
  if (path.startsWith('/v2/_catalog')) return CATALOG_SCOPE;
  const m = /^\/v2\/(.+?)\/(?:manifests|blobs|tags)\//.exec(path);
  return m ? `repository:${m[1]}:pull` : undefined;
}

interface CachedToken {
  value: Promise<string>;
  expiresAt: number; // epoch ms; Infinity until the token arrives
}

interface BearerRealm {
  realm: string;
  service?: string;
}

export function createRegistryClient(opts: RegistryClientOptions): RegistryClient {
  const { registry, http, logger, credentials } = opts;
  const clock = opts.clock ?? systemClock;
  const pageSize = Math.min(opts.catalogPageSize ?? 1000, 1000);
  let requests = 0;
  let basePromise: Promise<string> | undefined;
  /** What the registry asked for, once seen: later requests answer up front. */
  let learned: { scheme: 'basic' } | { scheme: 'bearer'; realm: BearerRealm } | undefined;
  const tokens = new Map<string, CachedToken>();
  const createdByManifest = new Map<string, Promise<string | undefined>>();
  const createdByConfig = new Map<string, Promise<string | undefined>>();
  /** Manifests described without their creation time, kept so that asking for it later skips the manifest GET. */
  const manifestsWithoutCreated = new Map<string, { mediaType: string; manifest: ManifestLike }>();

  if (credentials && 'password' in credentials) logger.setSecret(credentials.password);
  if (credentials && 'token' in credentials) logger.setSecret(credentials.token);
  const user = credentials && 'username' in credentials ? credentials.username : undefined;

  async function send(req: HttpRequest): Promise<HttpResponse> {
    requests++;
    return http(req);
  }

  function baseUrl(): Promise<string> {
    basePromise ??= (async () => {
      if (opts.scheme) return `${opts.scheme}://${registry}`;
      if (!LOCAL_HOSTS.has(hostname(registry))) return `https://${registry}`;
      // Docker's insecure-localhost default: a local registry may speak plain HTTP.
      try {
        await send({ url: `https://${registry}/v2/`, attempts: 1, timeoutMs: 10_000 });
        return `https://${registry}`;
      } catch {
        logger.debug(`${registry}: no HTTPS answer, using plain HTTP (local registry)`);
        return `http://${registry}`;
      }
    })();
    return basePromise;
  }

  function describeTried(kind: 'basic' | 'bearer' | 'token' | 'none', realm?: string): string {
    if (kind === 'token') return 'the bearer token given (registry-token)';
    if (kind === 'basic') return `Basic as user ${user ?? '(none)'}`;
    if (kind === 'bearer') {
      const as =
        user && realm && realmMayReceiveCredentials(registry, realm) ? `as user ${user}` : 'anonymously';
      return `Bearer token from ${realm} ${as}`;
    }
    return 'no credentials';
  }

  let warnedRealms: Set<string> | undefined;
  /** Basic credentials for a token realm, where the realm may have them (one warning per realm where not). */
  function realmAuthorization(realm: string): string | undefined {
    const header = basicHeader();
    if (!header || realmMayReceiveCredentials(registry, realm)) return header;
    warnedRealms ??= new Set();
    if (!warnedRealms.has(realm)) {
      warnedRealms.add(realm);
      logger.warning(
        `${registry} sends us to a token server on another host (${new URL(realm).host}); the credentials for ` +
          `${registry} are not sent there, a token is asked for anonymously.`,
      );
    }
    return undefined;
  }

  async function fetchToken(
    realm: BearerRealm,
    scope: string | undefined,
  ): Promise<{ token: string; expiresIn: number }> {
    const url = new URL(realm.realm);
    if (realm.service) url.searchParams.set('service', realm.service);
    if (scope) url.searchParams.set('scope', scope);
    const authorization = realmAuthorization(realm.realm);
    const res = await send({ url: url.toString(), headers: authorization ? { authorization } : {} });
    if (res.status === 401 || res.status === 403) {
      const tried = describeTried('bearer', realm.realm);
      throw new RegistryAuthError(
        `${registry}: the token server refused the credentials (HTTP ${res.status}; tried: ${tried}). ` +
          'Check registry-username / registry-password (or registry-auth) for this registry.',
        registry,
        tried,
        'credentials',
      );
    }
    if (res.status !== 200) {
      throw new RegistryError(
        `${registry}: token server ${url.origin}${url.pathname} answered HTTP ${res.status}`,
        registry,
        res.status,
      );
    }
    const body = res.json<{ token?: string; access_token?: string; expires_in?: number }>();
    const token = body.token ?? body.access_token;
    if (!token)
      throw new RegistryError(
        `${registry}: token server ${url.origin}${url.pathname} returned no token`,
        registry,
      );
    logger.setSecret(token);
    return { token, expiresIn: body.expires_in && body.expires_in > 0 ? body.expires_in : 60 };
  }

  /** One token per realm+service+scope, shared by concurrent requests, renewed shortly before it expires. */
  function tokenFor(realm: BearerRealm, scope: string | undefined, forceNew = false): Promise<string> {
    const key = `${realm.realm}|${realm.service ?? ''}|${scope ?? ''}`;
    const cached = tokens.get(key);
    if (cached && !forceNew && cached.expiresAt > clock.now().getTime()) return cached.value;
    const entry: CachedToken = { value: Promise.resolve(''), expiresAt: Number.POSITIVE_INFINITY };
    entry.value = fetchToken(realm, scope).then(
      ({ token, expiresIn }) => {
        const margin = Math.min(10, expiresIn / 10) * 1000;
        entry.expiresAt = clock.now().getTime() + expiresIn * 1000 - margin;
        return token;
      },
      (e: unknown) => {
        tokens.delete(key);
        throw e;
      },
    );
    tokens.set(key, entry);
    return entry.value;
  }

  function basicHeader(): string | undefined {
    if (!credentials || !('password' in credentials)) return undefined;
    return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
  }

  /** Authorization to send before any challenge for this request, from what earlier challenges taught us. */
  async function upfrontAuthorization(scope: string | undefined): Promise<string | undefined> {
    if (credentials && 'token' in credentials) return `Bearer ${credentials.token}`;
    if (learned?.scheme === 'basic') return basicHeader();
    if (learned?.scheme === 'bearer') return `Bearer ${await tokenFor(learned.realm, scope)}`;
    return undefined;
  }

  /**
   * Sends a request to the registry, answering its auth challenge. Returns any non-401 response; a 401 that
   * survives the answer becomes a RegistryAuthError saying what was tried.
   */
  async function request(
    pathOrUrl: string,
    init: { method?: string; accept?: string } = {},
  ): Promise<HttpResponse> {
    const base = await baseUrl();
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${base}${pathOrUrl}`;
    if (!sameHost(url, base)) {
      // never reached through listPaged (it stops first); kept so no caller can send credentials elsewhere
      throw new RegistryError(
        `${registry}: refusing a request to another host (${new URL(url).host})`,
        registry,
      );
    }
    const scope = scopeForPath(new URL(url).pathname);
    const headers: Record<string, string> = {};
    if (init.accept) headers.accept = init.accept;
    const go = async (authorization: string | undefined) => {
      const res = await send({
        url,
        method: init.method ?? 'GET',
        headers: authorization ? { ...headers, authorization } : headers,
      });
      if (
        res.status === 400 &&
        base.startsWith('http:') &&
        /HTTP request to an HTTPS server/i.test(res.text())
      ) {
        throw new RegistryError(
          `${registry} serves HTTPS with a certificate Node.js does not trust: give its CA in NODE_EXTRA_CA_CERTS ` +
            '(a PEM file) in the step environment.',
          registry,
          400,
        );
      }
      return res;
    };

    const first = await upfrontAuthorization(scope);
    let res = await go(first);
    if (res.status !== 401) return res;

    const challenges = parseWwwAuthenticate(res.headers.get('www-authenticate'));
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    const basic = challenges.find((c) => c.scheme === 'basic');
    if (credentials && 'token' in credentials) throw refused(describeTried('token'), 'credentials');

    if (bearer?.params.realm) {
      const realm: BearerRealm = { realm: bearer.params.realm, service: bearer.params.service };
      learned = { scheme: 'bearer', realm };
      const challengeScope = bearer.params.scope ?? scope;
      // A token we already sent and that was refused: get a fresh one once (it may have expired early).
      const token = await tokenFor(realm, challengeScope, first !== undefined);
      res = await go(`Bearer ${token}`);
      if (res.status !== 401) return res;
      throw refused(describeTried('bearer', realm.realm), 'access', challengeScope, res);
    }
    if (basic) {
      learned = { scheme: 'basic' };
      const header = basicHeader();
      if (!header) throw refused(describeTried('none'), 'credentials');
      if (first === header) throw refused(describeTried('basic'), 'credentials');
      res = await go(header);
      if (res.status !== 401) return res;
      throw refused(describeTried('basic'), 'credentials');
    }
    throw refused(describeChallenges(challenges), 'credentials');
  }

  function describeChallenges(challenges: AuthChallenge[]): string {
    return challenges.length
      ? `unsupported challenge ${challenges.map((c) => c.scheme).join(', ')}`
      : 'no challenge given';
  }

  function refused(
    tried: string,
    stage: 'credentials' | 'access',
    scope?: string,
    res?: HttpResponse,
  ): RegistryAuthError {
    const what = scope ? ` access to ${scope}` : '';
    const detail = res ? registryErrorDetail(res) : '';
    const fix = !credentials
      ? 'This registry needs credentials: set registry-username and registry-password (or registry-auth).'
      : 'Check the credentials given for this registry (registry-username / registry-password, registry-token or registry-auth).';
    return new RegistryAuthError(
      `${registry} refused${what} (HTTP 401${detail}; tried: ${tried}). ${fix}`,
      registry,
      tried,
      stage,
    );
  }

  function registryErrorDetail(res: HttpResponse): string {
    try {
      const body = res.json<{ errors?: { code?: string }[] }>();
      const codes = body.errors?.map((e) => e.code).filter(Boolean);
      return codes?.length ? `, ${codes.join(', ')}` : '';
    } catch {
      return '';
    }
  }

  function unexpected(res: HttpResponse, what: string): RegistryError {
    return new RegistryError(
      `${registry}: ${what} answered HTTP ${res.status}${registryErrorDetail(res)}`,
      registry,
      res.status,
    );
  }

  async function listPaged<T>(first: string, field: (body: T) => string[] | null | undefined, what: string) {
    const out: string[] = [];
    let next: string | undefined = first;
    const seen = new Set<string>();
    while (next && !seen.has(next)) {
      seen.add(next);
      const res = await request(next);
      if (res.status !== 200) throw unexpected(res, what);
      out.push(...(field(res.json<T>()) ?? []));
      next = nextPageOnSameHost(nextLink(res.headers.get('link'), res.url), await baseUrl(), logger, what);
    }
    return out;
  }

  async function getManifest(repository: string, reference: string) {
    const res = await request(`/v2/${repository}/manifests/${reference}`, { accept: MANIFEST_ACCEPT });
    if (res.status !== 200) throw unexpected(res, `manifest ${repository}:${reference}`);
    const manifest = res.json<ManifestLike>();
    const digest =
      res.headers.get('docker-content-digest') ??
      `sha256:${createHash('sha256').update(res.body).digest('hex')}`;
    const mediaType = manifest.mediaType ?? res.headers.get('content-type')?.split(';')[0] ?? '';
    return { digest, mediaType, manifest };
  }

  function configCreated(repository: string, configDigest: string): Promise<string | undefined> {
    let created = createdByConfig.get(configDigest);
    if (!created) {
      created = (async () => {
        const res = await request(`/v2/${repository}/blobs/${configDigest}`);
        if (res.status !== 200) throw unexpected(res, `config blob ${repository}@${configDigest}`);
        const c = res.json<{ created?: string }>().created;
        return typeof c === 'string' && c ? c : undefined;
      })();
      created.catch(() => createdByConfig.delete(configDigest));
      createdByConfig.set(configDigest, created);
    }
    return created;
  }

  /** From a manifest already in hand: its config's created, stepping into linux/amd64 (else first) of an index. */
  async function createdOf(
    repository: string,
    mediaType: string,
    manifest: ManifestLike,
  ): Promise<string | undefined> {
    if (isIndexMediaType(mediaType) || manifest.manifests) {
      const entries = manifest.manifests ?? [];
      const pick =
        entries.find((m) => m.platform?.os === 'linux' && m.platform.architecture === 'amd64') ??
        entries.find((m) => m.platform?.os !== 'unknown') ??
        entries[0];
      if (!pick) return undefined;
      return createdForDigest(repository, pick.digest);
    }
    const config = manifest.config?.digest;
    return config ? configCreated(repository, config) : undefined;
  }

  function createdForDigest(repository: string, digest: string): Promise<string | undefined> {
    let created = createdByManifest.get(digest);
    if (!created) {
      const known = manifestsWithoutCreated.get(digest);
      created = known
        ? createdOf(repository, known.mediaType, known.manifest)
        : getManifest(repository, digest).then((m) => createdOf(repository, m.mediaType, m.manifest));
      created.catch(() => createdByManifest.delete(digest));
      createdByManifest.set(digest, created);
    }
    return created;
  }

  return {
    registry,
    async listRepositories() {
      const list = (first: string) =>
        listPaged<{ repositories?: string[] }>(first, (b) => b.repositories, 'the catalog');
      try {
        try {
          return await list(`/v2/_catalog?n=${pageSize}`);
        } catch (e) {
          // n above the registry's catalog.maxentries is a 400; without n it pages at its own maximum
          if (e instanceof RegistryError && e.status === 400) return await list('/v2/_catalog');
          throw e;
        }
      } catch (e) {
        const status = e instanceof RegistryError ? e.status : undefined;
        if (status === 404 || status === 403 || (e instanceof RegistryAuthError && e.stage === 'access')) {
          throw new RegistryNotListableError(
            `${registry} does not let us list its repositories (/v2/_catalog: ${e instanceof Error ? e.message : String(e)}). ` +
              'List the images explicitly in `images`, or for Docker Hub, GHCR and ECR give the registry with its ' +
              'namespace (docker.io/<org>, ghcr.io/<owner>) so their own APIs are used.',
            registry,
          );
        }
        throw e;
      }
    },
    listTags(repository) {
      return listPaged<{ tags?: string[] | null }>(
        `/v2/${repository}/tags/list`,
        (b) => b.tags,
        `tags of ${repository}`,
      );
    },
    async resolveDigest(repository, reference) {
      const res = await request(`/v2/${repository}/manifests/${reference}`, {
        method: 'HEAD',
        accept: MANIFEST_ACCEPT,
      });
      const digest = res.headers.get('docker-content-digest');
      if (res.status !== 200 || !digest) throw unexpected(res, `manifest ${repository}:${reference}`);
      return { digest, mediaType: res.headers.get('content-type')?.split(';')[0] ?? '' };
    },
    getCreated(repository, digest) {
      return createdForDigest(repository, digest);
    },
    async describeImage(repository, reference, options) {
      const { digest, mediaType, manifest } = await getManifest(repository, reference);
      if (options?.created === false) {
        if (!createdByManifest.has(digest)) manifestsWithoutCreated.set(digest, { mediaType, manifest });
        return { digest, mediaType };
      }
      let created = createdByManifest.get(digest);
      if (!created) {
        created = createdOf(repository, mediaType, manifest);
        created.catch(() => createdByManifest.delete(digest));
        createdByManifest.set(digest, created);
      }
      return { digest, mediaType, createdAt: await created };
    },
    requestCount: () => requests,
  };
}
