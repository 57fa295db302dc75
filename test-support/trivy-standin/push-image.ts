import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import bcrypt from 'bcryptjs';

// The smallest real registry the stand-in's tests need: Debian's docker-registry (distribution 2.8.2) with our own
// config, optional htpasswd (bcrypt) auth, and a push over HTTP the way a client does it. The full-featured helper
// for other suites is test-support/registry.ts; this one stays tiny on purpose.

export interface LocalRegistry {
  host: string; // 127.0.0.1:PORT
  close(): Promise<void>;
}

export async function startLocalRegistry(
  opts: { user?: string; password?: string } = {},
): Promise<LocalRegistry> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'standin-registry-'));
  let auth = '';
  if (opts.user && opts.password) {
    await writeFile(path.join(dir, 'htpasswd'), `${opts.user}:${bcrypt.hashSync(opts.password, 4)}\n`);
    auth = `auth:\n  htpasswd:\n    realm: standin\n    path: ${path.join(dir, 'htpasswd')}\n`;
  }
  const config =
    `version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: ${path.join(dir, 'data')}\n` +
    `  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:0\n${auth}`;
  await writeFile(path.join(dir, 'config.yml'), config);
  const child: ChildProcess = spawn('/usr/bin/docker-registry', ['serve', path.join(dir, 'config.yml')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const host = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`registry did not start: ${seen}`)), 10_000);
    child.stderr!.on('data', (d: Buffer) => {
      seen += d.toString();
      const m = /listening on (127\.0\.0\.1:\d+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', (code) => reject(new Error(`registry exited ${code}: ${seen}`)));
  });
  child.stderr!.resume();
  return {
    host,
    close: async () => {
      child.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface PushedImage {
  digest: string; // manifest digest
  configDigest: string;
}

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** Pushes a one-layer image (Docker v2 schema 2) to `host/repository:tag`. */
export async function pushImage(
  host: string,
  repository: string,
  tag: string,
  opts: {
    labels?: Record<string, string>;
    created?: string;
    content?: string;
    auth?: { user: string; password: string };
  } = {},
): Promise<PushedImage> {
  const headers: Record<string, string> = opts.auth
    ? { authorization: `Basic ${Buffer.from(`${opts.auth.user}:${opts.auth.password}`).toString('base64')}` }
    : {};
  const layerTar = tarOneFile('etc/standin', opts.content ?? `${repository}:${tag}\n`);
  const layer = gzipSync(layerTar);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: opts.created ?? '2026-01-15T10:00:00Z',
      config: { Labels: opts.labels ?? {} },
      rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] },
    }),
  );
  const base = `http://${host}/v2/${repository}`;
  for (const blob of [layer, config]) {
    const start = await fetch(`${base}/blobs/uploads/`, { method: 'POST', headers });
    if (start.status !== 202) throw new Error(`upload start ${start.status}: ${await start.text()}`);
    const location = new URL(start.headers.get('location')!, `http://${host}`);
    location.searchParams.set('digest', sha256(blob));
    const put = await fetch(location, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/octet-stream' },
      body: blob,
    });
    if (put.status !== 201) throw new Error(`blob put ${put.status}: ${await put.text()}`);
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        size: config.length,
        digest: sha256(config),
      },
      layers: [
        {
          mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
          size: layer.length,
          digest: sha256(layer),
        },
      ],
    }),
  );
  const res = await fetch(`${base}/manifests/${tag}`, {
    method: 'PUT',
    headers: { ...headers, 'content-type': 'application/vnd.docker.distribution.manifest.v2+json' },
    body: manifest,
  });
  if (res.status !== 201) throw new Error(`manifest put ${res.status}: ${await res.text()}`);
  return { digest: sha256(manifest), configDigest: sha256(config) };
}

/** A ustar archive holding one regular file. */
function tarOneFile(name: string, content: string): Buffer {
  const body = Buffer.from(content);
  const header = Buffer.alloc(512);
  header.write(name, 0);
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${body.length.toString(8).padStart(11, '0')}\0`, 124);
  header.write(
    `${Math.floor(Date.parse('2026-01-01T00:00:00Z') / 1000)
      .toString(8)
      .padStart(11, '0')}\0`,
    136,
  );
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0', 257);
  header.write('00', 263);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  const pad = Buffer.alloc((512 - (body.length % 512)) % 512);
  return Buffer.concat([header, body, pad, Buffer.alloc(1024)]);
}
