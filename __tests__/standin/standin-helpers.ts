import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { runProcess, type ProcessResult } from '../../src/infra/exec.js';
import { projectRoot } from '../../test-support/paths.js';

export const standinPath = path.join(projectRoot, 'test-support', 'trivy-standin', 'trivy.mjs');

/** `trivy image` asking for the JSON report offline: the DB already in `cacheDir`, scans sharing it in memory. */
export function offlineImageArgs(cacheDir: string): string[] {
  return [
    'image',
    '--format',
    'json',
    '--skip-db-update',
    '--cache-backend',
    'memory',
    '--cache-dir',
    cacheDir,
  ];
}

/** Runs the stand-in with a clean environment: no TRIVY_* from the developer's shell, HOME in a temp dir. */
export function runStandin(
  args: string[],
  env: Record<string, string | undefined>,
  home: string,
): Promise<ProcessResult> {
  // runProcess gives a child only allow-listed variables (no TRIVY_* or STANDIN_* of the developer's shell).
  const added = Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined),
  );
  return runProcess({
    command: standinPath,
    args,
    env: { HOME: home, DOCKER_CONFIG: path.join(home, '.docker'), ...added },
    timeoutMs: 60_000,
  });
}

export interface StandinLogLine {
  argv: string[];
  pid: number;
  start: number;
  end: number;
  exitCode: number;
  command: string;
  credentialEnv: string[];
  dbRepositories?: string[];
  image?: string;
}

export function readStandinLog(file: string): StandinLogLine[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as StandinLogLine);
}
