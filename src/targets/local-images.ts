import path from 'node:path';
import { isInsideDir } from '../infra/workspace-files.js';
import { ARCHIVE_FORMATS, IMAGE_DAEMONS, type ArchiveFormat, type ImageDaemon } from '../model.js';
import { tryParseImageReference, type ImageReference } from './reference.js';

// Images that are not (or not yet) in a registry, named in `images` by a prefix. Pure: paths are checked lexically
// here; what is really on disk is checked by inspect-local-images.ts before the scan.
//
//   docker:REF | containerd:REF | podman:REF    an image in that local daemon (Trivy --image-src)
//   docker-archive:PATH                         a `docker save` tarball (also buildx type=docker), gzip or not
//   oci-archive:PATH.tar                        an OCI image layout in a tar (buildx type=oci)
//   oci-dir:PATH                                an OCI image layout directory (buildx type=oci,tar=false)
//
// A prefixed entry always means a local image. Forms that read both ways are refused (see ambiguity()).

/** The `image-source` input: where unprefixed `images` entries are read from. */
export const IMAGE_SOURCE_INPUTS = ['auto', 'remote', ...IMAGE_DAEMONS] as const;
export type ImageSourceInput = (typeof IMAGE_SOURCE_INPUTS)[number];

export type ListedEntry =
  | { kind: 'remote'; reference: ImageReference }
  | { kind: 'daemon'; daemon: ImageDaemon; reference: ImageReference }
  | { kind: 'archive'; format: ArchiveFormat; path: string; shown: string };

export interface LocalPathRoots {
  workspace: string;
  tempDir: string;
}

const PREFIXES: readonly string[] = [...IMAGE_DAEMONS, ...ARCHIVE_FORMATS];
const PREFIXED = /^([a-z]+(?:-[a-z]+)?):(.*)$/s;
const ARCHIVE_SUFFIX = /\.(?:tar|tar\.gz|tgz)$/i;
const BARE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/**
 * One `images` entry: a registry reference, a daemon image or an archive. `reason` (when not ok) is a sentence for
 * the ConfigurationError naming `images`, in words a user can act on.
 */
export function parseListedEntry(
  entry: string,
  opts: { imageSource: ImageSourceInput; roots: LocalPathRoots },
): { ok: true; value: ListedEntry } | { ok: false; reason: string } {
  const text = entry.trim();
  const prefixed = PREFIXED.exec(text);
  const prefix = prefixed && PREFIXES.includes(prefixed[1]) ? prefixed[1] : undefined;
  if (prefix === undefined) return plainEntry(text, opts.imageSource);
  const rest = prefixed![2];
  const ambiguous = ambiguity(text, prefix, rest);
  if (ambiguous) return { ok: false, reason: ambiguous };
  if ((IMAGE_DAEMONS as readonly string[]).includes(prefix)) {
    if (opts.imageSource === 'remote') {
      return {
        ok: false,
        reason: `"${text}" names a local ${prefix} image, but \`image-source\` is remote (registry only); use image-source: auto, or list the registry reference`,
      };
    }
    const parsed = tryParseImageReference(rest);
    if (!parsed.ok)
      return { ok: false, reason: `"${text}": "${rest}" is not a valid image reference (${parsed.reason})` };
    return { ok: true, value: { kind: 'daemon', daemon: prefix as ImageDaemon, reference: parsed.value } };
  }
  return archiveEntry(text, prefix as ArchiveFormat, rest, opts.roots);
}

