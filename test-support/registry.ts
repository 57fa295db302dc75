import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import bcrypt from 'bcryptjs';
import { startTokenServer, type TokenServer } from './token-server.js';

// The real registry for integration tests: Debian's `docker-registry` (CNCF distribution 2.8.2), with our own
// config every time, optional TLS (self-signed, for NODE_EXTRA_CA_CERTS), htpasswd (bcrypt) or token auth.
// Images are pushed over HTTP the way a client does; large estates are written straight into the registry's
// filesystem storage before it starts (seconds instead of minutes for thousands of repositories).

const REGISTRY_BINARY = process.env.DOCKER_REGISTRY_BIN ?? '/usr/bin/docker-registry';

export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

export interface PushOptions {
  /** The config blob's `created` (the only timestamp a registry keeps). */
  created?: string;
  labels?: Record<string, string>;
  /** Content of the single file in the layer; different content -> different layer and image. */
  layerContent?: string;
  /** `os/arch` list: push one image per platform and an OCI index over them (in this order) as the tag. */
  platforms?: string[];
}

export interface PushedImage {
  digest: string;
  configDigest: string;
  mediaType: string;
}

export interface SeedSpec {
  repositories: number;
  tagsPerRepository: number;
  /** Repository name for index i; default spreads them over a few groups: `backend/service-0007`. */
  name?: (index: number) => string;
  /** Every `shareEvery`-th repository gets a tag `latest` that shares the newest image's digest (default 3). */
  shareEvery?: number;
}

/** What the seed wrote: the test's own independent record of the registry's content. */
export interface SeededTag {
  repository: string;
  tag: string;
  digest: string;
  configDigest: string;
  created: string;
}

export interface StartRegistryOptions {
  auth?: 'none' | 'htpasswd' | 'token';
  tls?: boolean;
  /** user -> password, for htpasswd and token auth (default one user `tester`). */
  users?: Record<string, string>;
  /** Written into storage before the registry starts. */
  seed?: SeedSpec;
  /** `catalog.maxentries` (distribution's default is 1000). */
  catalogMaxEntries?: number;
  /** `expires_in` of the token server's tokens. */
  tokenExpiresIn?: number;
}

export interface TestRegistry {
  host: string; // 127.0.0.1:PORT
  url: string; // http(s)://127.0.0.1:PORT
  caFile?: string;
  caPem?: string;
  users: Record<string, string>;
  tokenServer?: TokenServer;
  /** Environment for child processes that talk to this registry (NODE_EXTRA_CA_CERTS with TLS). */
  env: Record<string, string>;
  seeded: SeededTag[];
  push(repository: string, tag: string, opts?: PushOptions): Promise<PushedImage>;
  close(): Promise<void>;
}

export const DEFAULT_USERS: Record<string, string> = { tester: 's3cret-Pa55word' };

const execFileAsync = promisify(execFile);

export async function createSelfSignedCertificate(
  dir: string,
  name: string,
): Promise<{ certFile: string; keyFile: string }> {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  await execFileAsync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', keyFile, '-out', certFile,
  ]); // prettier-ignore
  return { certFile, keyFile };
}

export function sha256(data: Buffer | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** One ustar entry (a regular file); paths up to 255 characters through the prefix field. */
function tarEntry(name: string, body: Buffer): Buffer {
  let prefix = '';
  let base = name;
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    prefix = name.slice(0, cut);
    base = name.slice(cut + 1);
  }
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string) =>
    header.write(value, offset, length, 'ascii');
  field(0, 100, base);
  field(100, 8, '0000644\0');
  field(108, 8, '0000000\0');
  field(116, 8, '0000000\0');
  field(124, 12, body.length.toString(8).padStart(11, '0') + '\0');
  field(136, 12, '00000000000\0');
  field(148, 8, '        ');
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  field(345, 155, prefix);
  let sum = 0;
  for (const b of header) sum += b;
  field(148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return Buffer.concat([header, body, Buffer.alloc((512 - (body.length % 512)) % 512)]);
}

