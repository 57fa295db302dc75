import path from 'node:path';
import { glob } from 'tinyglobby';
import { ConfigurationError } from '../errors.js';
import type { Logger } from '../infra/logger.js';
import { plural } from '../infra/wording.js';
import {
  locateRepositoryFile,
  MAX_REPOSITORY_FILE_BYTES,
  readRepositoryFile,
} from '../infra/workspace-files.js';
import type { Origin, SkippedTarget, Target } from '../model.js';
import { parseComposeEnv } from './file-formats/compose-env.js';
import { isDockerfileName, looksLikeDockerfileName, parseDockerfile } from './file-formats/dockerfile.js';
import type { FileFindings } from './file-formats/found-reference.js';
import { isKustomizationPath } from './file-formats/kustomization.js';
import {
  isJsonPath,
  isWorkflowPath,
  isYamlPath,
  parseManifestImages,
  parseWorkflowImages,
} from './file-formats/yaml-images.js';
import { readKustomizations, type KustomizeRead } from './kustomize.js';
import { mergeTargets } from './merge-targets.js';
import { tryParseImageReference } from './reference.js';

// `discover-files`: images referenced in the repository's own files, each keeping the file and line that
// references it (for annotations). The format is chosen by file name, not by the glob that matched it.

export type FileFormat = 'dockerfile' | 'workflow' | 'manifest' | 'json-manifest' | 'kustomization';

/**
 * The format of a file by its name. `named`: the user's glob names this very file, so a name that only looks like a
 * Dockerfile's (`Dockerfile.5.md`) is read as one.
 */
export function fileFormatOf(relativePath: string, named = false): FileFormat | undefined {
  const basename = path.posix.basename(relativePath);
  if (isDockerfileName(basename) || (named && looksLikeDockerfileName(basename))) return 'dockerfile';
  if (isKustomizationPath(relativePath)) return 'kustomization';
  if (isWorkflowPath(relativePath)) return 'workflow';
  if (isYamlPath(relativePath)) return 'manifest';
  if (isJsonPath(relativePath)) return 'json-manifest';
  return undefined;
}

interface FileContext {
  /** The glob names this file exactly. */
  named?: boolean;
  /** The `platform` input: Dockerfile platform ARGs resolve for it. */
  platform?: string;
  /** Variables of the `.env` beside a Compose file. */
  composeEnv?: ReadonlyMap<string, string>;
}

/** The pure part: one file's text → the references in it (a kustomization's are read by kustomize.ts). */
function findImagesInFile(
  relativePath: string,
  text: string,
  context: FileContext = {},
): FileFindings | undefined {
  switch (fileFormatOf(relativePath, context.named)) {
    case 'dockerfile':
      return parseDockerfile(text, relativePath, context.platform ? { platform: context.platform } : {});
    case 'workflow':
      return parseWorkflowImages(text, relativePath);
    case 'manifest':
      return parseManifestImages(
        text,
        relativePath,
        context.composeEnv ? { composeEnv: context.composeEnv } : {},
      );
    case 'json-manifest':
      return parseManifestImages(text, relativePath, { json: true });
    default:
      return undefined;
  }
}

/**
 * The pure part: findings of many files → Targets (one per normalised ref, all origins) and the references that
 * cannot be resolved without guessing.
 */
