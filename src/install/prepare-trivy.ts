import path from 'node:path';
import type { Config } from '../config.js';
import type { Clock } from '../infra/clock.js';
import type { RunProcess } from '../infra/exec.js';
import type { HttpClient } from '../infra/http.js';
import { logGroup, type Logger } from '../infra/logger.js';
import { actionsDbCache, prepareTrivyDatabases, readTrivyVersion } from './trivy-db.js';
import { installTrivy } from './trivy-installer.js';
import { prepareTrivyIsolation, type IsolatedScanFiles, type TrivyIsolation } from './trivy-isolation.js';

/** A Trivy ready to scan: everything each scan needs to run it, prepared once per run. */
export interface PreparedTrivy {
  path: string;
  version: string;
  /** When the vulnerability DB the scans read was built (part of the reuse key). */
  dbUpdatedAt?: string;
  cacheDir: string;
  isolation: TrivyIsolation;
  /** Added to Trivy's allow-listed environment (auth/docker-config.ts `trivyEnvFor`). */
  env: Record<string, string>;
}

export interface PrepareTrivyDeps {
  logger: Logger;
  clock: Clock;
  http: HttpClient;
  runProcess: RunProcess;
  /** GITHUB_API_URL (for `trivy-version: latest`). */
  apiUrl: string | undefined;
  /** What the action adds to every Trivy process's environment: the private DOCKER_CONFIG. */
  trivyEnv: Record<string, string>;
  /** The validated `trivy-config` / `ignore-policy` / secret rules, written into the private working directory. */
  scanFiles: IsolatedScanFiles;
}

/**
 * Installs Trivy and brings its DBs up to date, each in its own log group. Every Trivy process runs in a private
 * working directory with a private config and ignore file (install/trivy-isolation.ts).
 */
export async function prepareTrivy(
  config: Pick<Config, 'trivy' | 'tempDir' | 'githubToken'>,
  deps: PrepareTrivyDeps,
): Promise<PreparedTrivy> {
  const { logger } = deps;
  const isolation = await prepareTrivyIsolation(config.tempDir, deps.scanFiles);
  const installed = await logGroup(logger, 'Installing Trivy', () =>
    installTrivy(config.trivy, {
      logger,
      http: deps.http,
      apiUrl: deps.apiUrl,
      githubToken: config.githubToken,
      runProcess: deps.runProcess,
      tempDir: config.tempDir,
      cwd: isolation.cwd,
    }),
  );
  const cacheDir = path.join(config.tempDir, 'image-scan-gate-trivy-cache');
  const { version, dbUpdatedAt } = await logGroup(
    logger,
    "Preparing Trivy's vulnerability databases",
    async () => {
      const db = await prepareTrivyDatabases({
        trivyPath: installed.path,
        cacheDir,
        trivy: config.trivy,
        needJavaDb: config.trivy.pkgTypes.includes('library'),
        runProcess: deps.runProcess,
        logger,
        cache: config.trivy.cacheDb ? actionsDbCache(logger) : undefined,
        clock: deps.clock,
        env: deps.trivyEnv,
        isolation,
      });
      const version = await readTrivyVersion(installed.path, deps.runProcess, cacheDir, isolation);
      return { version: version.version, dbUpdatedAt: db.dbUpdatedAt ?? version.dbUpdatedAt };
    },
  );
  logger.info(`Trivy ${version}${dbUpdatedAt ? `, vulnerability DB built ${dbUpdatedAt}` : ''}.`);
  return {
    path: installed.path,
    version,
    ...(dbUpdatedAt && { dbUpdatedAt }),
    cacheDir,
    isolation,
    env: deps.trivyEnv,
  };
}
