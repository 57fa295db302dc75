import type { Logger } from '../infra/logger.js';
import type { BaseImageAdvice } from '../model.js';
import {
  renderSuggestion,
  rightSideLines,
  suggestedFromLine,
  SUGGESTION_MARKER,
} from '../report/base-image-suggestion.js';
import { gitHubMessageOf, httpStatusOf, type GitHubClient } from './github-client.js';
import type { GitHubRunContext } from './github-context.js';

// Base image advice on a pull request: a review comment with a suggested change on each FROM line the pull request
// shows in its diff. Everywhere else (no pull request, a fork's read-only token, a line outside the diff, GitHub
// refusing) the summary and comment line stays the advice; nothing here throws.

interface PullFile {
  filename: string;
  patch?: string;
}

interface ReviewComment {
  path: string;
  line?: number | null;
  body: string;
}

export async function suggestBaseImages(
  advice: readonly BaseImageAdvice[],
  ctx: GitHubRunContext,
  deps: { octokit: GitHubClient; logger: Logger },
): Promise<number> {
  const pr = ctx.pullRequest;
  const recommended = advice.filter((a) => a.recommended);
  if (!pr || recommended.length === 0) return 0;
  const { logger, octokit } = deps;
  if (ctx.readOnlyToken) {
    logger.info('Base image advice: no suggested change (a fork’s token is read-only); see the summary.');
    return 0;
  }
  const { owner, repo } = ctx.repository;
  try {
    const files = (await octokit.paginate(octokit.rest.pulls.listFiles, {
      owner,
      repo,
      pull_number: pr.number,
      per_page: 100,
    })) as PullFile[];
    const patches = new Map(files.map((f) => [f.filename, f.patch ?? '']));
    const existing = (await octokit.paginate(octokit.rest.pulls.listReviewComments, {
      owner,
      repo,
      pull_number: pr.number,
      per_page: 100,
    })) as ReviewComment[];

    let posted = 0;
    for (const a of recommended) {
      for (const origin of a.origins) {
        const patch = patches.get(origin.file);
        const line = patch === undefined ? undefined : rightSideLines(patch).get(origin.line);
        const newLine = line === undefined ? undefined : suggestedFromLine(line, a);
        if (newLine === undefined) continue; // not in this pull request's diff: the summary line says it
        const body = renderSuggestion(a, newLine);
        const already = existing.some(
          (c) =>
            c.path === origin.file &&
            c.line === origin.line &&
            c.body.includes(SUGGESTION_MARKER) &&
            c.body === body,
        );
        if (already) continue;
        await octokit.rest.pulls.createReviewComment({
          owner,
          repo,
          pull_number: pr.number,
          commit_id: pr.headSha || ctx.sha,
          path: origin.file,
          line: origin.line,
          side: 'RIGHT',
          body,
        });
        posted++;
      }
    }
    if (posted > 0) logger.info(`Base image advice: ${posted} suggested change(s) on the pull request.`);
    return posted;
  } catch (error) {
    const status = httpStatusOf(error);
    const answer = status ? `GitHub answered ${status} (${gitHubMessageOf(error)})` : gitHubMessageOf(error);
    const fix =
      status === 403 ? ' Give the job `permissions: pull-requests: write` for suggested changes.' : '';
    logger.notice(`Base image advice: no suggested change: ${answer}.${fix} The summary has the advice.`);
    return 0;
  }
}
