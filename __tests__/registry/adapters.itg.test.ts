import { ECRClient } from '@aws-sdk/client-ecr';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import type { DiscoveryConfig } from '../../src/config.js';
import { ConfigurationError } from '../../src/errors.js';
import type { Clock } from '../../src/infra/clock.js';
import { createHttpClient } from '../../src/infra/http.js';
import { MemoryLogger } from '../../src/infra/logger.js';
import { createCatalog } from '../../src/registry/catalog.js';
import { RegistryAuthError } from '../../src/registry/errors.js';
import { discoverRegistryImages } from '../../src/targets/registry-discovery.js';

// Docker Hub, GHCR and ECR adapters against local servers answering in each API's documented shapes, with
// pagination and rate limiting (429 + Retry-After, waited through an injected clock that only records).

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Reply = { status?: number; headers?: Record<string, string>; json?: unknown };

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function serve(handler: (req: Seen, base: string) => Reply): Promise<{ base: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  let base = '';
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const s: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      seen.push(s);
      const reply = handler(s, base);
      res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', ...reply.headers });
      res.end(reply.json === undefined ? '' : JSON.stringify(reply.json));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, seen };
}

function recordingClock(): Clock & { slept: number[] } {
  const slept: number[] = [];
  return {
    slept,
    now: () => new Date('2030-01-01T00:00:00Z'),
    sleep: (ms) => (slept.push(ms), Promise.resolve()),
  };
}

function config(registry: string, over: Partial<DiscoveryConfig> = {}): DiscoveryConfig {
  return {
    registry,
    repositories: ['**'],
    excludeRepositories: [],
    tags: ['*'],
    excludeTags: [],
    maxImagesPerRepository: 0,
    maxImages: 500,
    discoverFiles: [],
    ...over,
  };
}

const d = (c: string) => `sha256:${c.repeat(64)}`;

describe('Docker Hub', () => {
  async function hub() {
    let throttled = false;
    return serve((req, base) => {
      const url = new URL(req.url, base);
      if (req.method === 'POST' && url.pathname === '/v2/users/login') {
        const creds = JSON.parse(req.body) as { username: string; password: string };
        return creds.password === 'hub-pass'
          ? { json: { token: 'hub-jwt-123' } }
          : { status: 401, json: { detail: 'Incorrect authentication credentials' } };
      }
      if (req.headers.authorization !== 'Bearer hub-jwt-123')
        return { status: 401, json: { detail: 'auth' } };
      if (url.pathname === '/v2/namespaces/acme/repositories') {
        if (url.searchParams.get('page') === '2') {
          if (!throttled) {
            throttled = true;
            return { status: 429, headers: { 'retry-after': '7' }, json: { detail: 'slow down' } };
          }
          return {
            json: {
              count: 3,
              next: null,
              results: [{ name: 'worker', namespace: 'acme', last_updated: '2024-01-01T00:00:00Z' }],
            },
          };
        }
        return {
          json: {
            count: 3,
            next: `${base}/v2/namespaces/acme/repositories?page=2&page_size=100`,
            results: [
              { name: 'api', namespace: 'acme' },
              { name: 'web', namespace: 'acme' },
            ],
          },
        };
      }
      const tags = /^\/v2\/namespaces\/acme\/repositories\/([^/]+)\/tags$/.exec(url.pathname);
      if (tags) {
        const repo = tags[1];
        if (repo === 'api' && url.searchParams.get('page') !== '2') {
          return {
            json: {
              count: 3,
              next: `${base}/v2/namespaces/acme/repositories/api/tags?page=2&page_size=100`,
              results: [
                {
                  name: 'latest',
                  digest: d('a'),
                  last_updated: '2024-05-01T00:00:00Z',
                  tag_last_pushed: '2024-05-01T00:00:00Z',
                },
                {
                  name: '2.0',
                  digest: d('a'),
                  last_updated: '2024-05-01T00:00:00Z',
                  tag_last_pushed: '2024-05-01T00:00:00Z',
                },
              ],
            },
          };
        }
        if (repo === 'api')
          return {
            json: {
              count: 3,
              next: null,
              results: [{ name: '1.0', digest: d('b'), last_updated: '2023-05-01T00:00:00Z' }],
            },
          };
        return {
          json: {
            count: 1,
            next: null,
            results: [
              {
                name: 'main',
                digest: d(repo === 'web' ? 'c' : 'e'),
                last_updated: `2024-0${repo === 'web' ? 3 : 2}-01T00:00:00Z`,
              },
            ],
          },
        };
      }
      return { status: 404, json: { message: 'not found' } };
    });
  }

  test('lists a namespace and its tags over pages, waits out a 429 with its Retry-After', async () => {
    const { base, seen } = await hub();
    const clock = recordingClock();
    const logger = new MemoryLogger();
    const catalog = await createCatalog('docker.io', {
      http: createHttpClient({ clock }),
      logger,
      credentials: { username: 'acme-bot', password: 'hub-pass' },
      dockerHubApiUrl: base,
    });
    const { targets } = await discoverRegistryImages(config('docker.io/acme'), { catalog, logger });
    expect(targets.map((t) => [t.ref, t.digest, t.tags, t.createdAt])).toEqual([
      ['docker.io/acme/api:2.0', d('a'), ['2.0', 'latest'], '2024-05-01T00:00:00Z'],
      ['docker.io/acme/web:main', d('c'), ['main'], '2024-03-01T00:00:00Z'],
      ['docker.io/acme/worker:main', d('e'), ['main'], '2024-02-01T00:00:00Z'],
      ['docker.io/acme/api:1.0', d('b'), ['1.0'], '2023-05-01T00:00:00Z'],
    ]);
    expect(clock.slept).toEqual([7000]);
    expect(seen.filter((s) => s.url.includes('page=2') && s.url.includes('/repositories?'))).toHaveLength(2);
    expect(seen.filter((s) => s.url === '/v2/users/login')).toHaveLength(1); // one login for all calls
    expect(logger.secrets).toEqual(expect.arrayContaining(['hub-pass', 'hub-jwt-123']));
  });

  test('refused login: RegistryAuthError naming the user, not the password', async () => {
    const { base } = await hub();
    const catalog = await createCatalog('registry-1.docker.io', {
      http: createHttpClient(),
      logger: new MemoryLogger(),
      credentials: { username: 'acme-bot', password: 'wrong-hub-pass' },
      dockerHubApiUrl: base,
    });
    const err = await catalog.listRepositories('acme').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryAuthError);
    expect((err as Error).message).toMatch(/docker\.io.*acme-bot/);
    expect((err as Error).message).not.toContain('wrong-hub-pass');
  });

  test('without a namespace: a ConfigurationError on `registry`', async () => {
    const catalog = await createCatalog('docker.io', {
      http: createHttpClient(),
      logger: new MemoryLogger(),
    });
    const err = await discoverRegistryImages(config('docker.io'), {
      catalog,
      logger: new MemoryLogger(),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as ConfigurationError).input).toBe('registry');
  });
});

