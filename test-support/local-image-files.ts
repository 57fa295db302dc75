import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

// Image archives and OCI layouts written the way `docker save` and `buildx --output type=oci` write them, from an
// image pushed to the real test registry: its blobs are fetched and laid out, so the files hold a real image whose
// registry digest and config digest the test knows independently of the action.

export interface FetchedImage {
  manifest: Buffer;
  manifestDigest: string;
  manifestMediaType: string;
  config: Buffer;
  configDigest: string;
  /** The registry's (gzip) layer blobs, in manifest order. */
  layers: { digest: string; data: Buffer }[];
}

const ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ');

export function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Fetches a single-platform image (manifest, config, layers) from an open registry over HTTP. */
export async function fetchImage(
  registryUrl: string,
  repository: string,
  tag: string,
): Promise<FetchedImage> {
  const base = `${registryUrl}/v2/${repository}`;
  const res = await fetch(`${base}/manifests/${tag}`, { headers: { accept: ACCEPT } });
  if (res.status !== 200) throw new Error(`manifest ${res.status}`);
  const manifest = Buffer.from(await res.arrayBuffer());
  const doc = JSON.parse(manifest.toString('utf8')) as {
    mediaType: string;
    config: { digest: string };
    layers: { digest: string }[];
  };
  const blob = async (digest: string) => {
    const r = await fetch(`${base}/blobs/${digest}`);
    if (r.status !== 200) throw new Error(`blob ${digest} ${r.status}`);
    return Buffer.from(await r.arrayBuffer());
  };
  return {
    manifest,
    manifestDigest: sha256(manifest),
    manifestMediaType: doc.mediaType,
    config: await blob(doc.config.digest),
    configDigest: doc.config.digest,
    layers: await Promise.all(
      doc.layers.map(async (l) => ({ digest: l.digest, data: await blob(l.digest) })),
    ),
  };
}

/** The entries of an OCI image layout: `oci-layout`, `index.json` (with buildx's name annotations), `blobs/sha256/…`. */
export function ociLayoutEntries(
  image: FetchedImage,
  opts: { name?: string; omitBlob?: string } = {},
): { name: string; data: Buffer }[] {
  const tag = opts.name?.slice(opts.name.lastIndexOf(':') + 1);
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: image.manifestMediaType,
        digest: image.manifestDigest,
        size: image.manifest.length,
        ...(opts.name && {
          annotations: {
            'io.containerd.image.name': opts.name,
            'org.opencontainers.image.ref.name': tag,
          },
        }),
      },
    ],
  };
  const blobs = [
    { digest: image.manifestDigest, data: image.manifest },
    { digest: image.configDigest, data: image.config },
    ...image.layers,
  ].filter((b) => b.digest !== opts.omitBlob);
  return [
    { name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}') },
    { name: 'index.json', data: Buffer.from(JSON.stringify(index)) },
    ...blobs.map((b) => ({ name: `blobs/sha256/${b.digest.slice('sha256:'.length)}`, data: b.data })),
  ];
}

export async function writeOciLayoutDir(
  dir: string,
  image: FetchedImage,
  opts: { name?: string; omitBlob?: string } = {},
): Promise<void> {
  for (const entry of ociLayoutEntries(image, opts)) {
    await mkdir(path.dirname(path.join(dir, entry.name)), { recursive: true });
    await writeFile(path.join(dir, entry.name), entry.data);
  }
}

/**
 * `docker save` (classic layout): `<config hex>.json`, `<n>/layer.tar` with the uncompressed layers, and a
 * manifest.json naming them with the image's RepoTags.
 */
export function dockerSaveEntries(image: FetchedImage, repoTags: string[]): { name: string; data: Buffer }[] {
  const configName = `${image.configDigest.slice('sha256:'.length)}.json`;
  const layers = image.layers.map((l, i) => ({ name: `layer${i}/layer.tar`, data: gunzipSync(l.data) }));
  const manifest = [{ Config: configName, RepoTags: repoTags, Layers: layers.map((l) => l.name) }];
  return [
    { name: configName, data: image.config },
    ...layers,
    { name: 'manifest.json', data: Buffer.from(JSON.stringify(manifest)) },
  ];
}

/** A ustar archive of regular files (with their parent directories implied, as Go's archive/tar reads them). */
export function tarOf(entries: { name: string; data: Buffer }[]): Buffer {
  const parts: Buffer[] = [];
  for (const { name, data } of entries) {
    if (Buffer.byteLength(name) > 100) throw new Error(`tar name too long for this writer: ${name}`);
    const header = Buffer.alloc(512);
    header.write(name, 0);
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(`${data.length.toString(8).padStart(11, '0')}\0`, 124);
    header.write(`${(1767225600).toString(8).padStart(11, '0')}\0`, 136);
    header.write('        ', 148);
    header.write('0', 156);
    header.write('ustar\0', 257);
    header.write('00', 263);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    parts.push(header, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A one-layer image built here, without a registry (OCI media types), for tests that need no registry. */
export function buildImage(content: string, labels: Record<string, string> = {}): FetchedImage {
  const layerTar = tarOf([{ name: 'etc/file', data: Buffer.from(content) }]);
  const layer = gzipSync(layerTar);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Labels: labels },
      rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] },
    }),
  );
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: sha256(config),
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
          digest: sha256(layer),
          size: layer.length,
        },
      ],
    }),
  );
  return {
    manifest,
    manifestDigest: sha256(manifest),
    manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
    config,
    configDigest: sha256(config),
    layers: [{ digest: sha256(layer), data: layer }],
  };
}
