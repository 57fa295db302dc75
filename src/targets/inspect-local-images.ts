import { createHash } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { errorMessage } from '../errors.js';
import { readTarEntries, type TarEntry } from '../infra/tar-reader.js';
import { isInsideDir, locateConfinedPath, quotePath } from '../infra/workspace-files.js';
import type { ArchiveFormat, Target } from '../model.js';
import { tryParseImageReference } from './reference.js';

// Identity of an image archive or OCI layout, read before the scan so the image is reported under the name and
// digest a registry scan of the same image records (the files are untrusted: every read is
// confined and bounded; a problem fails that image only, naming `images` and the entry, and the others go on).
//
// - name: `docker save` / buildx type=docker: the manifest.json entry's first RepoTags; OCI layout: the index
//   descriptor's `io.containerd.image.name` (buildx), else its `org.opencontainers.image.ref.name` when that is a
//   full reference. Unnamed images keep the path they were given (`docker-archive:build/app.tar`).
// - digest: OCI layouts carry the manifest (or index) digest the registry will serve, so it is the image's digest,
//   and results are grouped and reused by it as for a registry image. A `docker save` tarball has no registry
//   manifest (Docker rewrites layers on push), so it has no digest: it is always scanned, never reused.
// - imageId: the config digest, the one identity every form of the same image shares (daemon, tarball, layout,
//   registry); Trivy reports it as Metadata.ImageID.

/** manifest.json, index.json, a manifest or a config: hand-written size is kilobytes. */
const MAX_METADATA_BYTES = 1024 * 1024;
const MAX_KEPT_BYTES = 32 * 1024 * 1024;
const MAX_TAR_ENTRIES = 100_000;

export interface LocalImageFailure {
  target: Target;
  error: string;
}

/** Names and digests every archive or layout target; those that cannot be read are returned as failures. */
export async function inspectLocalImages(
  targets: readonly Target[],
  roots: { workspace: string; tempDir: string },
): Promise<{ targets: Target[]; failures: LocalImageFailure[] }> {
  const out: Target[] = [];
  const failures: LocalImageFailure[] = [];
  for (const target of targets) {
    if (target.local?.kind !== 'archive') {
      out.push(target);
      continue;
    }
    try {
      const found = await locateConfinedPath(target.local.path, {
        roots: [roots.workspace, roots.tempDir],
        input: 'images',
        shown: target.input,
      });
      const identity = await readIdentity(target.local.format, found.real, found.isDirectory);
      out.push(withIdentity(target, found.real, identity));
    } catch (e) {
      const message = errorMessage(e);
      failures.push({
        target,
        error: message.startsWith('`images`')
          ? message
          : `\`images\`: ${quotePath(target.input)} cannot be scanned: ${message}`,
      });
    }
  }
  return { targets: out, failures };
}

/**
 * An archive's digest and name were read before the scan; if Trivy then read another image (the file was replaced
 * in between), the findings do not belong to that identity and must not be stored or reused under it.
 */
export function archiveChangedSinceInspection(
  target: Target,
  scannedImageId: string | undefined,
): string | undefined {
  if (target.local?.kind !== 'archive' || !target.local.imageId || !scannedImageId) return undefined;
  if (scannedImageId === target.local.imageId) return undefined;
  return (
    `\`images\`: ${JSON.stringify(target.input)} changed while it was scanned (image config ${target.local.imageId} ` +
    `before, ${scannedImageId} in Trivy's report); nothing from this scan is kept`
  );
}

interface ArchiveIdentity {
  name?: string;
  digest?: string;
  imageId: string;
}

function withIdentity(target: Target, real: string, identity: ArchiveIdentity): Target {
  const local = { ...target.local!, path: real, imageId: identity.imageId } as Target['local'];
  const named = identity.name ? tryParseImageReference(identity.name) : undefined;
  const base = { ...target, local, ...(identity.digest && { digest: identity.digest }) };
  if (!named?.ok) return base;
  const { registry, repository, tag } = named.value;
  return {
    ...base,
    ref: named.value.ref.replace(/@.*$/, ''),
    registry,
    repository,
    ...(tag ? { tag } : {}),
  };
}

