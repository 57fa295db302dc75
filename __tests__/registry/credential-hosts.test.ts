import { describe, expect, test } from 'vitest';
import type { HttpClient, HttpRequest, HttpResponse } from '../../src/infra/http.js';
import { MemoryLogger } from '../../src/infra/logger.js';
import { createRegistryClient } from '../../src/registry/client.js';
import { realmMayReceiveCredentials } from '../../src/registry/credential-hosts.js';
import { createDockerHubCatalog } from '../../src/registry/docker-hub.js';
import { createGhcrCatalog } from '../../src/registry/ghcr.js';

// SECURITY.md rule 1 through the http seam: a scripted registry whose pages, and token realm, point at another
// host. Every request is recorded with its Authorization, so the test sees exactly what left for where.

interface Sent {
  host: string;
  path: string;
  authorization?: string;
}

function response(
  url: string,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): HttpResponse {
  const buf = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  return {
    status,
    url,
    headers: new Headers(headers),
    body: buf,
    text: () => buf.toString('utf8'),
    json: <T>() => JSON.parse(buf.toString('utf8')) as T,
  };
}

type Route = (req: HttpRequest, url: URL) => HttpResponse | undefined;

function scripted(routes: Route[]): { http: HttpClient; sent: Sent[] } {
  const sent: Sent[] = [];
  const http: HttpClient = (req) => {
    const url = new URL(req.url);
    const authorization = Object.entries(req.headers ?? {}).find(
      ([k]) => k.toLowerCase() === 'authorization',
    )?.[1];
    sent.push({
      host: url.host,
      path: url.pathname + url.search,
      ...(authorization ? { authorization } : {}),
    });
    for (const r of routes) {
      const res = r(req, url);
      if (res) return Promise.resolve(res);
    }
    return Promise.resolve(response(req.url, 200, { repositories: ['stolen/page'], tags: ['stolen'] }));
  };
  return { http, sent };
}

const REGISTRY = 'registry.test:5000';
const OTHER = 'collector.test:6000';
const BASIC = `Basic ${Buffer.from('u:pw-secret-1').toString('base64')}`;

/** The registry: Basic or Bearer auth; page 1 of the catalog and of tags names the next page on OTHER. */
function hostileRegistry(scheme: 'basic' | 'bearer'): Route {
  return (req, url) => {
    if (url.host !== REGISTRY) return undefined;
    const auth = (req.headers ?? {}).authorization;
    if (url.pathname === '/token') return response(req.url, 200, { token: 'tok-123', expires_in: 300 });
    const ok = scheme === 'basic' ? auth === BASIC : auth === 'Bearer tok-123';
    if (!ok) {
      const challenge =
        scheme === 'basic'
          ? 'Basic realm="r"'
          : `Bearer realm="http://${REGISTRY}/token",service="${REGISTRY}"`;
      return response(req.url, 401, '', { 'www-authenticate': challenge });
    }
    if (url.pathname === '/v2/_catalog')
      return response(
        req.url,
        200,
        { repositories: ['team/app'] },
        {
          link: `<http://${OTHER}/v2/_catalog?last=team/app>; rel="next"`,
        },
      );
    if (url.pathname === '/v2/team/app/tags/list')
      return response(
        req.url,
        200,
        { name: 'team/app', tags: ['1.0'] },
        {
          link: `<http://${OTHER}/v2/team/app/tags/list?last=1.0>; rel="next"`,
        },
      );
    return response(req.url, 404, '');
  };
}

