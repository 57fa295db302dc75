import path from 'node:path';
import * as core from '@actions/core';
import type { Config } from '../config.js';
import { ensureRealDirectory, OUTPUT_NAMES } from '../infra/output-dir.js';
import type { Logger } from '../infra/logger.js';
import type { ImageResult } from '../model.js';
import { renderSbom, sbomFileName, type SbomOptions } from '../report/sbom.js';
import { writeFileAtomic } from './publish-results.js';

// `sbom`: one file per scanned image in output-dir/sbom/, and the `sbom-files` output (a JSON list of paths). An
// image that has no SBOM is named in the log with the reason — never a file missing silently.

/** Before any work: `output-dir/sbom` is created, or refused when a symlink or a file is in its place. */
export async function prepareSbomDir(config: Pick<Config, 'sbom' | 'outputDir'>): Promise<void> {
  if ((config.sbom ?? 'none') === 'none') return;
  await ensureRealDirectory(path.join(config.outputDir, OUTPUT_NAMES.sbom));
}

export async function writeSboms(
  images: readonly ImageResult[],
  config: Pick<Config, 'sbom' | 'outputDir'>,
  opts: SbomOptions & { logger: Logger },
): Promise<string[]> {
  const format = config.sbom ?? 'none';
  if (format === 'none') return [];
  const dir = path.join(config.outputDir, OUTPUT_NAMES.sbom);
  const written: string[] = [];
  const missing: string[] = [];
  for (const image of images) {
    if (image.status === 'failed') {
      missing.push(`${image.target.ref} (the scan failed)`);
      continue;
    }
    if (image.packages === undefined) {
      missing.push(
        `${image.target.ref} (its results carry no package list: the scan that made them had no \`sbom\`)`,
      );
      continue;
    }
    const file = path.join(dir, sbomFileName(image, format));
    await writeFileAtomic(file, renderSbom(image, format, opts));
    written.push(file);
  }
  opts.logger.info(
    `sbom: wrote ${written.length} ${format === 'cyclonedx' ? 'CycloneDX' : 'SPDX'} SBOM(s) to ${dir}.`,
  );
  if (missing.length) opts.logger.warning(`sbom: no SBOM for ${missing.join('; ')}.`);
  core.setOutput('sbom-files', JSON.stringify(written));
  return written;
}
