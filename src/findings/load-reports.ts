import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { glob } from 'tinyglobby';
import { ConfigurationError } from '../errors.js';
import type { Logger } from '../infra/logger.js';
import { plural } from '../infra/wording.js';
import { isInsideDir, quotePath } from '../infra/workspace-files.js';
import type { ResultsFile, Target } from '../model.js';
import { mergeResults, refsOf, type MergedResults } from './merge-results.js';
import { readReportFile, type ReportFile } from './results-file.js';
import { mergeOrigins } from '../targets/merge-targets.js';

/**
 * Expands the `reports` globs (relative to the workspace). Each entry must match at least one file, so a typo or a
 * missing artifact is refused up front instead of silently gating on fewer images.
 *
 * The workflow names where reports are (often RUNNER_TEMP, where artifacts are downloaded), so an entry may point
 * outside the workspace; what it matches may not lead elsewhere: symlinks are not walked, a match must resolve
 * inside its glob's literal base directory, and a base inside the workspace must resolve inside it too (a
 * committed symlink cannot redirect `reports: artifacts/**`).
 */
export async function expandReportGlobs(
  patterns: readonly string[],
  workspace: string,
  input: 'reports' | 'baseline' = 'reports',
): Promise<string[]> {
  const root = path.resolve(workspace);
  const realRoot = await realpath(root);
  const files = new Set<string>();
  for (const pattern of patterns) {
    const scanned = picomatch.scan(pattern);
    const base = path.resolve(root, scanned.isGlob ? scanned.base : pattern);
    const realBase = await realpath(base).catch(() => undefined);
    if (realBase !== undefined && isInsideDir(root, base) && !isInsideDir(realRoot, realBase)) {
      throw new ConfigurationError(
        `\`${input}\`: ${quotePath(pattern)} leads outside the workspace through a symlink (to ${quotePath(realBase)}); ` +
          'reports in the workspace must really be there — give their RUNNER_TEMP path instead.',
        input,
      );
    }
    const matched =
      realBase === undefined
        ? []
        : scanned.isGlob
          ? await glob([pattern], {
              cwd: root,
              absolute: true,
              onlyFiles: true,
              dot: true,
              expandDirectories: false,
              followSymbolicLinks: false,
            })
          : (await stat(realBase)).isFile()
            ? [base]
            : [];
    if (matched.length === 0) {
      throw new ConfigurationError(
        `${input}: "${pattern}" matches no file under ${workspace}. Give the path or glob of results files ` +
          '(results.json) or Trivy JSON reports — with download-artifact, check its `path`.',
        input,
      );
    }
    for (const f of matched.sort()) {
      // A symlinked directory in the glob's literal part is walked by the OS, not by the glob: check every match.
      if (scanned.isGlob && !isInsideDir(realBase!, await realpath(f))) {
        throw new ConfigurationError(
          `\`${input}\`: ${quotePath(f)} (matched by ${quotePath(pattern)}) leads outside ${quotePath(base)} through a symlink; ` +
            "symlinks are not followed out of a glob's base directory.",
          input,
        );
      }
      files.add(path.normalize(f));
    }
  }
  return [...files];
}

/** Reads every report file: results files of earlier runs or raw Trivy reports, each as a results file. */
export async function readReports(files: readonly string[], logger: Logger): Promise<ReportFile[]> {
  const read: ReportFile[] = [];
  for (const file of files) {
    const one = await readReportFile(file);
    logger.info(
      `Read ${one.kind === 'results' ? 'results file' : 'Trivy report'} ${file} (${plural(one.results.images.length, 'image')}).`,
    );
    read.push(one);
  }
  return read;
}

/** Merges the results by digest; several Trivy versions among them are worth a warning. */
export function mergeReports(inputs: readonly ResultsFile[], logger: Logger): MergedResults {
  const merged = mergeResults(inputs);
  if (merged.trivyVersions.length > 1) {
    logger.warning(
      `The reports come from several Trivy versions (${merged.trivyVersions.join(', ')}); findings may differ between them.`,
    );
  }
  return merged;
}

/**
 * Adds repository-file origins (from `discover-files`) to merged images, so a fan-in job over shard results or raw
 * reports can still annotate the Dockerfile line that pulls an image in. A file may name the image by any of its
 * tags (`api:stable` where the image is reported as `api:1.0` with `tags: [stable]`) or by its digest, as a single
 * run would merge it.
 */
export function attachOrigins<T extends { target: Target; digest?: string }>(
  images: T[],
  fileTargets: readonly Target[],
): T[] {
  const byRef = new Map<string, Target[]>();
  for (const t of fileTargets) byRef.set(t.ref, [...(byRef.get(t.ref) ?? []), t]);
  return images.map((image) => {
    const digest = image.digest ?? image.target.digest;
    const found = [
      ...new Set([
        ...refsOf(image.target).flatMap((ref) => byRef.get(ref) ?? []),
        // Pinned by digest in the file (`api@sha256:...`): the same repository and digest is the same image.
        ...(digest
          ? fileTargets.filter(
              (t) =>
                t.digest === digest &&
                t.registry === image.target.registry &&
                t.repository === image.target.repository,
            )
          : []),
      ]),
    ];
    if (found.length === 0) return image;
    const origins = mergeOrigins(
      [...image.target.origins],
      found.flatMap((t) => t.origins),
    );
    const sources = [...new Set([...image.target.sources, ...found.flatMap((t) => t.sources)])];
    return { ...image, target: { ...image.target, origins, sources } };
  });
}
