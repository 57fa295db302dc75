import { megabytes } from '../infra/wording.js';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { Clock } from '../infra/clock.js';
import type { Logger } from '../infra/logger.js';
import { gitHubMessageOf, httpStatusOf, type GitHubClient } from './github-client.js';
import type { GitHubRunContext } from './github-context.js';

// Uploading SARIF to code scanning: gzip + base64 each file, POST it for the commit and ref this run checked out,
// then wait (bounded) for GitHub to process it. Code scanning is a view of the scan, not its verdict: nothing here
// throws; every refusal becomes one warning that says what to change.

/** GitHub refuses a SARIF upload over 10 MB once gzipped. */
const SARIF_GZIP_LIMIT_BYTES = 10 * 1024 * 1024;
const DEFAULT_MAX_WAIT_MS = 120_000;
const FIRST_POLL_DELAY_MS = 1_000;
const MAX_POLL_DELAY_MS = 15_000;

export interface SarifUploadDeps {
  octokit: GitHubClient;
  logger: Logger;
  clock: Clock;
  /** `tool_name` of the upload (defaults to the SARIF's own driver name on GitHub's side). */
  toolName?: string;
  /** `checkout_uri`; defaults to the workspace as a file:// URI. */
  checkoutUri?: string;
  /** When the scan began (ISO 8601). */
  startedAt: string;
  /** How long to wait for GitHub to process the uploads, in total (default 2 minutes). */
  maxWaitMs?: number;
}

export interface SarifUploadResult {
  /** Ids of the uploads GitHub accepted, in file order. */
  ids: string[];
  status: 'uploaded' | 'skipped' | 'partial';
  /** Each warning also went to the logger once; the summary may repeat them. */
  warnings: string[];
  /** Why nothing was uploaded, when status is `skipped`. */
  reason?: string;
}

const PERMISSIONS_FIX =
  'Give the job `permissions: security-events: write` (private repositories also need `contents: read` and ' +
  '`actions: read`)';
const ENABLE_FIX =
  'enable code scanning for the repository (Settings → Code security → Code scanning; private repositories need ' +
  'GitHub Code Security / Advanced Security)';
const OPT_OUT = 'Or set `upload-sarif: false` to stop uploading.';

export async function uploadSarifFiles(
  files: object[],
  ctx: GitHubRunContext,
  deps: SarifUploadDeps,
): Promise<SarifUploadResult> {
  const { logger } = deps;
  if (files.length === 0) {
    logger.info('Code scanning: no SARIF to upload.');
    return { ids: [], status: 'skipped', warnings: [], reason: 'no SARIF files' };
  }
  if (ctx.readOnlyToken) {
    const reason = 'pull requests from forks get a read-only token';
    logger.notice(
      `Code scanning upload skipped: ${reason}. The SARIF file is still written; results appear in the Security ` +
        'tab once the change is scanned on a branch of this repository.',
    );
    return { ids: [], status: 'skipped', warnings: [], reason };
  }

  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    logger.warning(message);
  };
  const { owner, repo } = ctx.repository;
  const checkoutUri = deps.checkoutUri ?? (ctx.workspace ? pathToFileURL(ctx.workspace).href : undefined);
  const accepted: { id: string; label: string }[] = [];
  const tooLarge: string[] = [];
  let stopReason: string | undefined;

  for (const [index, file] of files.entries()) {
    const label = describeFile(file, index, files.length);
    const gzipped = gzipSync(JSON.stringify(file));
    if (gzipped.length > SARIF_GZIP_LIMIT_BYTES) {
      tooLarge.push(`${label}: ${megabytes(gzipped.length)} gzipped`);
      continue;
    }
    try {
      const { data } = await deps.octokit.rest.codeScanning.uploadSarif({
        owner,
        repo,
        commit_sha: ctx.sha,
        ref: ctx.ref,
        sarif: gzipped.toString('base64'),
        ...(checkoutUri ? { checkout_uri: checkoutUri } : {}),
        started_at: deps.startedAt,
        ...(deps.toolName ? { tool_name: deps.toolName } : {}),
      });
      if (!data.id) throw new Error('GitHub accepted the upload but returned no id');
      logger.info(`Code scanning: uploaded ${label} (id ${data.id}).`);
      accepted.push({ id: data.id, label });
    } catch (error) {
      const status = httpStatusOf(error);
      if (status === 413) {
        tooLarge.push(`${label}: ${megabytes(gzipped.length)} gzipped`);
        continue;
      }
      // 403 and 404 answer for the repository, not the file: the other files would get the same answer.
      if (status === 403 || status === 404) {
        warn(refusalWarning(status, gitHubMessageOf(error), ctx));
        stopReason = `GitHub answered ${status}`;
        break;
      }
      warn(
        `Code scanning upload of ${label} failed: ${describeError(error)}. The scan's result is not affected.`,
      );
    }
  }
  if (tooLarge.length) {
    warn(
      `Code scanning upload skipped for ${tooLarge.join('; ')}: GitHub refuses SARIF over 10 MB gzipped (413). ` +
        'Show fewer findings in SARIF: raise `severity` (e.g. `HIGH,CRITICAL`), or set `ignore-unfixed: true`. ' +
        'The SARIF file is still written.',
    );
  }

  const failedProcessing = await waitForProcessing(accepted, ctx, deps, warn);
  const processed = accepted.length - failedProcessing;
  const status = processed === files.length ? 'uploaded' : processed === 0 ? 'skipped' : 'partial';
  return {
    ids: accepted.map((a) => a.id),
    status,
    warnings,
    ...(status === 'skipped' ? { reason: stopReason ?? 'no upload succeeded' } : {}),
  };
}

