import path from 'node:path';
import { ConfigurationError } from '../errors.js';
import {
  locateRepositoryFile,
  MAX_REPOSITORY_FILE_BYTES,
  readRepositoryFile,
} from '../infra/workspace-files.js';
import type { FileFindings, UnresolvedReference } from './file-formats/found-reference.js';
import {
  applyImageOverride,
  describeOverride,
  isRemoteResource,
  KUSTOMIZATION_FILE_NAMES,
  parseKustomization,
  type ImageOverride,
} from './file-formats/kustomization.js';

// Kustomize overlays: the images a kustomization deploys are those of its resources (files, and bases or components
// in the repository, recursively) after its `images:` overrides (and those of every kustomization below it). Every
// file is read through workspace-files (confined, size-capped); a resource outside the workspace, through `..` or a
// symlink, is listed and not read; remote bases are listed and not fetched; recursion is bounded and cycles stop.

/** Deep enough for real overlay chains; a bound against a hostile repository. */
const MAX_DEPTH = 20;
const MAX_FILES = 1000;

export interface KustomizeRead {
  /** One per file read (resource manifests with their images rewritten by the overrides above them). */
  findings: { file: string; findings: FileFindings }[];
  /** Every repository file the kustomizations read (manifests and kustomizations), relative to the workspace. */
  read: Set<string>;
}

/** Reads manifests as plain files: the caller's `findImagesInFile` (Kubernetes YAML/JSON). */
export type ManifestReader = (relativePath: string, text: string) => FileFindings | undefined;

/** Reads kustomizations (relative paths of kustomization files) with everything they include. */
export async function readKustomizations(
  roots: readonly string[],
  deps: { workspace: string; readManifest: ManifestReader },
): Promise<KustomizeRead> {
  const result: KustomizeRead = { findings: [], read: new Set() };
  for (const root of roots) {
    const state = { files: 0, active: new Set<string>() };
    result.findings.push(...(await readOne(root, [], 0, state, deps, result.read)));
  }
  return result;
}

async function readOne(
  file: string,
  above: readonly ImageOverride[][],
  depth: number,
  state: { files: number; active: Set<string> },
  deps: { workspace: string; readManifest: ManifestReader },
  read: Set<string>,
): Promise<KustomizeRead['findings']> {
  const text = await readConfined(file, deps.workspace, state);
  if (typeof text !== 'string') {
    return [
      { file, findings: { found: [], unresolved: [], skipped: { reason: text.why, level: 'warning' } } },
    ];
  }
  read.add(file);
  const parsed = parseKustomization(text, file);
  if ('skipped' in parsed) {
    const skipped = {
      reason: parsed.skipped,
      level: 'warning' as const,
      ...(parsed.line ? { line: parsed.line } : {}),
    };
    return [{ file, findings: { found: [], unresolved: [], skipped } }];
  }
  // Overrides apply innermost first: a base's own images, then each overlay's above it.
  const layers = [parsed.images, ...above];
  const out: KustomizeRead['findings'] = [];
  const listed: UnresolvedReference[] = [];
  state.active.add(file);
  for (const entry of parsed.resources) {
    const notRead = (reason: string) => listed.push({ text: entry.path, reason, origin: entry.origin });
    if (isRemoteResource(entry.path)) {
      notRead('a remote Kustomize base; not followed (only repository files are read)');
      continue;
    }
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), entry.path));
    if (path.posix.isAbsolute(entry.path) || target === '..' || target.startsWith('../')) {
      notRead('a Kustomize resource outside the workspace; not read');
      continue;
    }
    const nested = await kustomizationIn(target, deps.workspace);
    if (nested === 'refused') {
      notRead('a Kustomize resource that leads outside the workspace (a symlink); not read');
      continue;
    }
    if (nested) {
      if (state.active.has(nested.file)) {
        notRead('a Kustomize resource that includes itself (a cycle); not read again');
        continue;
      }
      if (depth + 1 > MAX_DEPTH) {
        notRead(`Kustomize resources nested more than ${MAX_DEPTH} deep; not read`);
        continue;
      }
      out.push(...(await readOne(nested.file, layers, depth + 1, state, deps, read)));
      continue;
    }
    const manifest = await readConfined(target, deps.workspace, state);
    if (typeof manifest !== 'string') {
      notRead(manifest.why);
      continue;
    }
    read.add(target);
    const findings = deps.readManifest(target, manifest);
    if (findings) out.push({ file: target, findings: rewrite(findings, layers) });
  }
  state.active.delete(file);
  if (listed.length) out.push({ file, findings: { found: [], unresolved: listed } });
  return out;
}

/** The manifest's images after each layer of overrides; the origin stays on the manifest line, with a note. */
function rewrite(findings: FileFindings, layers: readonly ImageOverride[][]): FileFindings {
  return {
    ...findings,
    found: findings.found.map((f) => {
      let image = f.image;
      const notes: string[] = [];
      for (const layer of layers) {
        const applied = applyImageOverride(image, layer);
        if (applied.override) notes.push(describeOverride(applied.override));
        image = applied.image;
      }
      return notes.length ? { ...f, image, origin: { ...f.origin, note: notes.join('; then ') } } : f;
    }),
  };
}

/** The kustomization file in a resource directory; undefined when the resource is not a directory with one. */
async function kustomizationIn(
  dir: string,
  workspace: string,
): Promise<{ file: string } | 'refused' | undefined> {
  for (const name of KUSTOMIZATION_FILE_NAMES) {
    const candidate = path.posix.join(dir, name);
    try {
      if (await locateRepositoryFile(workspace, candidate, 'discover-files')) return { file: candidate };
    } catch (e) {
      if (e instanceof ConfigurationError) return 'refused';
      throw e;
    }
  }
  return undefined;
}

async function readConfined(
  file: string,
  workspace: string,
  state: { files: number },
): Promise<string | { why: string }> {
  if (++state.files > MAX_FILES)
    return { why: `more than ${MAX_FILES} files under one kustomization; not read` };
  try {
    const found = await locateRepositoryFile(workspace, file, 'discover-files');
    if (!found) return { why: 'a Kustomize resource that does not exist in the repository; not read' };
    if (found.size > MAX_REPOSITORY_FILE_BYTES)
      return { why: 'a Kustomize resource larger than 5 MiB; not read' };
    return await readRepositoryFile(found, 'discover-files');
  } catch (e) {
    if (e instanceof ConfigurationError) {
      return {
        why:
          'a Kustomize resource that is not a regular file inside the workspace (a symlink out, or a directory ' +
          'without a kustomization); not read',
      };
    }
    throw e;
  }
}