function tarArchive(entries: Buffer[]): Buffer {
  return Buffer.concat([...entries, Buffer.alloc(1024)]);
}

/** A one-file archive: all a layer needs to be real. */
function tarWithOneFile(name: string, content: string): Buffer {
  return tarArchive([tarEntry(name, Buffer.from(content, 'utf8'))]);
}

interface BuiltImage {
  layer: Buffer;
  config: Buffer;
  manifest: Buffer;
  digest: string;
  configDigest: string;
  layerDigest: string;
}

function buildLayer(content: string): { layer: Buffer; diffId: string } {
  const tar = tarWithOneFile('hello.txt', content);
  // gzip with a fixed mtime (the header's default is 0) so equal content gives equal blobs
  return { layer: gzipSync(tar), diffId: sha256(tar) };
}

function buildImage(
  layerBlob: { layer: Buffer; diffId: string },
  created: string,
  platform = 'linux/amd64',
  labels: Record<string, string> = {},
): BuiltImage {
  const [osName, architecture, variant] = platform.split('/');
  const config = Buffer.from(
    JSON.stringify({
      architecture,
      os: osName,
      ...(variant ? { variant } : {}),
      created,
      config: { Labels: labels, Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] },
      rootfs: { type: 'layers', diff_ids: [layerBlob.diffId] },
      history: [{ created, created_by: 'image-scan-gate test fixture' }],
    }),
  );
  const layerDigest = sha256(layerBlob.layer);
  const configDigest = sha256(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.dockerManifest,
      config: { mediaType: MEDIA_TYPES.dockerConfig, size: config.length, digest: configDigest },
      layers: [{ mediaType: MEDIA_TYPES.dockerLayer, size: layerBlob.layer.length, digest: layerDigest }],
    }),
  );
  return { layer: layerBlob.layer, config, manifest, digest: sha256(manifest), configDigest, layerDigest };
}

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** node:http(s) rather than fetch: it takes a CA per request, so pushing works over TLS in-process. */
function rawRequest(
  url: string,
  init: { method: string; headers?: Record<string, string>; body?: Buffer; ca?: string },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const req = mod.request(
      u,
      {
        method: init.method,
        headers: { ...init.headers, ...(init.body ? { 'content-length': String(init.body.length) } : {}) },
        ca: init.ca,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Deterministic pseudo-random numbers (mulberry32) so seeds are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SEED_GROUPS = ['backend', 'frontend', 'tools', 'legacy/old', 'data'];

export function defaultSeedName(index: number): string {
  return `${SEED_GROUPS[index % SEED_GROUPS.length]}/service-${String(index).padStart(4, '0')}`;
}

/**
 * Writes repositories straight into distribution's filesystem layout
 * (docker/registry/v2/{blobs,repositories}) — only the links reads need (no tag index links). Tag names are `1.<k>.0`; creation times are shuffled so that
 * tag order and age order differ; every `shareEvery`-th repository also has `latest` = its newest image.
 */
export async function writeSeedStorage(rootDirectory: string, spec: SeedSpec): Promise<SeededTag[]> {
  // One tar stream extracted by `tar`: tens of thousands of small files in about a second.
  const entries: Buffer[] = [];
  const written = new Set<string>();
  const put = (file: string, data: Buffer | string) => {
    if (written.has(file)) return;
    written.add(file);
    entries.push(tarEntry(`docker/registry/v2/${file}`, Buffer.from(data)));
  };
  const blob = (digest: string, data: Buffer) => {
    const hex = digest.slice('sha256:'.length);
    put(`blobs/sha256/${hex.slice(0, 2)}/${hex}/data`, data);
  };
  const link = (file: string, digest: string) => put(file, digest);

  const layer = buildLayer('seeded layer\n');
  const random = prng(20240601);
  const base = Date.parse('2024-01-01T00:00:00Z');
  const shareEvery = spec.shareEvery ?? 3;
  const seeded: SeededTag[] = [];
  for (let i = 0; i < spec.repositories; i++) {
    const repository = (spec.name ?? defaultSeedName)(i);
    const repoDir = `repositories/${repository}`;
    const images: { tag: string; image: BuiltImage; created: string }[] = [];
    for (let k = 0; k < spec.tagsPerRepository; k++) {
      // distinct per tag and per repository, shuffled against tag order
      const minutes = Math.floor(random() * 500_000) * 3 + (k % 3);
      const created = new Date(base + minutes * 60_000 + i * 1000).toISOString();
      images.push({
        tag: `1.${k}.0`,
        image: buildImage(layer, created, 'linux/amd64', { index: String(i) }),
        created,
      });
    }
    if (shareEvery > 0 && i % shareEvery === 0 && images.length > 0) {
      const newest = [...images].sort((a, b) => b.created.localeCompare(a.created))[0];
      images.push({ tag: 'latest', image: newest.image, created: newest.created });
    }
    const layerDigest = sha256(layer.layer);
    blob(layerDigest, layer.layer);
    link(`${repoDir}/_layers/sha256/${layerDigest.slice(7)}/link`, layerDigest);
    for (const { tag, image, created } of images) {
      blob(image.configDigest, image.config);
      blob(image.digest, image.manifest);
      link(`${repoDir}/_layers/sha256/${image.configDigest.slice(7)}/link`, image.configDigest);
      link(`${repoDir}/_manifests/revisions/sha256/${image.digest.slice(7)}/link`, image.digest);
      link(`${repoDir}/_manifests/tags/${tag}/current/link`, image.digest);
      seeded.push({ repository, tag, digest: image.digest, configDigest: image.configDigest, created });
    }
  }
  await mkdir(rootDirectory, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    const tar = spawn('tar', ['-x', '-f', '-', '-C', rootDirectory], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    tar.on('error', reject);
    tar.on('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`tar -x failed (${code}): ${stderr}`)),
    );
    tar.stdin.end(tarArchive(entries));
  });
  return seeded;
}

function registryConfig(o: {
  storage: string;
  tls?: { certFile: string; keyFile: string };
  htpasswd?: string;
  token?: { realm: string; service: string; issuer: string; bundle: string };
  maxEntries: number;
}): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(o.storage)}`,
    '  delete:',
    '    enabled: true',
    // as distribution's own sample config: blob descriptors cached in memory (several stats fewer per request)
    '  cache:',
    '    blobdescriptor: inmemory',
    'http:',
    '  addr: 127.0.0.1:0',
    '  secret: image-scan-gate-test',
  ];
  if (o.tls)
    lines.push(
      '  tls:',
      `    certificate: ${JSON.stringify(o.tls.certFile)}`,
      `    key: ${JSON.stringify(o.tls.keyFile)}`,
    );
  lines.push('catalog:', `  maxentries: ${o.maxEntries}`);
  if (o.htpasswd)
    lines.push('auth:', '  htpasswd:', '    realm: test-registry', `    path: ${JSON.stringify(o.htpasswd)}`);
  if (o.token) {
    lines.push(
      'auth:',
      '  token:',
      `    realm: ${JSON.stringify(o.token.realm)}`,
      `    service: ${JSON.stringify(o.token.service)}`,
      `    issuer: ${JSON.stringify(o.token.issuer)}`,
      `    rootcertbundle: ${JSON.stringify(o.token.bundle)}`,
    );
  }
  return lines.join('\n') + '\n';
}

/** Waits for `listening on 127.0.0.1:PORT`; keeps draining stderr afterwards so the registry never blocks. */
function waitForPort(child: ChildProcess, log: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let found = false;
    const timer = setTimeout(
      () => reject(new Error(`docker-registry did not start:\n${log.join('\n')}`)),
      15_000,
    );
    child.stderr?.on('data', (d: Buffer) => {
      buffered += d.toString('utf8');
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        log.push(line);
        if (log.length > 200) log.shift();
        const m = /listening on 127\.0\.0\.1:(\d+)/.exec(line);
        if (m && !found) {
          found = true;
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      }
    });
    child.stdout?.resume();
    child.on('exit', (code) => {
      if (!found) {
        clearTimeout(timer);
        reject(new Error(`docker-registry exited with ${code}:\n${log.join('\n')}`));
      }
    });
  });
}

/**
 * Removes the registry's folder. A seeded tree holds tens of thousands of files: `rm -rf` deletes it in the
 * background (it outlives the test process if need be) so closing does not wait seconds for it.
 */
async function removeTree(dir: string, background: boolean): Promise<void> {
  if (background) {
    const rmChild = spawn('rm', ['-rf', '--', dir], { detached: true, stdio: 'ignore' });
    rmChild.on('error', () => undefined);
    rmChild.unref();
    return;
  }
  await rm(dir, { recursive: true, force: true });
}

/** Storage on tmpfs when the machine has one: seeding writes tens of thousands of small files. */
async function scratchBase(): Promise<string> {
  try {
    await access('/dev/shm', constants.W_OK);
    return '/dev/shm';
  } catch {
    return os.tmpdir();
  }
}

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  const auth = opts.auth ?? 'none';
  const users = opts.users ?? DEFAULT_USERS;
  const dir = await mkdtemp(path.join(await scratchBase(), 'isg-registry-'));
  const storage = path.join(dir, 'storage');
  const seeded = opts.seed ? await writeSeedStorage(storage, opts.seed) : [];

  let tls: { certFile: string; keyFile: string } | undefined;
  let caPem: string | undefined;
  if (opts.tls) {
    tls = await createSelfSignedCertificate(dir, 'registry');
    caPem = await readFile(tls.certFile, 'utf8');
  }
  let htpasswd: string | undefined;
  if (auth === 'htpasswd') {
    htpasswd = path.join(dir, 'htpasswd');
    const lines = Object.entries(users).map(
      ([u, p]) => `${u}:${bcrypt.hashSync(p, 5).replace(/^\$2[ab]\$/, '$2y$')}`,
    );
    await writeFile(htpasswd, lines.join('\n') + '\n');
  }
  let tokenServer: TokenServer | undefined;
  let token: { realm: string; service: string; issuer: string; bundle: string } | undefined;
  if (auth === 'token') {
    const signing = await createSelfSignedCertificate(dir, 'token-signing');
    const certificatePem = await readFile(signing.certFile, 'utf8');
    tokenServer = await startTokenServer({
      users,
      certificatePem,
      keyPem: await readFile(signing.keyFile, 'utf8'),
      expiresIn: opts.tokenExpiresIn,
    });
    token = {
      realm: tokenServer.realm,
      service: tokenServer.service,
      issuer: tokenServer.issuer,
      bundle: signing.certFile,
    };
  }
  const configFile = path.join(dir, 'config.yml');
  await writeFile(
    configFile,
    registryConfig({ storage, tls, htpasswd, token, maxEntries: opts.catalogMaxEntries ?? 1000 }),
  );

  const child = spawn(REGISTRY_BINARY, ['serve', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  let port: number;
  try {
    port = await waitForPort(child, log);
  } catch (e) {
    child.kill('SIGKILL');
    await tokenServer?.close();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const host = `127.0.0.1:${port}`;
  const url = `${tls ? 'https' : 'http'}://${host}`;

  const firstUser = Object.entries(users)[0];
  const pushAuth = new Map<string, string>(); // repository -> Authorization for push

  async function authorization(repository: string): Promise<Record<string, string>> {
    if (auth === 'none') return {};
    if (auth === 'htpasswd') {
      return { authorization: `Basic ${Buffer.from(`${firstUser[0]}:${firstUser[1]}`).toString('base64')}` };
    }
    const cached = pushAuth.get(repository);
    if (cached) return { authorization: cached };
    const tokenUrl = new URL(tokenServer!.realm);
    tokenUrl.searchParams.set('service', tokenServer!.service);
    tokenUrl.searchParams.set('scope', `repository:${repository}:pull,push`);
    const res = await rawRequest(tokenUrl.toString(), {
      method: 'GET',
      headers: {
        authorization: `Basic ${Buffer.from(`${firstUser[0]}:${firstUser[1]}`).toString('base64')}`,
      },
    });
    const value = `Bearer ${(JSON.parse(res.body.toString('utf8')) as { token: string }).token}`;
    pushAuth.set(repository, value);
    return { authorization: value };
  }

  async function uploadBlob(repository: string, digest: string, data: Buffer): Promise<void> {
    const headers = await authorization(repository);
    const head = await rawRequest(`${url}/v2/${repository}/blobs/${digest}`, {
      method: 'HEAD',
      headers,
      ca: caPem,
    });
    if (head.status === 200) return;
    const start = await rawRequest(`${url}/v2/${repository}/blobs/uploads/`, {
      method: 'POST',
      headers,
      ca: caPem,
    });
    if (start.status !== 202)
      throw new Error(`blob upload start ${repository}: ${start.status} ${start.body.toString()}`);
    const location = new URL(String(start.headers.location), url);
    location.searchParams.set('digest', digest);
    const done = await rawRequest(location.toString(), {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/octet-stream' },
      body: data,
      ca: caPem,
    });
    if (done.status !== 201)
      throw new Error(`blob upload ${repository}@${digest}: ${done.status} ${done.body.toString()}`);
  }

  async function putManifest(
    repository: string,
    reference: string,
    mediaType: string,
    body: Buffer,
  ): Promise<void> {
    const headers = await authorization(repository);
    const res = await rawRequest(`${url}/v2/${repository}/manifests/${reference}`, {
      method: 'PUT',
      headers: { ...headers, 'content-type': mediaType },
      body,
      ca: caPem,
    });
    if (res.status !== 201)
      throw new Error(`manifest ${repository}:${reference}: ${res.status} ${res.body.toString()}`);
  }

  async function pushOne(repository: string, reference: string, image: BuiltImage): Promise<void> {
    await uploadBlob(repository, image.layerDigest, image.layer);
    await uploadBlob(repository, image.configDigest, image.config);
    await putManifest(repository, reference, MEDIA_TYPES.dockerManifest, image.manifest);
  }

  return {
    host,
    url,
    caFile: tls?.certFile,
    caPem,
    users,
    tokenServer,
    env: tls ? { NODE_EXTRA_CA_CERTS: tls.certFile } : {},
    seeded,
    async push(repository, tag, pushOpts = {}) {
      const created = pushOpts.created ?? new Date().toISOString();
      const layer = buildLayer(pushOpts.layerContent ?? `${repository}:${tag}\n`);
      if (!pushOpts.platforms) {
        const image = buildImage(layer, created, 'linux/amd64', pushOpts.labels);
        await pushOne(repository, tag, image);
        return {
          digest: image.digest,
          configDigest: image.configDigest,
          mediaType: MEDIA_TYPES.dockerManifest,
        };
      }
      const manifests: {
        mediaType: string;
        size: number;
        digest: string;
        platform: Record<string, string>;
      }[] = [];
      let amd64Config: string | undefined;
      for (const platform of pushOpts.platforms) {
        // each platform has its own created time offset so the test can tell which config was read
        const image = buildImage(
          layer,
          platform === 'linux/amd64' ? created : '2001-01-01T00:00:00Z',
          platform,
          pushOpts.labels,
        );
        await pushOne(repository, image.digest, image);
        const [osName, architecture, variant] = platform.split('/');
        manifests.push({
          mediaType: MEDIA_TYPES.dockerManifest,
          size: image.manifest.length,
          digest: image.digest,
          platform: { os: osName, architecture, ...(variant ? { variant } : {}) },
        });
        if (platform === 'linux/amd64') amd64Config = image.configDigest;
      }
      const index = Buffer.from(
        JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests }),
      );
      await putManifest(repository, tag, MEDIA_TYPES.ociIndex, index);
      return { digest: sha256(index), configDigest: amd64Config ?? '', mediaType: MEDIA_TYPES.ociIndex };
    },
    async close() {
      const exited = new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else child.once('exit', () => resolve());
      });
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
      await tokenServer?.close();
      await removeTree(dir, seeded.length > 1000);
    },
  };
}