export function targetsFromFindings(findings: readonly FileFindings[]): {
  targets: Target[];
  unresolved: SkippedTarget[];
} {
  const targets: Target[] = [];
  const unresolved = new Map<string, SkippedTarget & { origins: Origin[] }>();
  const addUnresolved = (text: string, reason: string, origin: Origin) => {
    const key = `${text}\u0000${reason}`;
    const seen = unresolved.get(key);
    if (seen) seen.origins.push(origin);
    else unresolved.set(key, { ref: text, reason, origins: [origin] });
  };
  for (const f of findings) {
    for (const u of f.unresolved) addUnresolved(u.text, u.reason, u.origin);
    for (const found of f.found) {
      const parsed = tryParseImageReference(found.image);
      if (!parsed.ok) {
        // As written: a value from `.env` that is not an image reference is not shown (it may be anything).
        addUnresolved(
          found.written ?? found.image,
          `not a valid image reference (${parsed.reason})`,
          found.origin,
        );
        continue;
      }
      const { ref, registry, repository, tag, digest } = parsed.value;
      targets.push({
        ref,
        input: found.image,
        registry,
        repository,
        ...(tag ? { tag } : {}),
        ...(digest ? { digest } : {}),
        ...(found.platform ? { platform: found.platform } : {}),
        origins: [found.platform ? { ...found.origin, platform: found.platform } : found.origin],
        sources: ['file'],
      });
    }
  }
  return { targets: mergeTargets(targets), unresolved: [...unresolved.values()] };
}

