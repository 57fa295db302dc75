import { readFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { ReserveCacheError } from '@actions/cache';
import type { TrivyConfig } from '../config.js';
import { errorMessage } from '../errors.js';
import { systemClock, type Clock } from '../infra/clock.js';
import type { RunProcess } from '../infra/exec.js';
import { narrowedActionsCache } from '../infra/library-env.js';
import type { Logger } from '../infra/logger.js';
import type { TrivyIsolation } from './trivy-isolation.js';
import { parseVersionJson, trivyFatalText } from './trivy-output.js';

// Trivy's DBs are downloaded once per run, before the parallel scans (which then run with --skip-db-update and the
// memory cache backend, so parallel scans never contend for the fs cache lock), and kept in the Actions cache
// between runs.

/** The Actions cache as a seam, so tests need no cache service. */
export interface DbCache {
  restore(paths: string[], key: string, restoreKeys: string[]): Promise<string | undefined>;
  save(paths: string[], key: string): Promise<void>;
}

/** @actions/cache; an unavailable cache service is one notice, never a failure. */
export function actionsDbCache(logger: Logger, library = narrowedActionsCache()): DbCache {
  let noticed = false;
  const unavailable = (why: string) => {
    if (noticed) return;
    noticed = true;
    logger.notice(`The Actions cache is unavailable (${why}); Trivy's DB is downloaded without caching.`);
  };
  return {
    async restore(paths, key, restoreKeys) {
      if (!library.isFeatureAvailable()) {
        unavailable('no cache service on this runner');
        return undefined;
      }
      try {
        return await library.restoreCache(paths, key, restoreKeys);
      } catch (e) {
        unavailable(errorMessage(e));
        return undefined;
      }
    },
    async save(paths, key) {
      if (!library.isFeatureAvailable()) {
        unavailable('no cache service on this runner');
        return;
      }
      try {
        await library.saveCache(paths, key);
      } catch (e) {
        // Another job saved the same key first: that is the cache working.
        if (e instanceof ReserveCacheError) logger.debug(`DB cache not saved: ${errorMessage(e)}`);
        else unavailable(errorMessage(e));
      }
    },
  };
}

const DB_WINDOW_MS = 6 * 3_600_000; // trivy-db is rebuilt every 6 hours

/** A key that changes when the DB is due for an update: one per 6-hour window of the clock. */
export function dbCacheKey(now: Date, needJavaDb: boolean, platform: NodeJS.Platform = process.platform) {
  const windowStart = new Date(Math.floor(now.getTime() / DB_WINDOW_MS) * DB_WINDOW_MS);
  const prefix = `trivy-db-${platform}-${needJavaDb ? 'with-java-' : ''}`;
  return { key: `${prefix}${windowStart.toISOString().slice(0, 13)}`, restoreKeys: [prefix] };
}

interface DbMetadata {
  UpdatedAt?: string;
  NextUpdate?: string;
}

async function readMetadata(file: string): Promise<DbMetadata | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as DbMetadata;
  } catch {
    return undefined;
  }
}

function fresh(meta: DbMetadata | undefined, now: Date): boolean {
  const next = meta?.NextUpdate ? Date.parse(meta.NextUpdate) : NaN;
  return Number.isFinite(next) && next > now.getTime();
}

export interface PrepareDbOptions {
  trivyPath: string;
  cacheDir: string;
  trivy: TrivyConfig;
  needJavaDb: boolean;
  runProcess: RunProcess;
  logger: Logger;
  cache?: DbCache;
  clock?: Clock;
  /** Added to Trivy's allow-listed environment (the private DOCKER_CONFIG, for a DB mirror that needs a login). */
  env?: Readonly<Record<string, string>>;
  /** The private cwd and empty config file: a workspace trivy.yaml cannot redirect the DB download. */
  isolation: TrivyIsolation;
}

export interface PreparedDb {
  cacheDir: string;
  dbUpdatedAt?: string;
  nextUpdate?: string;
  restoredFromCache: boolean;
}

