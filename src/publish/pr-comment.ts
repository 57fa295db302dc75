import type { Logger } from '../infra/logger.js';
import { gitHubMessageOf, httpStatusOf, type GitHubClient } from './github-client.js';
import type { GitHubRunContext } from './github-context.js';

// One sticky comment per pull request (per category): found by a hidden marker in its body, edited in place on
// every run, recreated if someone deleted it. The comment is a view of the scan, never its verdict: GitHub's
// refusals become one warning, and nothing here throws.

export interface PrCommentDeps {
  octokit: GitHubClient;
  logger: Logger;
  /** The `pr-comment` input: `auto` comments on pull_request events only; `always` also finds the PR of a push. */
  mode?: 'auto' | 'always' | 'never';
  /**
   * The marker of an older version of this comment (before it was keyed by job). When no comment carries `marker`,
   * one carrying this is taken over and edited, so an upgrade does not leave a stale comment behind.
   */
  legacyMarker?: string;
}

export interface PrCommentResult {
  url?: string;
  action: 'created' | 'updated' | 'skipped';
  reason?: string;
}

interface ExistingComment {
  id: number;
  body?: string;
  html_url: string;
  user?: { login?: string; type?: string } | null;
}

const WRITE_FIX =
  'Give the job `permissions: pull-requests: write`, or set `pr-comment: never` to stop commenting.';

export async function upsertPrComment(
  body: string,
  marker: string,
  ctx: GitHubRunContext,
  deps: PrCommentDeps,
): Promise<PrCommentResult> {
  const { logger, octokit } = deps;
  const mode = deps.mode ?? 'auto';
  if (mode === 'never') return { action: 'skipped', reason: 'pr-comment is never' };
  if (!body.includes(marker)) {
    // Without the marker in the body the next run could not find this comment and would post another one.
    throw new Error(`the comment body does not contain its marker ${marker}`);
  }
  if (ctx.readOnlyToken) {
    const reason = 'pull requests from forks get a read-only token';
    logger.notice(`PR comment skipped: ${reason}; the job summary has the same report.`);
    return { action: 'skipped', reason };
  }
  const { owner, repo } = ctx.repository;
  const skipped = (reason: string, level: 'notice' | 'warning' = 'notice'): PrCommentResult => {
    logger[level](`PR comment skipped: ${reason}`);
    return { action: 'skipped', reason };
  };

  try {
    let issueNumber = ctx.pullRequest?.number;
    if (issueNumber === undefined) {
      if (mode !== 'always') {
        return skipped(`this run is not for a pull request (event ${ctx.eventName || 'unknown'}).`);
      }
      issueNumber = await openPullRequestFor(ctx, octokit);
      if (issueNumber === undefined) {
        return skipped(`no open pull request contains commit ${ctx.sha.slice(0, 12)}.`);
      }
    }

    const comments = (await octokit.paginate(octokit.rest.issues.listComments, {
      owner,
      repo,
      issue_number: issueNumber,
      per_page: 100,
    })) as ExistingComment[];
    let marked = comments.filter((c) => c.body?.includes(marker));
    if (marked.length === 0 && deps.legacyMarker) {
      const legacy = deps.legacyMarker;
      marked = comments.filter((c) => c.body?.includes(legacy));
    }
    // If several carry the marker (a copy pasted by hand, or two concurrent first runs), keep editing the one
    // a bot wrote: that is ours.
    const existing = marked.find((c) => c.user?.type === 'Bot') ?? marked[0];
    if (marked.length > 1) {
      logger.warning(
        `Found ${marked.length} comments with the marker ${marker} on #${issueNumber}; updating ${existing.html_url}. ` +
          'Delete the others to keep one.',
      );
    }

    try {
      if (existing) {
        const { data } = await octokit.rest.issues.updateComment({
          owner,
          repo,
          comment_id: existing.id,
          body,
        });
        logger.info(`PR comment updated: ${data.html_url}`);
        return { action: 'updated', url: data.html_url };
      }
      const { data } = await octokit.rest.issues.createComment({
        owner,
        repo,
        issue_number: issueNumber,
        body,
      });
      logger.info(`PR comment created: ${data.html_url}`);
      return { action: 'created', url: data.html_url };
    } catch (error) {
      if (httpStatusOf(error) === 403) {
        return skipped(`GitHub answered 403 (${gitHubMessageOf(error)}). ${WRITE_FIX}`, 'warning');
      }
      throw error;
    }
  } catch (error) {
    const status = httpStatusOf(error);
    const answer = status ? `GitHub answered ${status} (${gitHubMessageOf(error)})` : gitHubMessageOf(error);
    const fix =
      status === 403 || status === 404
        ? ` The token in \`github-token\` cannot read or write ${owner}/${repo}'s pull requests: ${WRITE_FIX}`
        : " The scan's result is not affected.";
    return skipped(`${answer}.${fix}`, 'warning');
  }
}

/** With `pr-comment: always` on a push: the open pull request whose branch holds this commit, if any. */
async function openPullRequestFor(ctx: GitHubRunContext, octokit: GitHubClient): Promise<number | undefined> {
  const { owner, repo } = ctx.repository;
  const { data } = await octokit.rest.repos.listPullRequestsAssociatedWithCommit({
    owner,
    repo,
    commit_sha: ctx.sha,
    per_page: 100,
  });
  const open = data.filter((pr) => pr.state === 'open');
  // Prefer the PR whose head is exactly this commit (the push that updated it).
  return (open.find((pr) => pr.head.sha === ctx.sha) ?? open[0])?.number;
}
