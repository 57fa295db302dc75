import { lstat, mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { ConfigurationError } from '../errors.js';
import { isInsideDir, quotePath } from './workspace-files.js';

// `output-dir` usually lies in the checkout, which a pull request controls: a committed symlink at it, at `reports/`
// below it or at a file the action writes would send the action's writes anywhere on the runner (files the action
// writes stay inside the workspace or RUNNER_TEMP). So the directory is checked, and created, before any work.

/** The files and the folder the action writes under `output-dir`. */
export const OUTPUT_NAMES = {
  results: 'results.json',
  summary: 'summary.md',
  /** Trivy's raw report per image. */
  reports: 'reports',
  /** One SBOM per image (`sbom`). */
  sbom: 'sbom',
} as const;

/** `results.sarif`, then `results-2.sarif`, … when the SARIF is split to GitHub's limits. */
export function sarifFileName(index: number): string {
  return index === 0 ? 'results.sarif' : `results-${index + 1}.sarif`;
}

const WRITTEN_FILE = /^(?:results\.json|summary\.md|results(?:-\d+)?\.sarif)$/;

/**
 * Refuses an `output-dir` outside the workspace and RUNNER_TEMP, a symlink at it or at any directory on the way
 * down from there (`reports/` included), something else than a directory in the way, and a symlink or directory
 * where the action writes a file; then creates the directories. Call it before any download, registry call or scan.
 */
export async function prepareOutputDir(dirs: {
  outputDir: string;
  workspace: string;
  tempDir: string;
}): Promise<void> {
  const outputDir = path.resolve(dirs.outputDir);
  const base = [path.resolve(dirs.workspace), path.resolve(dirs.tempDir)]
    .filter((b) => isInsideDir(b, outputDir))
    .sort((a, b) => b.length - a.length)[0];
  if (base === undefined) {
    throw refusal(
      outputDir,
      'is outside the workspace and RUNNER_TEMP; give a path relative to the repository root (the default is image-scan-results)',
    );
  }
  let dir = base;
  for (const part of [
    ...path.relative(base, outputDir).split(path.sep).filter(Boolean),
    OUTPUT_NAMES.reports,
  ]) {
    dir = path.join(dir, part);
    await ensureRealDirectory(dir);
  }
  for (const entry of await readdir(outputDir, { withFileTypes: true })) {
    if (WRITTEN_FILE.test(entry.name) && !entry.isFile()) {
      throw refusal(
        path.join(outputDir, entry.name),
        `is ${entry.isSymbolicLink() ? 'a symlink' : 'not a regular file'} where the action writes its ${entry.name}; ` +
          'the action does not write through symlinks — remove it from the repository or choose another output-dir',
      );
    }
  }
}

/** Creates `dir` (its parent exists) unless it is there as a real directory; refuses a symlink or a file in the way. */
export async function ensureRealDirectory(dir: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const found = await lstat(dir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw cannotCreate(dir, e);
    });
    if (found?.isSymbolicLink()) {
      throw refusal(
        dir,
        'is a symlink; the action does not write through symlinks — remove it from the repository or choose another output-dir',
      );
    }
    if (found && !found.isDirectory()) {
      throw refusal(
        dir,
        'is in the way: it is a file, not a directory; remove it or choose another output-dir',
      );
    }
    if (found) return;
    try {
      await mkdir(dir);
      return;
    } catch (e) {
      // Created by someone else meanwhile: check what is there now (once).
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw cannotCreate(dir, e);
    }
  }
}

function refusal(dir: string, why: string): ConfigurationError {
  return new ConfigurationError(`\`output-dir\`: ${quotePath(dir)} ${why}.`, 'output-dir');
}

function cannotCreate(dir: string, e: unknown): ConfigurationError {
  return refusal(dir, `cannot be created (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
}
