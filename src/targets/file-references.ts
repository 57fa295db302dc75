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
import { isDockerfileName, parseDockerfile } from './file-formats/dockerfile.js';
import type { FileFindings } from './file-formats/found-reference.js';
import {
  isWorkflowPath,
  isYamlPath,
  parseManifestImages,
  parseWorkflowImages,
} from './file-formats/yaml-images.js';
import { mergeTargets } from './merge-targets.js';
import { tryParseImageReference } from './reference.js';

// `discover-files`: images referenced in the repository's own files, each keeping the file and line that
// references it (for annotations). The format is chosen by file name, not by the glob that matched it.

export type FileFormat = 'dockerfile' | 'workflow' | 'manifest';

export function fileFormatOf(relativePath: string): FileFormat | undefined {
  if (isDockerfileName(path.posix.basename(relativePath))) return 'dockerfile';
  if (isWorkflowPath(relativePath)) return 'workflow';
  if (isYamlPath(relativePath)) return 'manifest';
  return undefined;
}

/** The pure part: one file's text → the references in it. */
export function findImagesInFile(relativePath: string, text: string): FileFindings | undefined {
  switch (fileFormatOf(relativePath)) {
    case 'dockerfile':
      return parseDockerfile(text, relativePath);
    case 'workflow':
      return parseWorkflowImages(text, relativePath);
    case 'manifest':
      return parseManifestImages(text, relativePath);
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
        addUnresolved(found.image, `not a valid image reference (${parsed.reason})`, found.origin);
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
        origins: [found.origin],
        sources: ['file'],
      });
    }
  }
  return { targets: mergeTargets(targets), unresolved: [...unresolved.values()] };
}

export async function discoverFileReferences(
  globs: readonly string[],
  deps: { workspace: string; logger: Logger },
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

  const findings: FileFindings[] = [];
  for (const file of files) {
    if (!fileFormatOf(file)) {
      deps.logger.debug(
        `discover-files: ${file} is not a Dockerfile, workflow, Compose file or Kubernetes manifest; skipped.`,
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
      );
      continue;
    }
    const f = findImagesInFile(file, await readRepositoryFile(found, 'discover-files'))!;
    if (f.skipped) {
      const message = `discover-files: ${file} skipped: ${f.skipped.reason}.`;
      if (f.skipped.level === 'warning') deps.logger.warning(message, { file });
      else deps.logger.debug(message);
    }
    findings.push(f);
  }

  const result = targetsFromFindings(findings);
  for (const u of result.unresolved) {
    const where = u.origins?.[0];
    // Info, not an annotation: the report lists these as skipped, and expressions are expected in workflows.
    deps.logger.info(
      `discover-files: not scanned: "${u.ref}" at ${where ? `${where.file}:${where.line}` : '?'} — ${u.reason}.`,
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