function plainEntry(
  text: string,
  imageSource: ImageSourceInput,
): { ok: true; value: ListedEntry } | { ok: false; reason: string } {
  const lastPart = text.slice(text.lastIndexOf('/') + 1);
  if (/^\.{0,2}\//.test(text) || (ARCHIVE_SUFFIX.test(lastPart) && !/[:@]/.test(lastPart))) {
    return {
      ok: false,
      reason:
        `"${text}" looks like a file path, not an image reference: name archives and layouts with a prefix — ` +
        'docker-archive:PATH (docker save, buildx type=docker), oci-archive:PATH.tar (buildx type=oci) or oci-dir:PATH',
    };
  }
  const parsed = tryParseImageReference(text);
  if (!parsed.ok) {
    const scheme = PREFIXED.exec(text)?.[1];
    const hint =
      scheme && !/[./]/.test(scheme) && !/^\d/.test(text.slice(scheme.length + 1))
        ? `; "${scheme}:" is not a source prefix — use one of ${PREFIXES.map((p) => `${p}:`).join(', ')}`
        : '';
    return { ok: false, reason: `"${text}" is not a valid image reference (${parsed.reason})${hint}` };
  }
  if (imageSource === 'auto' || imageSource === 'remote') {
    return { ok: true, value: { kind: 'remote', reference: parsed.value } };
  }
  return { ok: true, value: { kind: 'daemon', daemon: imageSource, reference: parsed.value } };
}

/**
 * `docker:27-cli` is also Docker Hub's `docker` image at tag 27-cli, and `docker:5000/app` also a registry at host
 * `docker`, port 5000: both readings are plausible, so neither is guessed.
 */
function ambiguity(text: string, prefix: string, rest: string): string | undefined {
  if (rest.trim() === '') return `"${text}" names nothing after "${prefix}:"`;
  if (!(IMAGE_DAEMONS as readonly string[]).includes(prefix)) return undefined;
  if (BARE_TAG.test(rest)) {
    return (
      `"${text}" is ambiguous: the Docker Hub image ${prefix}:${rest} or the local ${prefix} image ${rest}; ` +
      `write docker.io/library/${prefix}:${rest} for the registry image, or ${prefix}:${rest}:latest for the local one`
    );
  }
  if (/^\d+\//.test(rest)) {
    return (
      `"${text}" is ambiguous: a registry at host ${prefix}, port ${rest.split('/')[0]}, or the local ${prefix} ` +
      `image ${rest}; for the local image write ${prefix}:docker.io/${rest}`
    );
  }
  return undefined;
}

function archiveEntry(
  text: string,
  format: ArchiveFormat,
  shown: string,
  roots: LocalPathRoots,
): { ok: true; value: ListedEntry } | { ok: false; reason: string } {
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  if (/[\u0000-\u001f]/.test(shown))
    return { ok: false, reason: `"${text}": the path has control characters` };
  // Trivy reads what follows `:` or `@` in an --input path as the name of an image inside an OCI layout.
  if (/[:@]/.test(shown)) {
    return {
      ok: false,
      reason: `"${text}": the path contains ":" or "@", which Trivy reads as an image name inside the layout; rename the file`,
    };
  }
  if (format === 'oci-archive' && path.extname(shown) !== '.tar') {
    return {
      ok: false,
      reason: `"${text}": Trivy opens an OCI layout archive only when its name ends in .tar; rename the file, or unpack it and use oci-dir:`,
    };
  }
  const absolute = path.resolve(roots.workspace, shown);
  if (
    !isInsideDir(path.resolve(roots.workspace), absolute) &&
    !isInsideDir(path.resolve(roots.tempDir), absolute)
  ) {
    return {
      ok: false,
      reason: `"${text}" is outside the workspace and RUNNER_TEMP; write the archive or layout there (e.g. \${{ runner.temp }}/app.tar)`,
    };
  }
  return { ok: true, value: { kind: 'archive', format, path: absolute, shown } };
}

/**
 * The repository an unnamed archive is reported under (SARIF category, alert fingerprints): its path relative to the
 * workspace, or `runner-temp/…` relative to RUNNER_TEMP, so it does not change with the runner's directories.
 */
export function archiveRepository(absolute: string, roots: LocalPathRoots): string {
  const workspace = path.resolve(roots.workspace);
  const inWorkspace = isInsideDir(workspace, absolute);
  const relative = path.relative(inWorkspace ? workspace : path.resolve(roots.tempDir), absolute);
  const name = relative.split(path.sep).join('/') || '.';
  return inWorkspace ? name : `runner-temp/${name}`;
}

/** The ref an archive is known by until (or unless) its own manifest names it: `docker-archive:build/app.tar`. */
export function archiveRef(format: ArchiveFormat, shown: string): string {
  return `${format}:${shown}`;
}
