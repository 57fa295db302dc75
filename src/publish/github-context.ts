import { workflowRunUrl } from '../infra/run-url.js';
import { ConfigurationError } from '../errors.js';

// Where this run happens on GitHub, read once from the runner's environment and the event payload. Pure: the
// caller passes `process.env` and a file reader, so every event shape is a table row in a unit test.

interface PullRequestContext {
  number: number;
  /** The PR branch's head commit (not the merge commit the workflow checked out). */
  headSha: string;
  /** `owner/repo` of the head branch; empty when the fork was deleted. */
  headRepoFullName: string;
  baseRepoFullName: string;
  /** The head branch lives in another repository (or in a deleted one). */
  isFork: boolean;
  /** `refs/pull/N/merge`. */
  mergeRef: string;
}

export interface GitHubRunContext {
  /** REST API base, without a trailing slash (`https://api.github.com`, `https://ghes.example/api/v3`). */
  apiUrl: string;
  /** Web base, without a trailing slash (`https://github.com`). */
  serverUrl: string;
  repository: { owner: string; repo: string };
  eventName: string;
  /** The commit the workflow checked out: on a pull request, the merge commit. */
  sha: string;
  /** The ref code scanning files results under: `refs/pull/N/merge` on a pull request, else GITHUB_REF. */
  ref: string;
  runId?: string;
  runAttempt?: string;
  workflow?: string;
  job?: string;
  actor?: string;
  pullRequest?: PullRequestContext;
  /**
   * GitHub gives this run a read-only GITHUB_TOKEN: a `pull_request` from a fork. (`pull_request_target` runs in the
   * base repository with its usual token, so it is not read-only even for a fork.)
   */
  readOnlyToken: boolean;
  workspace: string;
}

export type ReadTextFile = (path: string) => string;

const PULL_REQUEST_EVENTS = new Set(['pull_request', 'pull_request_target']);

export function readGitHubContext(env: NodeJS.ProcessEnv, readFile: ReadTextFile): GitHubRunContext {
  const repository = parseRepository(env.GITHUB_REPOSITORY);
  const sha = (env.GITHUB_SHA ?? '').trim();
  if (!sha) {
    throw new ConfigurationError(
      'GITHUB_SHA is not set: run this action in a GitHub Actions job (or set GITHUB_SHA to the commit scanned).',
    );
  }
  const eventName = (env.GITHUB_EVENT_NAME ?? '').trim();
  const payload = readEventPayload(env.GITHUB_EVENT_PATH, readFile);
  const pullRequest = PULL_REQUEST_EVENTS.has(eventName)
    ? pullRequestFrom(payload, env.GITHUB_REF, repository)
    : undefined;
  return {
    apiUrl: withoutTrailingSlash(env.GITHUB_API_URL || 'https://api.github.com'),
    serverUrl: withoutTrailingSlash(env.GITHUB_SERVER_URL || 'https://github.com'),
    repository,
    eventName,
    sha,
    ref: pullRequest?.mergeRef ?? (env.GITHUB_REF ?? '').trim(),
    runId: env.GITHUB_RUN_ID || undefined,
    runAttempt: env.GITHUB_RUN_ATTEMPT || undefined,
    workflow: env.GITHUB_WORKFLOW || undefined,
    job: env.GITHUB_JOB || undefined,
    actor: env.GITHUB_ACTOR || undefined,
    pullRequest,
    readOnlyToken: eventName === 'pull_request' && pullRequest?.isFork === true,
    workspace: env.GITHUB_WORKSPACE ?? '',
  };
}

function parseRepository(value: string | undefined): { owner: string; repo: string } {
  const match = /^([^/\s]+)\/([^/\s]+)$/.exec((value ?? '').trim());
  if (!match) {
    throw new ConfigurationError(
      `GITHUB_REPOSITORY is ${value ? `"${value}"` : 'not set'}: run this action in a GitHub Actions job ` +
        '(or set GITHUB_REPOSITORY=owner/repo).',
    );
  }
  return { owner: match[1], repo: match[2] };
}

type Json = Record<string, unknown>;

/** The payload, or {} when the file is missing or unreadable (local runs): the ref still names the PR. */
function readEventPayload(path: string | undefined, readFile: ReadTextFile): Json {
  if (!path) return {};
  try {
    const parsed: unknown = JSON.parse(readFile(path));
    return isObject(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

function pullRequestFrom(
  payload: Json,
  githubRef: string | undefined,
  repository: { owner: string; repo: string },
): PullRequestContext | undefined {
  const pr = isObject(payload.pull_request) ? payload.pull_request : {};
  const number = positiveInteger(pr.number) ?? positiveInteger(payload.number) ?? numberFromRef(githubRef);
  if (number === undefined) return undefined;
  const head = isObject(pr.head) ? pr.head : {};
  const base = isObject(pr.base) ? pr.base : {};
  const baseRepoFullName = repoFullName(base.repo) || `${repository.owner}/${repository.repo}`;
  const headRepoFullName = repoFullName(head.repo);
  // Without a payload we cannot tell; assume the same repository and let GitHub's answer decide.
  const hasPayloadHead = isObject(pr.head);
  return {
    number,
    headSha: typeof head.sha === 'string' ? head.sha : '',
    headRepoFullName,
    baseRepoFullName,
    isFork: hasPayloadHead && headRepoFullName.toLowerCase() !== baseRepoFullName.toLowerCase(),
    mergeRef: `refs/pull/${number}/merge`,
  };
}

function repoFullName(repo: unknown): string {
  return isObject(repo) && typeof repo.full_name === 'string' ? repo.full_name : '';
}

function numberFromRef(ref: string | undefined): number | undefined {
  const match = /^refs\/pull\/(\d+)\/(?:merge|head)$/.exec(ref ?? '');
  return match ? Number(match[1]) : undefined;
}

function positiveInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function withoutTrailingSlash(url: string): string {
  return url.trim().replace(/\/+$/, '');
}

export interface GitHubLinks {
  /** The workflow run (the job summary is on this page; its anchor cannot be known from inside the job). */
  runUrl?: string;
  /** The Security tab, filtered to this PR's alerts, or to this tool on this branch. */
  securityUrl: string;
  pullRequestUrl?: string;
}

export function githubLinks(ctx: GitHubRunContext, toolName?: string): GitHubLinks {
  const repoUrl = `${ctx.serverUrl}/${ctx.repository.owner}/${ctx.repository.repo}`;
  const runUrl = workflowRunUrl({
    serverUrl: ctx.serverUrl,
    repository: `${ctx.repository.owner}/${ctx.repository.repo}`,
    runId: ctx.runId,
    runAttempt: ctx.runAttempt,
  });
  const filters: string[] = [];
  if (ctx.pullRequest) {
    filters.push(`pr:${ctx.pullRequest.number}`);
  } else {
    if (toolName) filters.push(`tool:${quoteFilterValue(toolName)}`);
    const branch = /^refs\/heads\/(.+)$/.exec(ctx.ref)?.[1];
    if (branch) filters.push(`branch:${quoteFilterValue(branch)}`);
  }
  const query = filters.length ? `?query=${encodeURIComponent(filters.join(' '))}` : '';
  return {
    runUrl,
    securityUrl: `${repoUrl}/security/code-scanning${query}`,
    pullRequestUrl: ctx.pullRequest ? `${repoUrl}/pull/${ctx.pullRequest.number}` : undefined,
  };
}

function quoteFilterValue(value: string): string {
  return /[\s"]/.test(value) ? `"${value.replace(/"/g, '')}"` : value;
}
