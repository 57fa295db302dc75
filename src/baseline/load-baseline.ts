import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import type { Config } from '../config.js';
import { ConfigurationError, errorMessage } from '../errors.js';
import { compareResults } from '../findings/compare.js';
import { expandReportGlobs } from '../findings/load-reports.js';
import { mergeResults } from '../findings/merge-results.js';
import { readBaselineFile } from '../findings/results-file.js';
import { isInsideDir, quotePath } from '../infra/workspace-files.js';
import type { Logger } from '../infra/logger.js';
import type { ImageResult, ResultsDelta } from '../model.js';
import type { EffectivePolicy } from '../policy/effective-policy.js';
import type { GitHubRunContext } from '../publish/github-context.js';
import type { BaselineScope, BaselineStore } from './baseline-store.js';

// The baseline a run is compared with (findings/compare.ts): the `baseline` input's results files, else — on a pull
// request — the last results stored for its base branch. Runs on a branch (push, schedule, workflow_dispatch) store
// theirs. A baseline is untrusted: validated as any results file, bounded in size; a bad explicit one stops the run
// naming `baseline`, a bad cached one is a warning and no baseline (the gate then applies the full policy).

/** A results file of a whole estate runs to hundreds of MB; more than this is not a baseline anyone meant. */
export const MAX_BASELINE_BYTES = 256 * 1024 * 1024;

export interface Baseline {
  images: ImageResult[];
  /** The file(s) or the cache entry it came from, for the summary. */
  source: string;
  createdAt: string;
}

export type BaselineLookup = { baseline: Baseline } | { missing: string };

/**
 * The `baseline` input's files, expanded, confined to the workspace and RUNNER_TEMP, read and validated: called
 * before any work, so a bad baseline is refused first.
 */
export async function readExplicitBaseline(
  config: Pick<Config, 'baseline' | 'workspace' | 'tempDir'>,
  logger: Logger,
): Promise<Baseline | undefined> {
  if (config.baseline.length === 0) return undefined;
  await checkBaselineLocations(config.baseline, config.workspace, config.tempDir);
  const files = await expandReportGlobs(config.baseline, config.workspace, 'baseline');
  const read = [];
  for (const file of files) {
    const results = await readBaselineFile(file, MAX_BASELINE_BYTES);
    logger.info(`baseline: read ${file} (${results.images.length} image(s)).`);
    read.push(results);
  }
  return {
    images: mergeResults(read).images,
    source: files.map((f) => path.relative(config.workspace, f) || f).join(', '),
    createdAt:
      read
        .map((r) => r.createdAt)
        .sort()
        .at(-1) ?? '',
  };
}

/** Artifacts the workflow names may be downloaded to RUNNER_TEMP or the workspace; nowhere else. */
async function checkBaselineLocations(patterns: readonly string[], workspace: string, tempDir: string) {
  const roots = await Promise.all(
    [workspace, tempDir].map(async (dir) => [path.resolve(dir), await realpath(dir).catch(() => dir)]),
  );
  for (const pattern of patterns) {
    const scanned = picomatch.scan(pattern);
    const base = path.resolve(workspace, scanned.isGlob ? scanned.base : pattern);
    const realBase = await realpath(base).catch(() => base);
    const inside = roots.some(([lexical, real]) => isInsideDir(lexical, base) && isInsideDir(real, realBase));
    if (!inside) {
      throw new ConfigurationError(
        `\`baseline\`: ${quotePath(pattern)} leads outside the workspace and RUNNER_TEMP; give the path of ` +
          'results files there (e.g. where actions/download-artifact put them).',
        'baseline',
      );
    }
  }
}

/** Which base branch this run compares with (a pull request's), and which branch it stores its results for. */
export function baselineScopes(
  config: Pick<Config, 'sarifCategory'>,
  github: GitHubRunContext | undefined,
  env: NodeJS.ProcessEnv,
): { restore?: BaselineScope; store?: BaselineScope } {
  if (!github) return {};
  const repository = `${github.repository.owner}/${github.repository.repo}`;
  const scope = (branch: string): BaselineScope => ({ repository, category: config.sarifCategory, branch });
  const baseRef = (env.GITHUB_BASE_REF ?? '').trim();
  if (github.pullRequest) return baseRef ? { restore: scope(baseRef) } : {};
  const branch = /^refs\/heads\/(.+)$/.exec(github.ref)?.[1];
  return branch && STORING_EVENTS.has(github.eventName) ? { store: scope(branch) } : {};
}

/** Runs whose results are a branch's state: what pull requests into that branch compare with. */
const STORING_EVENTS = new Set(['push', 'schedule', 'workflow_dispatch']);

/** Unique per run, attempt, job and matrix entry: cache entries are immutable. */
export function baselineRunKey(
  github: GitHubRunContext,
  matrix: string | undefined,
  createdAt: string,
): string {
  const job = createHash('sha256')
    .update(JSON.stringify([github.workflow ?? '', github.job ?? '', matrix ?? '']))
    .digest('hex')
    .slice(0, 12);
  return `${github.runId ?? createdAt.replace(/\D/g, '')}-${github.runAttempt ?? '1'}-${job}`;
}

/** The base branch's stored results; a miss or a damaged entry is no baseline, with the reason. */
export async function restoreBaseline(
  scope: BaselineScope,
  store: BaselineStore,
  logger: Logger,
): Promise<BaselineLookup> {
  const file = await store.restore(scope);
  const branch = JSON.stringify(scope.branch);
  if (!file) {
    return {
      missing: `no results of ${branch} are stored yet (its first run, or the cache entry expired)`,
    };
  }
  try {
    const results = await readBaselineFile(file, MAX_BASELINE_BYTES);
    return {
      baseline: {
        images: results.images,
        source: `the last run on ${branch}`,
        createdAt: results.createdAt,
      },
    };
  } catch (e) {
    logger.warning(`baseline: the stored results of ${branch} cannot be used: ${errorMessage(e)}`);
    return { missing: `the stored results of ${branch} cannot be used (see the log)` };
  }
}

/**
 * The delta the results file records: the comparison when there is a baseline; when one was looked for (or the
 * policy needs one) and none was found, the reason and what the gate does instead; else nothing.
 */
export function baselineDelta(
  lookup: BaselineLookup | undefined,
  images: readonly ImageResult[],
  policy: EffectivePolicy,
): ResultsDelta | undefined {
  if (lookup && 'baseline' in lookup) {
    const { baseline } = lookup;
    return {
      baseline: { source: baseline.source, createdAt: baseline.createdAt },
      images: compareResults(baseline.images, images),
    };
  }
  const usesBaseline =
    policy.newFindingsOnly || Object.values(policy.rules.maxNew).some((n) => n !== undefined);
  if (!lookup && !usesBaseline) return undefined;
  const why = lookup?.missing ?? 'this run is not a pull request and the baseline input is empty';
  const consequence = usesBaseline
    ? 'the gate applies the full policy to every finding'
    : 'every finding is shown as it is';
  return { missing: `No baseline to compare with: ${why}; ${consequence}.`, images: [] };
}