describe('GHCR (GitHub Packages API)', () => {
  async function github() {
    let throttled = false;
    return serve((req, base): Reply => {
      const url = new URL(req.url, base);
      if (req.headers.authorization !== 'Bearer ghs_test_token')
        return { status: 401, json: { message: 'Bad credentials' } };
      if (req.headers.accept !== 'application/vnd.github+json') return { status: 415, json: {} };
      if (url.pathname.startsWith('/orgs/octo/')) return { status: 404, json: { message: 'Not Found' } };
      if (url.pathname === '/users/octo/packages') {
        expect(url.searchParams.get('package_type')).toBe('container');
        if (url.searchParams.get('page') === '2') {
          if (!throttled) {
            throttled = true;
            return {
              status: 429,
              headers: { 'retry-after': '3' },
              json: { message: 'secondary rate limit' },
            };
          }
          return { json: [{ name: 'tools/cli', package_type: 'container' }] };
        }
        return {
          headers: {
            link: `<${base}/users/octo/packages?package_type=container&per_page=100&page=2>; rel="next", <${base}/users/octo/packages?page=2>; rel="last"`,
          },
          json: [{ name: 'app', package_type: 'container' }],
        };
      }
      if (url.pathname === '/users/octo/packages/container/app/versions') {
        return {
          json: [
            {
              id: 3,
              name: d('3'),
              updated_at: '2024-06-03T00:00:00Z',
              metadata: { package_type: 'container', container: { tags: ['v3', 'latest'] } },
            },
            {
              id: 2,
              name: d('2'),
              updated_at: '2024-06-02T00:00:00Z',
              metadata: { package_type: 'container', container: { tags: [] } },
            },
            {
              id: 1,
              name: d('1'),
              updated_at: '2024-06-01T00:00:00Z',
              metadata: { package_type: 'container', container: { tags: ['v1'] } },
            },
          ],
        };
      }
      if (url.pathname === '/users/octo/packages/container/tools%2Fcli/versions') {
        return {
          json: [
            {
              id: 9,
              name: d('9'),
              updated_at: '2024-01-09T00:00:00Z',
              metadata: { container: { tags: ['0.9'] } },
            },
          ],
        };
      }
      return { status: 404, json: { message: 'Not Found' } };
    });
  }

  test('user-owned packages: org 404 falls back to users, Link pages, 429 waited out, untagged versions ignored', async () => {
    const { base, seen } = await github();
    const clock = recordingClock();
    const logger = new MemoryLogger();
    const catalog = await createCatalog('ghcr.io', {
      http: createHttpClient({ clock }),
      logger,
      githubToken: 'ghs_test_token',
      githubApiUrl: base,
    });
    const { targets } = await discoverRegistryImages(config('ghcr.io/octo', { excludeTags: ['latest'] }), {
      catalog,
      logger,
    });
    expect(targets.map((t) => [t.ref, t.digest, t.createdAt])).toEqual([
      ['ghcr.io/octo/app:v3', d('3'), '2024-06-03T00:00:00Z'],
      ['ghcr.io/octo/app:v1', d('1'), '2024-06-01T00:00:00Z'],
      ['ghcr.io/octo/tools/cli:0.9', d('9'), '2024-01-09T00:00:00Z'],
    ]);
    expect(clock.slept).toEqual([3000]);
    // the owner kind is learnt once: one org probe, none for the versions
    expect(seen.filter((s) => s.url.startsWith('/orgs/'))).toHaveLength(1);
    expect(seen.every((s) => s.headers['x-github-api-version'] === '2022-11-28')).toBe(true);
    expect(logger.secrets).toContain('ghs_test_token');
  });

  test('a token without packages:read: RegistryAuthError with the fix', async () => {
    const { base } = await github();
    const catalog = await createCatalog('ghcr.io', {
      http: createHttpClient(),
      logger: new MemoryLogger(),
      githubToken: 'other',
      githubApiUrl: base,
    });
    await expect(catalog.listRepositories('octo')).rejects.toThrow(/read:packages/);
  });
});

