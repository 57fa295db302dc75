import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { GitHubApi } from '../../test-support/github-api.js';
import type { ActionRun } from '../../test-support/run-action.js';
import { filesUnder, readStandinLog } from './fixtures.js';

// Shared by the hardening suites (__tests__/e2e/hardening-*.itg.test.ts): every credential input gets a unique
// marker, and after a run every place a secret could travel is searched for every marker (../shared/SECURITY.md).

/** One unique marker per credential input (and per secret the runner itself puts in the environment). */
export const MARKERS = {
  registryPassword: 'MARKER-registry-password-7f3a9c',
  registryToken: 'MARKER-registry-token-2b8e41',
  githubToken: 'ghs_MARKERgithubtoken5d61c0e9',
  registryAuthPassword: 'MARKER-registry-auth-password-c4d2e7',
  registryAuthToken: 'MARKER-registry-auth-token-91fa3b',
  downloadUrlPassword: 'MARKER-download-url-password-6e0d5a',
  actionsRuntimeToken: 'MARKER-actions-runtime-token-0a7c3f',
  idTokenRequestToken: 'MARKER-id-token-request-token-e25b18',
  awsSecretAccessKey: 'MARKER-aws-secret-access-key-3f9b72',
  azureClientSecret: 'MARKER-azure-client-secret-8d14c6',
} as const;

const ALL_MARKERS: readonly string[] = Object.values(MARKERS);

/**
 * Credential inputs carrying markers: `registry-username`/`registry-password` for the one host the images share,
 * and `registry-auth` entries for hosts nothing answers on. A marker may reach its own host, nowhere else.
 */
export function markedCredentialInputs(): Record<string, string> {
  return {
    'registry-username': 'marker-user',
    'registry-password': MARKERS.registryPassword,
    'github-token': MARKERS.githubToken,
    'registry-auth': [
      `- registry: other-${MARKERS.registryAuthPassword.length}.example.invalid`,
      '  username: marker-auth-user',
      `  password: ${MARKERS.registryAuthPassword}`,
      '- registry: tokens.example.invalid',
      `  token: ${MARKERS.registryAuthToken}`,
    ].join('\n'),
  };
}

/** Secrets the runner (not the workflow) puts in the environment: no child may get them either. */
export function markedRunnerEnv(): Record<string, string> {
  return {
    ACTIONS_RUNTIME_TOKEN: MARKERS.actionsRuntimeToken,
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: MARKERS.idTokenRequestToken,
    AWS_SECRET_ACCESS_KEY: MARKERS.awsSecretAccessKey,
    AZURE_CLIENT_SECRET: MARKERS.azureClientSecret,
  };
}

export interface LeakSearch {
  /** The stand-in's STANDIN_LOG: each invocation's argv and whole environment are searched. */
  standinLog?: string;
  api?: GitHubApi;
  /** Further files or directories to search (e.g. a results file outside the workspace). */
  extra?: string[];
  /** Markers expected in a child's environment on purpose (none by default). */
  markers?: readonly string[];
  /**
   * Directories whose files legitimately hold a secret while the step runs (the private Docker config, removed by
   * the post step). Only searched when the post step ran.
   */
  allowWhileRunning?: RegExp;
}

/**
 * Every place a secret could leak: stdout and stderr (main and post) except the `::add-mask::` lines that hand a
 * secret to the runner, the outputs, the job summary, every file under the workspace and RUNNER_TEMP (after the
 * post step, the private Docker config is gone too), every GitHub API request (path, query and body), and every
 * child process's argv and environment as the stand-in recorded them.
 */
export function expectNoLeak(run: ActionRun & { post?: ActionRun }, search: LeakSearch = {}): void {
  const markers = search.markers ?? ALL_MARKERS;
  const haystacks: [string, string][] = [
    ['stdout', run.stdout],
    ['stderr', run.stderr],
    ['post stdout', run.post?.stdout ?? ''],
    ['post stderr', run.post?.stderr ?? ''],
    ['outputs', JSON.stringify(run.outputs)],
    ['summary', run.summary],
  ];
  const allow = run.post ? undefined : (search.allowWhileRunning ?? /image-scan-gate-docker-/);
  const dirs = [run.dirs.workspace, run.dirs.temp, ...(search.extra ?? [])];
  for (const d of dirs) {
    const files = fs.existsSync(d) && fs.statSync(d).isDirectory() ? filesUnder(d) : [d];
    for (const f of files) {
      if (allow?.test(f)) continue;
      if (!fs.existsSync(f) || fs.statSync(f).size > 64 * 1024 * 1024) continue;
      haystacks.push([f, fs.readFileSync(f).toString('latin1')]);
    }
  }
  for (const r of search.api?.requests ?? []) {
    haystacks.push([
      `API ${r.method} ${r.path}`,
      JSON.stringify({ path: r.path, query: r.query, body: r.body }),
    ]);
  }
  if (search.standinLog) {
    for (const inv of readStandinLog(search.standinLog)) {
      const env = (inv as { env?: Record<string, string> }).env ?? {};
      haystacks.push([`child argv ${inv.argv.join(' ')}`, JSON.stringify(inv.argv)]);
      haystacks.push([`child env of ${inv.argv.slice(0, 2).join(' ')}`, JSON.stringify(env)]);
    }
  }
  for (const [where, raw] of haystacks) {
    const text = raw.replace(/^::add-mask::.*$/gm, '');
    for (const m of markers) {
      expect(text.includes(m), `marker ${m} appears in ${where}`).toBe(false);
    }
  }
}

/** No `INPUT_*` variable in any child the stand-in recorded (it records every invocation, --version included). */
export function expectNoInputsInChildren(standinLog: string): void {
  const log = readStandinLog(standinLog);
  expect(log.length, 'the stand-in recorded no invocation').toBeGreaterThan(0);
  for (const inv of log) {
    const env = (inv as { env?: Record<string, string> }).env ?? {};
    const inputs = Object.keys(env).filter((k) => k.startsWith('INPUT_'));
    expect(inputs, `INPUT_* in the environment of trivy ${inv.argv.slice(0, 2).join(' ')}`).toEqual([]);
  }
}

/** The results file a run wrote, parsed (and proved to exist). */
export function readResults(
  run: ActionRun,
): { images: { status: string; error?: string }[] } & Record<string, unknown> {
  const file = run.outputs['results-file'];
  expect(file, `no results-file output\n${run.stdout}\n${run.stderr}`).toBeTruthy();
  return JSON.parse(fs.readFileSync(path.resolve(file), 'utf8')) as {
    images: { status: string; error?: string }[];
  };
}