export async function prepareTrivyDatabases(opts: PrepareDbOptions): Promise<PreparedDb> {
  const { cacheDir, logger, trivy } = opts;
  const clock = opts.clock ?? systemClock;
  await mkdir(cacheDir, { recursive: true });
  const dbDir = path.join(cacheDir, 'db');
  const javaDir = path.join(cacheDir, 'java-db');
  const paths = opts.needJavaDb ? [dbDir, javaDir] : [dbDir];
  const { key, restoreKeys } = dbCacheKey(clock.now(), opts.needJavaDb);
  const useCache = trivy.cacheDb && opts.cache !== undefined;

  let restoredKey: string | undefined;
  if (useCache) {
    restoredKey = await opts.cache!.restore(paths, key, restoreKeys);
    if (restoredKey) logger.info(`Trivy DB restored from the Actions cache (${restoredKey})`);
  }

  const now = clock.now();
  const needDb = !fresh(await readMetadata(path.join(dbDir, 'metadata.json')), now);
  const needJava = opts.needJavaDb && !fresh(await readMetadata(path.join(javaDir, 'metadata.json')), now);
  if (needDb) {
    await download(
      opts,
      ['--download-db-only', ...repositoryFlag('--db-repository', trivy.dbRepositories)],
      'vulnerability DB',
    );
  }
  if (needJava) {
    await download(
      opts,
      ['--download-java-db-only', ...repositoryFlag('--java-db-repository', trivy.javaDbRepositories)],
      'Java DB',
    );
  }
  if (!needDb && !needJava) logger.info('Trivy DB is current; nothing to download');
  if (useCache && (needDb || needJava) && restoredKey !== key) await opts.cache!.save(paths, key);

  const meta = await readMetadata(path.join(dbDir, 'metadata.json'));
  return {
    cacheDir,
    ...(meta?.UpdatedAt ? { dbUpdatedAt: meta.UpdatedAt } : {}),
    ...(meta?.NextUpdate ? { nextUpdate: meta.NextUpdate } : {}),
    restoredFromCache: restoredKey !== undefined && !needDb,
  };
}

function repositoryFlag(flag: string, repositories: string[]): string[] {
  return repositories.length ? [flag, repositories.join(',')] : [];
}

async function download(opts: PrepareDbOptions, flags: string[], what: string): Promise<void> {
  const args = [
    'image',
    '--config',
    opts.isolation.configFile,
    ...flags,
    '--cache-dir',
    opts.cacheDir,
    '--no-progress',
    '--skip-version-check',
    '--disable-telemetry',
  ];
  opts.logger.info(`Downloading Trivy's ${what}: trivy ${args.join(' ')}`);
  const result = await opts.runProcess({
    command: opts.trivyPath,
    args,
    env: opts.env,
    cwd: opts.isolation.cwd,
    timeoutMs: 15 * 60_000,
  });
  if (result.exitCode !== 0) {
    const detail = result.timedOut
      ? 'timed out after 15m'
      : trivyFatalText(result.stderr) || `exit ${result.exitCode}`;
    throw new Error(
      `Trivy could not download its ${what}: ${detail}. If the default DB registries are rate-limited or ` +
        'unreachable, set `db-repository` / `java-db-repository` to a mirror.',
    );
  }
}

/** `trivy --version --format json [--cache-dir D]` (in the private cwd) -> the version and the DB build time. */
export async function readTrivyVersion(
  trivyPath: string,
  runProcess: RunProcess,
  cacheDir: string | undefined,
  isolation: TrivyIsolation,
): Promise<{ version: string; dbUpdatedAt?: string }> {
  const args = ['--version', '--format', 'json', ...(cacheDir ? ['--cache-dir', cacheDir] : [])];
  const result = await runProcess({ command: trivyPath, args, cwd: isolation.cwd, timeoutMs: 60_000 });
  const parsed = result.exitCode === 0 ? parseVersionJson(result.stdout) : undefined;
  if (!parsed) {
    throw new Error(
      `${trivyPath} --version --format json failed (exit ${result.exitCode}): ${trivyFatalText(result.stderr)}`,
    );
  }
  return parsed;
}