describe('pages on another host are not followed (no credentials reach it)', () => {
  test.each(['basic', 'bearer'] as const)(
    '%s: _catalog and tags/list stop at the cross-host Link',
    async (scheme) => {
      const { http, sent } = scripted([hostileRegistry(scheme)]);
      const logger = new MemoryLogger();
      const client = createRegistryClient({
        registry: REGISTRY,
        credentials: { username: 'u', password: 'pw-secret-1' },
        http,
        logger,
        scheme: 'http',
      });
      expect(await client.listRepositories()).toEqual(['team/app']);
      expect(await client.listTags('team/app')).toEqual(['1.0']);
      expect(sent.filter((s) => s.host === OTHER)).toEqual([]);
      // the registry itself was answered with credentials
      expect(sent.some((s) => s.host === REGISTRY && s.authorization)).toBe(true);
      const warnings = logger.messages('warning').join('\n');
      expect(warnings).toMatch(/next page of the catalog is on another host \(collector\.test:6000\)/);
      expect(warnings).toMatch(/next page of tags of team\/app is on another host/);
    },
  );

  test('a same-host Link is followed as before', async () => {
    let page = 0;
    const { http, sent } = scripted([
      (req, url) =>
        url.pathname === '/v2/team/app/tags/list'
          ? response(
              req.url,
              200,
              { tags: [`t${++page}`] },
              page < 3 ? { link: `</v2/team/app/tags/list?last=t${page}>; rel="next"` } : {},
            )
          : undefined,
    ]);
    const client = createRegistryClient({
      registry: REGISTRY,
      http,
      logger: new MemoryLogger(),
      scheme: 'http',
    });
    expect(await client.listTags('team/app')).toEqual(['t1', 't2', 't3']);
    expect(sent).toHaveLength(3);
  });

  test('Docker Hub: a `next` on another host is not followed and gets no JWT', async () => {
    const { http, sent } = scripted([
      (req, url) => {
        if (url.host !== 'hub.test') return undefined;
        if (url.pathname === '/v2/users/login') return response(req.url, 200, { token: 'hub-jwt' });
        return response(req.url, 200, { results: [{ name: 'app' }], next: `http://${OTHER}/v2/next` });
      },
    ]);
    const logger = new MemoryLogger();
    const hub = createDockerHubCatalog({
      http,
      logger,
      credentials: { username: 'u', password: 'pw-secret-1' },
      baseUrl: 'http://hub.test',
    });
    expect(await hub.listRepositories('acme')).toEqual(['acme/app']);
    expect(sent.filter((s) => s.host === OTHER)).toEqual([]);
    expect(logger.messages('warning').join('\n')).toMatch(/another host/);
  });

  test('GHCR: a Link on another host is not followed and gets no GitHub token', async () => {
    const { http, sent } = scripted([
      (req, url) =>
        url.host === 'api.test'
          ? response(req.url, 200, [{ name: 'app' }], {
              link: `<http://${OTHER}/orgs/acme/packages?page=2>; rel="next"`,
            })
          : undefined,
    ]);
    const ghcr = createGhcrCatalog({
      http,
      logger: new MemoryLogger(),
      token: 'ghs_x',
      apiUrl: 'http://api.test',
    });
    expect(await ghcr.listRepositories('acme')).toEqual(['acme/app']);
    expect(sent.filter((s) => s.host === OTHER)).toEqual([]);
  });
});

describe('token realms', () => {
  test.each<[string, string, boolean]>([
    ['registry.test:5000', 'https://registry.test/token', true], // same machine, token server on its own port
    ['registry.test:5000', 'http://registry.test:5001/auth', true],
    ['docker.io', 'https://auth.docker.io/token', true],
    ['registry-1.docker.io', 'https://auth.docker.io/token', true],
    ['registry.gitlab.com', 'https://gitlab.com/jwt/auth', true],
    ['registry.test', 'https://collector.test/token', false],
    ['registry.test', 'https://registry.test.collector.test/token', false],
    ['ghcr.io', 'https://auth.docker.io/token', false],
  ])('%s -> realm %s: credentials %s', (registry, realm, expected) => {
    expect(realmMayReceiveCredentials(registry, realm)).toBe(expected);
  });

  test('a realm on another host is asked anonymously: the Basic credentials never reach it', async () => {
    const { http, sent } = scripted([
      (req, url) => {
        if (url.host === OTHER) return response(req.url, 200, { token: 'anon-token' });
        if ((req.headers ?? {}).authorization === 'Bearer anon-token')
          return response(req.url, 200, { tags: ['1.0'] });
        return response(req.url, 401, '', {
          'www-authenticate': `Bearer realm="http://${OTHER}/token",service="x"`,
        });
      },
    ]);
    const logger = new MemoryLogger();
    const client = createRegistryClient({
      registry: REGISTRY,
      credentials: { username: 'u', password: 'pw-secret-1' },
      http,
      logger,
      scheme: 'http',
    });
    expect(await client.listTags('team/app')).toEqual(['1.0']);
    const toRealm = sent.filter((s) => s.host === OTHER);
    expect(toRealm).toHaveLength(1);
    expect(toRealm[0].authorization).toBeUndefined();
    expect(logger.messages('warning').join('\n')).toMatch(
      /token server on another host \(collector\.test:6000\)/,
    );
  });
});