async function readIdentity(
  format: ArchiveFormat,
  real: string,
  isDirectory: boolean,
): Promise<ArchiveIdentity> {
  if (format === 'oci-dir') {
    if (!isDirectory)
      throw new Error('oci-dir: names a file; give the layout directory (the one holding index.json)');
    return ociIdentity(directoryBlobs(real));
  }
  if (isDirectory) throw new Error(`${format}: names a directory; for an OCI layout directory use oci-dir:`);
  let kept = 0;
  const entries = await readTarEntries(real, {
    keep: (name, size) => {
      const metadata = name === 'manifest.json' || name === 'index.json';
      const small =
        size <= MAX_METADATA_BYTES &&
        kept + size <= MAX_KEPT_BYTES &&
        (name.startsWith('blobs/') || name.endsWith('.json'));
      if (metadata || small) kept += size;
      return metadata || small;
    },
    maxEntryBytes: MAX_METADATA_BYTES,
    maxEntries: MAX_TAR_ENTRIES,
  });
  const byName = new Map<string, TarEntry>();
  for (const entry of entries) {
    // Trivy reads the first of two same-named entries in a docker save tarball and the last in an OCI tar: an
    // archive holding a name twice could show the action one image and Trivy another.
    if (byName.has(entry.name) && entry.type !== 'directory') {
      throw new Error('it holds two entries of the same name; an image archive never does');
    }
    byName.set(entry.name, entry);
  }
  if (format === 'docker-archive') return dockerArchiveIdentity(byName);
  return ociIdentity(tarBlobs(byName));
}

/** `docker save`: manifest.json lists one image (Trivy, like go-containerregistry's tarball.Image, reads only one). */
function dockerArchiveIdentity(byName: Map<string, TarEntry>): ArchiveIdentity {
  const manifestEntry = byName.get('manifest.json');
  if (!manifestEntry?.data) {
    throw new Error(
      byName.has('index.json')
        ? 'it has no manifest.json but an index.json: it is an OCI layout; use oci-archive:'
        : 'it has no manifest.json: it is not a docker save archive',
    );
  }
  const manifest = parseJson(manifestEntry.data, 'manifest.json');
  if (!Array.isArray(manifest) || manifest.length !== 1 || !isObject(manifest[0])) {
    throw new Error('manifest.json must list exactly one image (save one image per archive)');
  }
  const image = manifest[0];
  const configName = typeof image.Config === 'string' ? image.Config : undefined;
  const config = configName ? byName.get(configName) : undefined;
  if (!configName || !config) throw new Error('manifest.json names a Config the archive does not hold');
  if (!config.data) throw new Error(`its image config is larger than ${MAX_METADATA_BYTES} bytes`);
  const layers: unknown[] = Array.isArray(image.Layers) ? image.Layers : [];
  const missing = layers.find((l) => typeof l !== 'string' || !byName.has(l));
  if (missing !== undefined) throw new Error(`manifest.json names a layer the archive does not hold`);
  const repoTags: unknown[] = Array.isArray(image.RepoTags) ? image.RepoTags : [];
  const tags = repoTags.filter((t): t is string => typeof t === 'string');
  return { ...(tags[0] && { name: tags[0] }), imageId: sha256(config.data) };
}

type BlobReader = {
  index(): Promise<Buffer>;
  /** The blob's content (metadata-sized), or undefined when absent; throws when it exists but may not be read. */
  blob(digest: string, keep: boolean): Promise<Buffer | undefined | 'present'>;
};

