import * as actionsCache from '@actions/cache';
import { childEnvironment } from './child-env.js';

// @actions/cache starts `tar` and `zstd` itself, with a copy of the whole process.env: every secret the job put in
// its env (AWS_*, cloud tokens, an earlier step's exports) would reach them. Around each of its calls, process.env
// is narrowed to the allow-list of child-env.ts plus what the library itself reads while it works, and restored
// after. Nothing else runs while it is narrowed but other cache calls (which need the same narrowing): the cache
// stages are awaited on their own, before and after the scans.

/**
 * What @actions/cache 6 reads from process.env during restoreCache/saveCache (its config, cacheHttpClient,
 * cacheUtils, tar and options modules), and what @actions/core reads for the lines it logs meanwhile. The runtime
 * token is the one secret among them: the cache service needs it (README, Security).
 */
const CACHE_LIBRARY_VARIABLES = [
  'ACTIONS_RUNTIME_TOKEN',
  'ACTIONS_RESULTS_URL',
  'ACTIONS_CACHE_URL',
  'ACTIONS_CACHE_SERVICE_V2',
  'ACTIONS_CACHE_MODE',
  'GITHUB_SERVER_URL',
  'GITHUB_REF',
  'GITHUB_WORKSPACE',
  'RUNNER_TEMP',
  'CACHE_UPLOAD_CONCURRENCY',
  'CACHE_UPLOAD_CHUNK_SIZE',
  'SEGMENT_DOWNLOAD_TIMEOUT_MINS',
  'PROGRAMFILES',
  'SYSTEMDRIVE',
  'RUNNER_DEBUG',
  'GITHUB_OUTPUT',
  'GITHUB_STATE',
  'GITHUB_STEP_SUMMARY',
];

let depth = 0;
let removed: Record<string, string> = {};

/** Runs `work` with process.env narrowed as above; overlapping calls share one narrowing, the last restores it. */
export async function withNarrowedEnvironment<T>(work: () => Promise<T>): Promise<T> {
  if (depth++ === 0) {
    const keep = new Set(Object.keys(childEnvironment(process.env)));
    for (const name of CACHE_LIBRARY_VARIABLES) keep.add(name);
    removed = {};
    for (const [name, value] of Object.entries(process.env)) {
      if (value === undefined || keep.has(name)) continue;
      removed[name] = value;
      delete process.env[name];
    }
  }
  try {
    return await work();
  } finally {
    if (--depth === 0) {
      for (const [name, value] of Object.entries(removed)) process.env[name] ??= value;
      removed = {};
    }
  }
}

/** The part of @actions/cache the action uses. */
export interface ActionsCacheLibrary {
  isFeatureAvailable(): boolean;
  restoreCache(paths: string[], primaryKey: string, restoreKeys?: string[]): Promise<string | undefined>;
  saveCache(paths: string[], key: string): Promise<number>;
}

/** @actions/cache (or a stand-in for it) with every call that can start a process made in the narrowed env. */
export function narrowedActionsCache(library: ActionsCacheLibrary = actionsCache): ActionsCacheLibrary {
  return {
    isFeatureAvailable: () => library.isFeatureAvailable(),
    restoreCache: (paths, key, restoreKeys) =>
      withNarrowedEnvironment(() => library.restoreCache(paths, key, restoreKeys)),
    saveCache: (paths, key) => withNarrowedEnvironment(() => library.saveCache(paths, key)),
  };
}
