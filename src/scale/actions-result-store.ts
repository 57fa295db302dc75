import { ReserveCacheError } from '@actions/cache';
import { errorMessage } from '../errors.js';
import { narrowedActionsCache } from '../infra/library-env.js';
import type { Logger } from '../infra/logger.js';
import type { ImageResult } from '../model.js';
import { directoryResultStore, resultFilePath, type ResultStore } from './result-cache.js';

// The result store across runs: one Actions cache entry per result key, holding the one file the directory store
// writes for it. The cache service is an optimisation: when it is missing (GHES without it, `act`, a local run) or
// fails, the run says so once and carries on scanning as if nothing were cached.
//
// The cache version hashes the paths as given, so `dir` must be the same absolute path in every run (a directory
// under the runner's home, not a per-run temp folder).

/** The part of `@actions/cache` used here; tests pass their own. */
export interface ActionsCacheApi {
  isFeatureAvailable(): boolean;
  restoreCache(paths: string[], primaryKey: string): Promise<string | undefined>;
  saveCache(paths: string[], key: string): Promise<number>;
}

export function actionsResultStore(
  dir: string,
  logger: Logger,
  cache: ActionsCacheApi = narrowedActionsCache(),
): ResultStore {
  const local = directoryResultStore(dir, logger);
  let available: boolean | undefined;
  const usable = (): boolean => {
    if (available === undefined) {
      available = cache.isFeatureAvailable();
      if (!available) {
        logger.notice(
          'cache-results: the Actions cache service is not available here; no results are restored from it or ' +
            'saved to it (results files given in `reports` are still reused).',
        );
      }
    }
    return available;
  };
  const giveUp = (what: string, e: unknown): void => {
    available = false;
    logger.notice(
      `cache-results: ${what} failed (${errorMessage(e)}); the rest of this run neither reads nor saves scan results.`,
    );
  };

  return {
    async get(key: string): Promise<ImageResult | undefined> {
      const already = await local.get(key);
      if (already || !usable()) return already;
      try {
        const hit = await cache.restoreCache([resultFilePath(dir, key)], key);
        if (hit === undefined) return undefined;
      } catch (e) {
        giveUp('restoring a cached result', e);
        return undefined;
      }
      return local.get(key);
    },
    async put(key: string, result: ImageResult): Promise<void> {
      await local.put(key, result);
      if (!usable()) return;
      try {
        await cache.saveCache([resultFilePath(dir, key)], key);
      } catch (e) {
        // Another job saving the same key first is normal with shards: the result is there either way.
        if (e instanceof ReserveCacheError) {
          logger.debug(`cache-results: ${key} already saved (${errorMessage(e)})`);
          return;
        }
        giveUp('saving a result', e);
      }
    },
  };
}
