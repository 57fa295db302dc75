import path from 'node:path';
import { glob } from 'tinyglobby';
import { ConfigurationError } from '../errors.js';
import type { Logger } from '../infra/logger.js';
import type { ResultsFile, Target } from '../model.js';
import { mergeResults, type MergedResults } from './merge-results.js';
import { readReportFile } from './results-file.js';

/**
 * Expands the `reports` globs (relative to the workspace). Each entry must match at least one file, so a typo or a
 * missing artifact is refused up front instead of silently gating on fewer images.
 */
export async function expandReportGlobs(patterns: readonly string[], workspace: string): Promise<string[]> {
  const files = new Set<string>();
  for (const pattern of patterns) {
    const matched = await glob([pattern], {
      cwd: workspace,
      absolute: true,
      onlyFiles: true,
      dot: true,
      expandDirectories: false,
    });
    if (matched.length === 0) {
      throw new ConfigurationError(
        `reports: "${pattern}" matches no file under ${workspace}. Give the path or glob of results files ` +
          '(results.json) or Trivy JSON reports — with download-artifact, check its `path`.',
        'reports',
      );
    }
    for (const f of matched.sort()) files.add(path.normalize(f));
  }
  return [...files];
}

/** Reads every report file (results files of earlier runs or raw Trivy reports) and merges them by digest. */
export async function loadReports(
  files: readonly string[],
  logger: Logger,
): Promise<MergedResults & { inputs: ResultsFile[] }> {
  const inputs: ResultsFile[] = [];
  for (const file of files) {
    const read = await readReportFile(file);
    logger.info(
      `Read ${read.kind === 'results' ? 'results file' : 'Trivy report'} ${file} (${read.results.images.length} image(s)).`,
    );
    inputs.push(read.results);
  }
  const merged = mergeResults(inputs);
  if (merged.trivyVersions.length > 1) {
    logger.warning(
      `The reports come from several Trivy versions (${merged.trivyVersions.join(', ')}); findings may differ between them.`,
    );
  }
  return { ...merged, inputs };
}

/**
 * Adds repository-file origins (from `discover-files`) to merged images that have none, so a fan-in job over raw
 * reports can still annotate the Dockerfile line that pulls an image in.
 */
export function attachOrigins<T extends { target: Target }>(
  images: T[],
  fileTargets: readonly Target[],
): T[] {
  const byRef = new Map(fileTargets.map((t) => [t.ref, t]));
  return images.map((image) => {
    const found = byRef.get(image.target.ref);
    if (!found) return image;
    const seen = new Set(image.target.origins.map((o) => `${o.file}:${o.line}`));
    const origins = [
      ...image.target.origins,
      ...found.origins.filter((o) => !seen.has(`${o.file}:${o.line}`)),
    ];
    const sources = [...new Set([...image.target.sources, ...found.sources])];
    return { ...image, target: { ...image.target, origins, sources } };
  });
}
