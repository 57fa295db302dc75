import { workflowRunUrl } from '../infra/run-url.js';
import { createHash } from 'node:crypto';
import type { Config } from '../config.js';
import type { Clock } from '../infra/clock.js';
import type { Logger } from '../infra/logger.js';
import type { ImageResult } from '../model.js';
import { imagePurl } from '../report/sbom.js';
import type { GitHubRunContext } from './github-context.js';
import { createGitHubClient, gitHubMessageOf, httpStatusOf, type GitHubClient } from './github-client.js';

// `dependency-graph: true`: each scanned image's packages go to GitHub's dependency submission API
// (POST /repos/{owner}/{repo}/dependency-graph/snapshots, at GITHUB_API_URL, so GHES too), so Dependabot alerts
// cover what the images contain. One snapshot per image: GitHub keeps only the latest snapshot per job.correlator
// and detector, so the correlator names the workflow, the job and the image (its reference without digest) — a
// re-run replaces its own snapshot, and two images never replace each other's. A token without
// `contents: write` (403) is said once and the remaining images are not tried; nothing here fails the scan.

const DETECTOR_NAME = 'image-scan-gate';

/** The request body: GitHub's `snapshot` schema (checked against the OpenAPI description in the tests). */
export interface Snapshot {
  version: number;
  job: { id: string; correlator: string; html_url?: string };
  sha: string;
  ref: string;
  detector: { name: string; version: string; url: string };
  metadata?: Record<string, string>;
  manifests: Record<
    string,
    {
      name: string;
      metadata?: Record<string, string>;
      resolved: Record<string, { package_url: string; relationship: 'indirect'; scope: 'runtime' }>;
    }
  >;
  scanned: string;
}

export interface SnapshotContext {
  github: GitHubRunContext;
  toolVersion: string;
  /** When the images were scanned (the run's start). */
  scannedAt: string;
  /** The action's own repository (GITHUB_ACTION_REPOSITORY), for the detector's URL. */
  actionRepository?: string;
}

/** The correlator of an image's snapshot: workflow, job and image, stable across runs. */
export function snapshotCorrelator(github: GitHubRunContext, image: ImageResult): string {
  const ref = image.target.ref.replace(/@.*$/, '');
  return `${github.workflow ?? 'workflow'}/${github.job ?? 'job'}/${ref}`;
}

/** The snapshot body for one image (the OpenAPI `snapshot` schema), or undefined when it has no package list. */
export function buildSnapshot(image: ImageResult, ctx: SnapshotContext): Snapshot | undefined {
  if (image.packages === undefined) return undefined;
  const ref = image.target.ref.replace(/@.*$/, '');
  const resolved: Record<string, { package_url: string; relationship: 'indirect'; scope: 'runtime' }> = {};
  for (const p of image.packages) {
    // GitHub identifies a package by its purl; one without a purl cannot be matched to an advisory.
    if (!p.purl?.startsWith('pkg:')) continue;
    resolved[p.purl] = { package_url: p.purl, relationship: 'indirect', scope: 'runtime' };
  }
  const { github } = ctx;
  const purl = imagePurl(image);
  const runUrl = workflowRunUrl({
    serverUrl: github.serverUrl,
    repository: `${github.repository.owner}/${github.repository.repo}`,
    runId: github.runId,
    runAttempt: github.runAttempt,
  });
  return {
    version: 0,
    job: {
      id: `${github.runId ?? '0'}-${createHash('sha256').update(ref).digest('hex').slice(0, 12)}`,
      correlator: snapshotCorrelator(github, image),
      ...(runUrl && { html_url: runUrl }),
    },
    sha: github.sha,
    ref: github.ref,
    detector: {
      name: DETECTOR_NAME,
      version: ctx.toolVersion,
      url: `${github.serverUrl}/${ctx.actionRepository || `${github.repository.owner}/${github.repository.repo}`}`,
    },
    ...(purl && { metadata: { image: purl } }),
    manifests: { [ref]: { name: ref, ...(purl && { metadata: { image: purl } }), resolved } },
    scanned: ctx.scannedAt,
  };
}

export interface DependencyGraphOutcome {
  submitted: string[];
  problem?: string;
}

async function submitDependencyGraph(
  images: readonly ImageResult[],
  ctx: SnapshotContext,
  deps: { octokit: GitHubClient; logger: Logger },
): Promise<DependencyGraphOutcome> {
  const { logger } = deps;
  const { github } = ctx;
  const submitted: string[] = [];
  if (github.readOnlyToken) {
    const problem = 'dependency-graph: not submitted — this pull request from a fork has a read-only token.';
    logger.notice(problem);
    return { submitted, problem };
  }
  const lacking: string[] = [];
  for (const image of images) {
    if (image.status !== 'scanned' && image.status !== 'reused') continue;
    const snapshot = buildSnapshot(image, ctx);
    if (!snapshot) {
      lacking.push(image.target.ref);
      continue;
    }
    try {
      await deps.octokit.rest.dependencyGraph.createRepositorySnapshot({
        owner: github.repository.owner,
        repo: github.repository.repo,
        ...snapshot,
      });
      submitted.push(image.target.ref);
    } catch (e) {
      const status = httpStatusOf(e);
      if (status === 403 || status === 404) {
        // Said once: every other image would be refused the same way.
        const problem =
          `dependency-graph: GitHub refused the snapshot (${status}: ${gitHubMessageOf(e)}); ` +
          (status === 403
            ? 'give the job `permissions: contents: write`.'
            : 'the dependency graph may be disabled for this repository.') +
          ` ${images.length - submitted.length} image(s) not submitted; the scan's result is unaffected.`;
        logger.warning(problem);
        return { submitted, problem };
      }
      logger.warning(
        `dependency-graph: ${image.target.ref} not submitted (${status ?? 'no answer'}: ${gitHubMessageOf(e)}).`,
      );
    }
  }
  if (lacking.length)
    logger.warning(`dependency-graph: no package list for ${lacking.join(', ')}; not submitted.`);
  logger.info(`dependency-graph: submitted ${submitted.length} snapshot(s), one per image.`);
  return { submitted };
}

/** The stage call: submits when `dependency-graph` is on and there is a repository and a token to submit with. */
export async function publishDependencyGraph(
  images: readonly ImageResult[],
  config: Pick<Config, 'dependencyGraph' | 'githubToken'>,
  github: GitHubRunContext | undefined,
  opts: Omit<SnapshotContext, 'github'> & { logger: Logger; clock: Clock },
): Promise<DependencyGraphOutcome | undefined> {
  if (!config.dependencyGraph) return undefined;
  if (!github || !config.githubToken) {
    opts.logger.notice(
      'dependency-graph: not submitted — no GitHub token or repository context (set github-token).',
    );
    return { submitted: [], problem: 'no GitHub context' };
  }
  const octokit = createGitHubClient({
    token: config.githubToken,
    apiUrl: github.apiUrl,
    logger: opts.logger,
    clock: opts.clock,
  });
  return submitDependencyGraph(images, { ...opts, github }, { octokit, logger: opts.logger });
}