export async function discoverFileReferences(
  globs: readonly string[],
  deps: { workspace: string; logger: Logger; platform?: string },
): Promise<{ targets: Target[]; unresolved: SkippedTarget[] }> {
  if (globs.length === 0) return { targets: [], unresolved: [] };
  checkGlobs(globs);
  const files = (
    await glob([...globs], {
      cwd: deps.workspace,
      ignore: ['**/node_modules/**', '**/.git/**'],
      dot: true,
      onlyFiles: true,
      // Symlinks are not walked; one in the glob's literal part (`deploy/Dockerfile`) is caught below.
      followSymbolicLinks: false,
      expandDirectories: false,
    })
  )
    .map((f) => f.split(path.sep).join('/'))
    .sort();
  if (files.length === 0) {
    deps.logger.warning(
      `discover-files: no file in the workspace matches ${globs.map((g) => `"${g}"`).join(', ')}.`,
    );
    return { targets: [], unresolved: [] };
  }
  const named = new Set(globs.map((g) => g.replace(/^\.\//, '')));
  const formatOf = (file: string) => fileFormatOf(file, named.has(file));

  const findings: FileFindings[] = [];
  const report = (file: string, f: FileFindings) => {
    if (f.skipped) {
      const message = `discover-files: ${file}${f.skipped.line ? `:${f.skipped.line}` : ''} skipped: ${f.skipped.reason}.`;
      if (f.skipped.level === 'warning') {
        deps.logger.warning(message, { file, ...(f.skipped.line ? { startLine: f.skipped.line } : {}) });
      } else deps.logger.debug(message);
    }
    findings.push(f);
  };

  // Kustomizations first: the manifests they include are read through them, with their image overrides. Only the
  // outermost matched ones count (an overlay's base is read as part of the overlay).
  const kustomizations = files.filter((f) => formatOf(f) === 'kustomization');
  const reads: ({ root: string } & KustomizeRead)[] = [];
  for (const k of kustomizations) {
    reads.push({ root: k, ...(await readKustomizations([k], { workspace: deps.workspace, readManifest })) });
  }
  const includedByOther = (k: string) => reads.some((r) => r.root !== k && r.read.has(k));
  const readThroughKustomize = new Set<string>();
  for (const r of reads) {
    if (includedByOther(r.root)) continue;
    for (const f of r.read) readThroughKustomize.add(f);
    for (const f of r.findings) report(f.file, f.findings);
  }

  const composeEnvs = new Map<string, ReadonlyMap<string, string> | undefined>();
  for (const file of files) {
    const format = formatOf(file);
    if (format === 'kustomization' || readThroughKustomize.has(file)) continue;
    if (!format) {
      deps.logger.debug(
        `discover-files: ${file} is not a Dockerfile, workflow, Compose file, Kubernetes manifest or kustomization; skipped.`,
      );
      continue;
    }
    // A match that leads out of the workspace (through a symlinked directory) refuses the run before any work:
    // skipping it would let a pull request silently change what is scanned.
    const found = await locateRepositoryFile(deps.workspace, file, 'discover-files');
    if (!found) continue; // removed since the glob ran
    if (found.size > MAX_REPOSITORY_FILE_BYTES) {
      // Larger files are not manifests anyone writes by hand (a generated bundle, say): skip, do not fail.
      deps.logger.warning(
        `discover-files: ${file} is larger than ${MAX_REPOSITORY_FILE_BYTES / 1024 / 1024} MiB; skipped.`,
        { file },
      );
      continue;
    }
    const text = await readRepositoryFile(found, 'discover-files');
    const composeEnv =
      format === 'manifest' && /^services\s*:/m.test(text)
        ? await composeEnvBeside(file, deps, composeEnvs)
        : undefined;
    report(
      file,
      findImagesInFile(file, text, {
        named: named.has(file),
        ...(deps.platform ? { platform: deps.platform } : {}),
        ...(composeEnv ? { composeEnv } : {}),
      })!,
    );
  }

  const result = targetsFromFindings(findings);
  // Each reference not scanned is said once, as a warning on its first line (the others are named in it).
  for (const u of result.unresolved) {
    const [first, ...more] = u.origins ?? [];
    const also = more.length
      ? ` Also at ${more
          .slice(0, 5)
          .map((o) => `${o.file}:${o.line}`)
          .join(', ')}${more.length > 5 ? ` and ${more.length - 5} more` : ''}.`
      : '';
    deps.logger.warning(
      `discover-files: not scanned: "${u.ref}"${first ? ` at ${first.file}:${first.line}` : ''} — ${u.reason}.${also}`,
      first
        ? { file: first.file, startLine: first.line, ...(first.column ? { startColumn: first.column } : {}) }
        : {},
    );
  }
  deps.logger.info(
    `discover-files: ${plural(result.targets.length, 'image')} referenced in ${plural(files.length, 'file')}` +
      (result.unresolved.length
        ? `; ${plural(result.unresolved.length, 'reference')} could not be resolved.`
        : '.'),
  );
  return result;
}

/** Kubernetes manifests a kustomization lists (YAML or JSON, whatever their name). */
function readManifest(file: string, text: string): FileFindings {
  return parseManifestImages(text, file, { json: isJsonPath(file) });
}

/** The `.env` in a Compose file's directory, read once per directory; undefined when there is none. */
async function composeEnvBeside(
  file: string,
  deps: { workspace: string; logger: Logger },
  cache: Map<string, ReadonlyMap<string, string> | undefined>,
): Promise<ReadonlyMap<string, string> | undefined> {
  const envFile = path.posix.join(path.posix.dirname(file), '.env');
  if (cache.has(envFile)) return cache.get(envFile);
  let env: ReadonlyMap<string, string> | undefined;
  try {
    const found = await locateRepositoryFile(deps.workspace, envFile, 'discover-files');
    if (found) env = parseComposeEnv(await readRepositoryFile(found, 'discover-files'));
  } catch (e) {
    if (!(e instanceof ConfigurationError)) throw e;
    // A `.env` that leads outside the workspace (or is too large) is not read: its variables stay unresolved.
    deps.logger.warning(`discover-files: ${envFile} not read: ${e.message}`, { file: envFile });
  }
  cache.set(envFile, env);
  return env;
}

/** Globs name repository files: relative, inside the workspace. */
function checkGlobs(globs: readonly string[]): void {
  for (const g of globs) {
    const pattern = g.startsWith('!') ? g.slice(1) : g;
    if (path.isAbsolute(pattern) || pattern.split(/[\\/]/).includes('..')) {
      throw new ConfigurationError(
        `discover-files: "${g}" points outside the repository; use globs relative to the workspace ` +
          '(e.g. "**/Dockerfile", "deploy/**/*.yaml").',
        'discover-files',
      );
    }
  }
}