describe('ECR (AWS SDK against a local endpoint)', () => {
  async function ecr() {
    let throttled = false;
    return serve((req) => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = JSON.parse(req.body || '{}') as {
        registryId?: string;
        nextToken?: string;
        repositoryName?: string;
        filter?: unknown;
      };
      expect(body.registryId).toBe('123456789012');
      const json = { 'content-type': 'application/x-amz-json-1.1' };
      if (target.endsWith('.DescribeRepositories')) {
        if (!body.nextToken) {
          return {
            headers: json,
            json: {
              repositories: [{ repositoryName: 'team/api' }, { repositoryName: 'other/db' }],
              nextToken: 'page-2',
            },
          };
        }
        return { headers: json, json: { repositories: [{ repositoryName: 'team/web' }] } };
      }
      if (target.endsWith('.DescribeImages')) {
        expect(body.filter).toEqual({ tagStatus: 'TAGGED' });
        if (body.repositoryName === 'team/api') {
          if (!throttled) {
            throttled = true;
            return {
              status: 400,
              headers: json,
              json: { __type: 'ThrottlingException', message: 'Rate exceeded' },
            };
          }
          if (!body.nextToken) {
            return {
              headers: json,
              json: {
                imageDetails: [{ imageDigest: d('1'), imageTags: ['1.0'], imagePushedAt: 1704067200 }],
                nextToken: 'img-2',
              },
            };
          }
          return {
            headers: json,
            json: {
              imageDetails: [
                { imageDigest: d('2'), imageTags: ['2.0', 'prod'], imagePushedAt: 1706745600.5 },
              ],
            },
          };
        }
        if (body.repositoryName === 'team/web') {
          return {
            status: 400,
            headers: json,
            json: { __type: 'AccessDeniedException', message: 'not authorized' },
          };
        }
      }
      return { status: 400, headers: json, json: { __type: 'UnknownOperationException' } };
    });
  }

  function client(base: string) {
    return new ECRClient({
      region: 'eu-west-1',
      endpoint: base,
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-real-secret' },
      maxAttempts: 3,
    });
  }

  test('pages repositories and images, retries a throttle, dates from imagePushedAt', async () => {
    const { base, seen } = await ecr();
    const logger = new MemoryLogger();
    const host = '123456789012.dkr.ecr.eu-west-1.amazonaws.com';
    const catalog = await createCatalog(host, { http: createHttpClient(), logger, ecrClient: client(base) });
    const { targets } = await discoverRegistryImages(config(`${host}/team`, { repositories: ['api'] }), {
      catalog,
      logger,
    });
    expect(targets.map((t) => [t.ref, t.digest, t.tags, t.createdAt])).toEqual([
      [`${host}/team/api:2.0`, d('2'), ['2.0', 'prod'], '2024-02-01T00:00:00.500Z'],
      [`${host}/team/api:1.0`, d('1'), ['1.0'], '2024-01-01T00:00:00.000Z'],
    ]);
    const describeImages = seen.filter((s) => String(s.headers['x-amz-target']).endsWith('.DescribeImages'));
    expect(describeImages).toHaveLength(3); // throttled, page 1, page 2
    expect(
      seen.filter((s) => String(s.headers['x-amz-target']).endsWith('.DescribeRepositories')),
    ).toHaveLength(2);
  });

  test('AccessDenied is a RegistryAuthError naming the permission', async () => {
    const { base } = await ecr();
    const catalog = await createCatalog('123456789012.dkr.ecr.eu-west-1.amazonaws.com', {
      http: createHttpClient(),
      logger: new MemoryLogger(),
      ecrClient: client(base),
    });
    const err = await catalog.listImages('team/web').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryAuthError);
    expect((err as Error).message).toMatch(/ecr:DescribeImages/);
  });
});
