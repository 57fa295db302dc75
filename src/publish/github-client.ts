import { getOctokit } from '@actions/github';
import { defaults as actionsDefaults } from '@actions/github/lib/utils';
import { retryDelayMs } from '../infra/http.js';
import { systemClock, type Clock } from '../infra/clock.js';
import type { Logger } from '../infra/logger.js';

// The GitHub REST client the publish stage uses: @actions/github's Octokit (REST methods + paginate), pointed at
// GITHUB_API_URL (GHES works), with the runner's proxy settings kept, and retries on 429/5xx/network errors that
// wait through the injected Clock, so tests observe the backoff without waiting.

export type GitHubClient = ReturnType<typeof getOctokit>;

export interface GitHubClientOptions {
  token: string;
  apiUrl: string;
  logger: Logger;
  clock?: Clock;
  /** Retries per request after the first try (default 3); a request may lower it with `request: { retries }`. */
  retries?: number;
}

export function createGitHubClient(options: GitHubClientOptions): GitHubClient {
  const { token, logger } = options;
  logger.setSecret(token);
  const clock = options.clock ?? systemClock;
  const octokit = getOctokit(token, {
    baseUrl: options.apiUrl.replace(/\/+$/, ''),
    userAgent: 'image-scan-gate',
    // `request` replaces @actions/github's default wholesale (a shallow merge): keep its proxy-aware fetch.
    request: { ...actionsDefaults.request, retries: options.retries ?? 3 },
  });
  octokit.hook.wrap('request', async (request, requestOptions) => {
    const retries = Number((requestOptions.request as { retries?: unknown } | undefined)?.retries ?? 0);
    for (let attempt = 1; ; attempt++) {
      try {
        return await request(requestOptions);
      } catch (error) {
        if (attempt > retries || !isRetryable(error)) throw error;
        const delay = retryDelayMs(attempt, retryAfterOf(error), clock.now());
        logger.debug(
          `GitHub API ${requestOptions.method} ${requestOptions.url}: ${httpStatusOf(error) ?? 'network error'}, ` +
            `retry ${attempt}/${retries} in ${delay} ms`,
        );
        await clock.sleep(delay);
      }
    }
  });
  return octokit;
}

/**
 * The HTTP status GitHub answered with, or undefined when no answer came: Octokit reports a failed fetch
 * (connection refused, reset) as a 500 without a response, and that is not GitHub saying 500.
 */
export function httpStatusOf(error: unknown): number | undefined {
  const { status, response } = (error ?? {}) as { status?: unknown; response?: unknown };
  return typeof status === 'number' && response !== undefined ? status : undefined;
}

/** GitHub's own `message` from an error response, else the error's message. */
export function gitHubMessageOf(error: unknown): string {
  const data = (error as { response?: { data?: unknown } } | null)?.response?.data;
  const message = (data as { message?: unknown } | null)?.message;
  if (typeof message === 'string' && message) return message;
  return error instanceof Error ? error.message : String(error);
}

function retryAfterOf(error: unknown): string | null {
  const headers = (error as { response?: { headers?: Record<string, unknown> } } | null)?.response?.headers;
  const value = headers?.['retry-after'];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : null;
}

const TRANSIENT_STATUSES = new Set([429, 500, 502, 503, 504]);

function isRetryable(error: unknown): boolean {
  const status = httpStatusOf(error);
  if (status === undefined) return true; // no answer at all: a network error
  if (TRANSIENT_STATUSES.has(status)) return true;
  // A secondary rate limit is a 403 that says when to come back.
  return status === 403 && retryAfterOf(error) !== null;
}