/** Polls each accepted upload until complete or failed, within one shared time budget. Returns how many failed. */
async function waitForProcessing(
  accepted: { id: string; label: string }[],
  ctx: GitHubRunContext,
  deps: SarifUploadDeps,
  warn: (message: string) => void,
): Promise<number> {
  const { owner, repo } = ctx.repository;
  const budget = deps.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  let waited = 0;
  let delay = FIRST_POLL_DELAY_MS;
  let failed = 0;
  for (const { id, label } of accepted) {
    for (;;) {
      let state: string | undefined;
      try {
        const { data } = await deps.octokit.rest.codeScanning.getSarif({ owner, repo, sarif_id: id });
        state = data.processing_status;
        if (state === 'complete') {
          deps.logger.info(`Code scanning: ${label} processed.`);
          break;
        }
        if (state === 'failed') {
          failed++;
          const errors = (data.errors ?? []).filter(Boolean);
          warn(
            `Code scanning could not process ${label} (upload ${id})` +
              (errors.length ? `: ${errors.join('; ')}` : '') +
              '. The scan\'s result is not affected; check the SARIF file with "Sarif.Multitool validate".',
          );
          break;
        }
      } catch (error) {
        // Right after the upload GitHub may not know the id yet: keep waiting on 404.
        if (httpStatusOf(error) !== 404) {
          deps.logger.info(
            `Code scanning: could not check ${label} (upload ${id}): ${describeError(error)}.`,
          );
          break;
        }
      }
      if (waited >= budget) {
        deps.logger.info(
          `Code scanning: ${label} (upload ${id}) is still being processed after ${Math.round(waited / 1000)} s; ` +
            'its results will appear in the Security tab when GitHub finishes.',
        );
        break;
      }
      const step = Math.min(delay, budget - waited);
      await deps.clock.sleep(step);
      waited += step;
      delay = Math.min(delay * 2, MAX_POLL_DELAY_MS);
    }
  }
  return failed;
}

function refusalWarning(status: 403 | 404, message: string, ctx: GitHubRunContext): string {
  const { owner, repo } = ctx.repository;
  const head = `Code scanning upload skipped: GitHub answered ${status} (${message}).`;
  if (status === 404) {
    return (
      `${head} The token in \`github-token\` cannot see ${owner}/${repo}, or code scanning is not available ` +
      `there: give the job \`permissions: security-events: write\`, check GITHUB_API_URL on GitHub Enterprise ` +
      `Server, and ${ENABLE_FIX}. ${OPT_OUT}`
    );
  }
  if (/archived/i.test(message)) {
    return `${head} The repository is archived, so it accepts no analyses; unarchive it. ${OPT_OUT}`;
  }
  if (/not accessible by integration|permission/i.test(message)) {
    return `${head} ${PERMISSIONS_FIX}, and ${ENABLE_FIX}. ${OPT_OUT}`;
  }
  if (/advanced security|code security|code scanning/i.test(message)) {
    return `${head} ${ENABLE_FIX[0].toUpperCase()}${ENABLE_FIX.slice(1)}, and ${lowerFirst(PERMISSIONS_FIX)}. ${OPT_OUT}`;
  }
  return `${head} ${PERMISSIONS_FIX}, and ${ENABLE_FIX}. ${OPT_OUT}`;
}

function lowerFirst(text: string): string {
  return text[0].toLowerCase() + text.slice(1);
}

/** "SARIF 2/3 (image-scan/ghcr.io/acme/api)" — the categories say which images a file holds. */
function describeFile(file: object, index: number, count: number): string {
  const runs = (file as { runs?: unknown }).runs;
  const categories = Array.isArray(runs)
    ? runs
        .map((run) => (run as { automationDetails?: { id?: unknown } } | null)?.automationDetails?.id)
        .filter((id): id is string => typeof id === 'string' && id !== '')
    : [];
  const shown =
    categories.slice(0, 3).join(', ') + (categories.length > 3 ? `, +${categories.length - 3} more` : '');
  return `SARIF ${index + 1}/${count}` + (shown ? ` (${shown})` : '');
}

function describeError(error: unknown): string {
  const status = httpStatusOf(error);
  return status ? `GitHub answered ${status} (${gitHubMessageOf(error)})` : gitHubMessageOf(error);
}
