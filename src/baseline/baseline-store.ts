import { createHash, randomBytes } from 'node:crypto';
import { copyFile, lstat, mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import * as actionsCache from '@actions/cache';
import { errorMessage } from '../errors.js';
import type { Logger } from '../infra/logger.js';

// Where baselines are kept between runs: the results file of the last run on a branch, one Actions cache entry per
// run under a key prefix per repository, category (`sarif-category`) and branch. A pull request's run restores the
// newest entry of its base branch (GitHub lets a pull request read its base branch's caches). Entries are
// immutable, so each run saves under its own key (the prefix + run id and attempt) and restoring by the prefix
// picks the newest.
//
// Like the result store (scale/actions-result-store.ts), the cache sits over a directory at a stable path: the
// cache version hashes the paths it saves, and a runner without the cache service (GHES, `act`, a local run) still
// finds the last baseline a run on it stored. Whatever comes back is untrusted (another job could have written the
// entry): the caller validates it as any results file.

/** The part of `@actions/cache` used here; tests pass their own. */
export interface BaselineCacheApi {
  isFeatureAvailable(): boolean;
  restoreCache(paths: string[], primaryKey: string, restoreKeys?: string[]): Promise<string | undefined>;
  saveCache(paths: string[], key: string): Promise<number>;
}

/** Which baselines a run shares: the same repository, category and branch. */
export interface BaselineScope {
  repository: string; // owner/name
  category: string;
  branch: string;
}

export interface BaselineStore {
  /** The stored results file of the scope's last run, if any (a path to read and validate). */
  restore(scope: BaselineScope): Promise<string | undefined>;
  /** Stores `resultsFile` as the scope's baseline; `runKey` makes the cache key unique per run. */
  save(scope: BaselineScope, resultsFile: string, runKey: string): Promise<void>;
}

const KEY_VERSION = 'isg-baseline-v1-';
const FILE_NAME = 'results.json';

/** The cache key prefix of a scope: hashed, so no branch or category name can make an invalid or colliding key. */
function baselineKeyPrefix(scope: BaselineScope): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([scope.repository, scope.category, scope.branch]))
    .digest('hex')
    .slice(0, 32);
  return `${KEY_VERSION}${hash}-`;
}

export function actionsBaselineStore(
  dir: string,
  logger: Logger,
  cache: BaselineCacheApi = actionsCache,
): BaselineStore {
  const folder = (scope: BaselineScope) => path.join(dir, baselineKeyPrefix(scope).slice(0, -1));
  let available: boolean | undefined;
  const usable = (): boolean => {
    if (available === undefined) {
      available = cache.isFeatureAvailable();
      if (!available) {
        logger.info(
          'baseline: the Actions cache service is not available here; only a baseline stored on this runner is used.',
        );
      }
    }
    return available;
  };

  return {
    async restore(scope) {
      const where = folder(scope);
      if (usable()) {
        const prefix = baselineKeyPrefix(scope);
        try {
          const hit = await cache.restoreCache([where], `${prefix}latest`, [prefix]);
          if (hit !== undefined) logger.info(`baseline: restored ${hit} from the Actions cache.`);
        } catch (e) {
          logger.notice(`baseline: restoring from the Actions cache failed (${errorMessage(e)}).`);
        }
      }
      const file = path.join(where, FILE_NAME);
      return (await lstat(file).then(
        () => true,
        () => false,
      ))
        ? file
        : undefined;
    },
    async save(scope, resultsFile, runKey) {
      const where = folder(scope);
      try {
        await mkdir(where, { recursive: true });
        // Copy then rename: a reader never sees half a file, and a symlink planted at the name is replaced.
        const tmp = path.join(where, `.${randomBytes(6).toString('hex')}.tmp`);
        await copyFile(resultsFile, tmp);
        await rename(tmp, path.join(where, FILE_NAME));
      } catch (e) {
        logger.notice(`baseline: this run's results could not be kept as a baseline (${errorMessage(e)}).`);
        return;
      }
      if (!usable()) return;
      const key = `${baselineKeyPrefix(scope)}${runKey}`;
      try {
        await cache.saveCache([where], key);
        logger.info(`baseline: stored this run's results as the baseline of ${scope.branch} (${key}).`);
      } catch (e) {
        // A re-run of the same attempt saving the same key is harmless: the entry is already there.
        if (e instanceof actionsCache.ReserveCacheError) return;
        logger.notice(`baseline: storing in the Actions cache failed (${errorMessage(e)}).`);
      }
    },
  };
}
