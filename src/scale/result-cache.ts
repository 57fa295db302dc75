import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pLimit from 'p-limit';
import { jsonSyntaxProblem } from '../errors.js';
import { imageResultSchema } from '../findings/results-file.js';
import type { Logger } from '../infra/logger.js';
import type { ImageResult, ResultsFile, Target } from '../model.js';

// `cache-results`: an image digest already scanned with the same Trivy version, the same vulnerability DB build
// and the same scanner settings has the same findings, so it is not scanned again. Results are kept by a key that
// hashes exactly those facts; where they are kept is a ResultStore (a directory the Actions cache restores and
// saves, or results files given as `reports`).

/** Everything besides the digest that decides what Trivy reports. */
export interface ResultKeyParts {
  trivyVersion: string;
  /** The DB build (metadata.json UpdatedAt): a newer DB can report new vulnerabilities for the same digest. */
  dbUpdatedAt: string;
  scanners: readonly string[];
  pkgTypes: readonly string[];
  /** An index digest resolves to a different image per platform. */
  platform?: string;
  /**
   * A hash of Trivy's settings from the workflow (`trivy-config`'s effective content, `skip-files`, `skip-dirs`,
   * `detection-priority`, `vuln-severity-source`, the `ignore-policy` text): they change what Trivy reports.
   */
  settings?: string;
}

const RESULT_KEY_PREFIX = 'isg-results-';

export function resultKey(digest: string, parts: ResultKeyParts): string {
  const canonical = [
    digest,
    parts.trivyVersion,
    parts.dbUpdatedAt,
    [...parts.scanners]
      .map((s) => s.trim())
      .sort()
      .join(','),
    [...parts.pkgTypes]
      .map((s) => s.trim())
      .sort()
      .join(','),
    parts.platform ?? '',
    // Only when set, so results saved before these settings existed keep their keys.
    ...(parts.settings ? [`settings=${parts.settings}`] : []),
  ].join('\n');
  return RESULT_KEY_PREFIX + createHash('sha256').update(canonical).digest('hex');
}

export interface ResultStore {
  get(key: string): Promise<ImageResult | undefined>;
  put(key: string, result: ImageResult): Promise<void>;
}

/** `<dir>/<key>.json`, one file per result: what the Actions cache restores and saves. */
export function resultFilePath(dir: string, key: string): string {
  return path.join(dir, `${key}.json`);
}

/**
 * Results as files under `dir`. A missing, unreadable or malformed file is a miss (it is scanned again), never an
 * error: the cache is an optimisation.
 */
export function directoryResultStore(dir: string, logger?: Logger): ResultStore {
  return {
    async get(key) {
      let text: string;
      try {
        text = await readFile(resultFilePath(dir, key), 'utf8');
      } catch {
        return undefined;
      }
      return parseStoredResult(text, key, logger);
    },
    async put(key, result) {
      await mkdir(dir, { recursive: true });
      const file = resultFilePath(dir, key);
      // Write then rename, so a concurrent reader never sees half a file.
      const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
      await writeFile(temp, JSON.stringify(storable(result)), { mode: 0o644 });
      await rename(temp, file);
    },
  };
}

function parseStoredResult(text: string, key: string, logger?: Logger): ImageResult | undefined {
  try {
    const parsed = imageResultSchema.safeParse(JSON.parse(text));
    if (parsed.success) return parsed.data;
    logger?.debug(`cached result ${key} is not a valid image result; scanning again`);
  } catch (e) {
    // Not JSON.parse's message: it quotes the file, which another job may have written, and file content is never
    // echoed.
    logger?.debug(`cached result ${key} is not JSON (${jsonSyntaxProblem(e, text)}); scanning again`);
  }
  return undefined;
}

/** What is worth keeping: the scan's facts, not this run's paths or timings. */
function storable(result: ImageResult): ImageResult {
  const { rawReport: _raw, durationMs: _duration, ...rest } = result;
  return rest;
}

/**
 * Results files given as `reports`: any image scanned (or reused) there with a digest, Trivy version and DB build
 * is offered under the key this run would compute, assuming the same scanners, package types and Trivy settings
 * (a results file does not record them). Read-only.
 */
export function reportsResultStore(
  files: readonly ResultsFile[],
  settings: Pick<ResultKeyParts, 'scanners' | 'pkgTypes' | 'platform' | 'settings'>,
): ResultStore {
  const byKey = new Map<string, ImageResult>();
  for (const file of files) {
    for (const image of file.images) {
      if (image.status !== 'scanned' && image.status !== 'reused') continue;
      const trivyVersion = image.trivyVersion ?? file.trivyVersion;
      const dbUpdatedAt = image.dbUpdatedAt ?? file.dbUpdatedAt;
      if (!image.digest || !trivyVersion || !dbUpdatedAt) continue;
      const platform = image.target.platform ?? settings.platform;
      const key = resultKey(image.digest, {
        ...settings,
        trivyVersion,
        dbUpdatedAt,
        ...(platform !== undefined && { platform }),
      });
      if (!byKey.has(key)) byKey.set(key, { ...image, trivyVersion, dbUpdatedAt });
    }
  }
  return {
    get: (key) => Promise.resolve(byKey.get(key)),
    put: () => Promise.resolve(),
  };
}

/** Looks in each store in turn; saves into every one. */
export function chainedResultStore(...stores: ResultStore[]): ResultStore {
  return {
    async get(key) {
      for (const store of stores) {
        const found = await store.get(key);
        if (found) return found;
      }
      return undefined;
    },
    async put(key, result) {
      for (const store of stores) await store.put(key, result);
    },
  };
}

export interface ReusePlan {
  /** Results taken from the store, re-attached to this run's targets, with status 'reused'. */
  reuse: ImageResult[];
  /** Targets still to scan: no digest known, or no stored result. */
  scan: Target[];
}

/**
 * Splits targets into those whose digest already has a result under these key parts and those to scan. Lookups
 * run a few at a time (each may be a cache download). Output order follows the input.
 */
export async function partitionForReuse(
  targets: readonly Target[],
  store: ResultStore,
  parts: ResultKeyParts,
  concurrency = 8,
): Promise<ReusePlan> {
  const limit = pLimit(concurrency);
  const found = await Promise.all(
    targets.map((target) =>
      limit(async () =>
        target.digest ? await store.get(resultKey(target.digest, keyParts(target, parts))) : undefined,
      ),
    ),
  );
  const reuse: ImageResult[] = [];
  const scan: Target[] = [];
  targets.forEach((target, i) => {
    const stored = found[i];
    if (!stored) {
      scan.push(target);
      return;
    }
    // The stored result was made for some ref of this digest; this run's target (its tags, origins) is the truth.
    const { rawReport: _raw, durationMs: _duration, error: _error, ...facts } = stored;
    reuse.push({
      ...facts,
      target,
      digest: target.digest,
      status: 'reused',
      trivyVersion: parts.trivyVersion,
      dbUpdatedAt: parts.dbUpdatedAt,
    });
  });
  return { reuse, scan };
}

/** The key of a scanned result, for saving: only clean scans with a digest are worth keeping. */
export function storableKey(result: ImageResult, parts: ResultKeyParts): string | undefined {
  if (result.status !== 'scanned' || !result.digest) return undefined;
  return resultKey(result.digest, keyParts(result.target, parts));
}

function keyParts(target: Target, parts: ResultKeyParts): ResultKeyParts {
  const platform = target.platform ?? parts.platform;
  return { ...parts, ...(platform !== undefined && { platform }) };
}