async function ociIdentity(reader: BlobReader): Promise<ArchiveIdentity> {
  const index = parseJson(await reader.index(), 'index.json');
  const manifests: unknown[] | undefined =
    isObject(index) && Array.isArray(index.manifests) ? index.manifests : undefined;
  if (!manifests || manifests.length === 0) throw new Error('index.json lists no image (no valid manifest)');
  // Trivy scans the first image of the layout.
  const top = manifests[0];
  if (!isObject(top) || typeof top.digest !== 'string')
    throw new Error('index.json: its first entry has no digest');
  let descriptor = top;
  let document = await metadataBlob(reader, top.digest);
  for (let depth = 0; isObject(document) && Array.isArray(document.manifests); depth++) {
    // A multi-platform layout: Trivy takes the first image of the nested index.
    const child: unknown = document.manifests[0];
    if (depth > 2 || !isObject(child) || typeof child.digest !== 'string') {
      throw new Error(`the index ${String(descriptor.digest)} lists no image`);
    }
    descriptor = child;
    document = await metadataBlob(reader, child.digest);
  }
  const config = isObject(document) && isObject(document.config) ? document.config.digest : undefined;
  if (typeof config !== 'string')
    throw new Error(`the manifest ${String(descriptor.digest)} names no config`);
  await metadataBlob(reader, config);
  const layers: unknown[] = isObject(document) && Array.isArray(document.layers) ? document.layers : [];
  for (const layer of layers) {
    const digest = isObject(layer) ? layer.digest : undefined;
    if (typeof digest !== 'string') throw new Error('a layer of its manifest has no digest');
    if ((await reader.blob(digest, false)) === undefined) {
      throw new Error(`the layout is missing the layer blob ${digest}`);
    }
  }
  const annotations = isObject(top.annotations) ? top.annotations : {};
  const fullName = annotations['io.containerd.image.name'];
  const refName = annotations['org.opencontainers.image.ref.name'];
  const name =
    typeof fullName === 'string'
      ? fullName
      : typeof refName === 'string' && /[/:]/.test(refName)
        ? refName
        : undefined;
  return { ...(name && { name }), digest: top.digest, imageId: config };
}

async function metadataBlob(reader: BlobReader, digest: string): Promise<unknown> {
  const data = await reader.blob(digest, true);
  if (data === undefined) throw new Error(`the layout is missing the blob ${digest}`);
  if (data === 'present') throw new Error(`the blob ${digest} is larger than ${MAX_METADATA_BYTES} bytes`);
  if (sha256(data) !== digest) throw new Error(`the blob ${digest} does not match its digest`);
  return parseJson(data, digest);
}

function blobPath(digest: string): string {
  const m = /^(sha256|sha512):([a-f0-9]{64,128})$/.exec(digest);
  // Not quoted: the text comes from the archive, which may lie outside the workspace, and such content is never
  // echoed.
  if (!m) throw new Error('a descriptor in it has a digest that is not sha256:<hex> or sha512:<hex>');
  return `blobs/${m[1]}/${m[2]}`;
}

function tarBlobs(byName: Map<string, TarEntry>): BlobReader {
  return {
    index: () => {
      const entry = byName.get('index.json');
      if (!entry?.data) {
        throw new Error(
          byName.has('manifest.json')
            ? 'it has no index.json but a manifest.json: it is a docker save archive; use docker-archive:'
            : 'it has no index.json: it is not an OCI layout archive',
        );
      }
      return Promise.resolve(entry.data);
    },
    blob: (digest) => {
      const entry = byName.get(blobPath(digest));
      if (!entry || entry.type !== 'file') return Promise.resolve(undefined);
      return Promise.resolve(entry.data ?? 'present');
    },
  };
}

/** Every file of the layout is read inside it: a symlink in it (to /proc, to a secret) is refused, never followed. */
function directoryBlobs(root: string): BlobReader {
  const inside = async (relative: string): Promise<{ file: string; size: number } | undefined> => {
    const file = path.join(root, relative);
    if (!isInsideDir(root, file)) throw new Error(`${relative} is outside the layout`);
    const found = await lstat(file).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
      throw e;
    });
    if (!found) return undefined;
    if (found.isSymbolicLink())
      throw new Error(`${relative} is a symlink; files of a layout are not followed`);
    if (!found.isFile()) throw new Error(`${relative} is not a regular file`);
    return { file, size: found.size };
  };
  return {
    index: async () => {
      const found = await inside('index.json');
      if (!found) throw new Error('it has no index.json: it is not an OCI layout directory');
      if (found.size > MAX_METADATA_BYTES)
        throw new Error(`its index.json is larger than ${MAX_METADATA_BYTES} bytes`);
      return readFile(found.file);
    },
    blob: async (digest, keep) => {
      const found = await inside(blobPath(digest));
      if (!found) return undefined;
      if (!keep || found.size > MAX_METADATA_BYTES) return 'present';
      return readFile(found.file);
    },
  };
}

function parseJson(data: Buffer, name: string): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch {
    throw new Error(`${name} is not valid JSON`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sha256(data: Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
