import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import * as core from '@actions/core';
import type { Config } from '../config.js';
import type { Clock } from '../infra/clock.js';
import type { Logger } from '../infra/logger.js';
import { OUTPUT_NAMES, sarifFileName } from '../infra/output-dir.js';
import type { ResultsFile } from '../model.js';
import { imagesOutput, summariseCounts } from '../findings/merge-results.js';
import { serializeResults } from '../findings/results-file.js';
import type { PolicyVerdict } from '../policy/evaluate.js';
import { buildAnnotations } from '../report/annotations.js';
import { reusedImagesSection } from '../scale/reuse-summary.js';
import { commentMarker, legacyCommentMarker, renderComment } from '../report/comment.js';
import { buildClosingSarifFiles, buildSarifFiles, type SarifOptions } from '../report/sarif.js';
import { SUMMARY_LIMIT_BYTES, renderSummary } from '../report/summary.js';
import type { ReportView, RunContext } from '../report/view.js';
import { uploadSarifFiles } from './code-scanning.js';
import { createGitHubClient, type GitHubClient } from './github-client.js';
import { githubLinks, type GitHubRunContext } from './github-context.js';
import { suggestBaseImages } from './base-image-suggestion.js';
import { upsertPrComment } from './pr-comment.js';
import { planCategoryPrune } from './prune-categories.js';

export interface PublishInput {
  config: Config;
  results: ResultsFile & { verdict: PolicyVerdict };
  /** What the summary must say before the images (a shard that sent no results, ...). */
  notes?: string[];
  policyLines: string[];
  /** Why this run may not hold every image (missing shards, a shard job): `prune-categories` then does nothing. */
  partialReasons?: string[];
  github?: GitHubRunContext;
  startedAt: string;
  toolVersion: string;
}

export interface PublishDeps {
  logger: Logger;
  clock: Clock;
  /** Tests give a client pointed at a local API; by default one is made from `github-token`. */
  octokit?: GitHubClient;
}

/** Where the files of this run went, and what GitHub said. */
export interface Published {
  resultsFile: string;
  summaryFile: string;
  sarifFiles: string[];
  sarifIds: string[];
  commentUrl?: string;
}

/**
 * Everything after the verdict, in the order that lets each view link to the others: files in `output-dir`,
 * SARIF (written, then uploaded), annotations, the PR comment, the job summary, then the step outputs. Views are
 * pure renderings of the one results file, so they never disagree.
 */
export async function publishResults(input: PublishInput, deps: PublishDeps): Promise<Published> {
  const { config, results, github } = input;
  const { logger } = deps;
  const notes: string[] = [...(input.notes ?? [])];
  await fs.mkdir(config.outputDir, { recursive: true });

  const resultsFile = path.join(config.outputDir, OUTPUT_NAMES.results);
  await writeFileAtomic(resultsFile, serializeResults(results));

  // SARIF: one run per image repository, split to GitHub's limits; written whether or not it is uploaded.
  const sarifOptions: SarifOptions = {
    category: config.sarifCategory,
    exactCategory: config.sarifCategoryExact,
    severities: config.severity,
    suppressed: results.verdict.ignored,
    includeSuppressed: config.sarifIncludeIgnored,
    trivyVersion: results.trivyVersion,
    toolVersion: input.toolVersion,
  };
  const sarif = buildSarifFiles(results.images, sarifOptions);
  for (const w of sarif.warnings) logger.warning(w);
  notes.push(...sarif.warnings);
  const sarifFiles: string[] = [];
  for (const [i, log] of sarif.files.entries()) {
    const file = path.join(config.outputDir, sarifFileName(i));
    await writeFileAtomic(file, JSON.stringify(log));
    sarifFiles.push(file);
  }

  const octokit =
    github && config.githubToken ? (deps.octokit ?? clientFor(config, github, deps)) : undefined;
  let sarifIds: string[] = [];
  let uploaded = false;
  if (config.uploadSarif && sarif.files.length > 0) {
    if (!github || !octokit) {
      logger.notice('SARIF upload skipped: no GitHub token or repository context (set github-token).');
    } else {
      const upload = await uploadSarifFiles(sarif.files, github, {
        octokit,
        logger,
        clock: deps.clock,
        startedAt: input.startedAt,
        checkoutUri: pathToFileUri(config.workspace),
      });
      sarifIds = upload.ids;
      uploaded = upload.ids.length > 0;
      notes.push(...upload.warnings);
    }
  }
  if (config.uploadSarif && config.pruneCategories && github && octokit) {
    const closed = await closeStaleCategories(input, sarifOptions, github, octokit, deps, sarifFiles.length);
    sarifFiles.push(...closed.files);
    sarifIds.push(...closed.ids);
    notes.push(closed.note);
  }

  const view: ReportView = {
    results,
    severities: config.severity,
    policyLines: input.policyLines,
    run: runContext(config, github, uploaded),
    trivyVersion: results.trivyVersion,
    dbUpdatedAt: results.dbUpdatedAt,
    now: deps.clock.now(),
    category: config.sarifCategory,
    gate: results.verdict.policy.gate,
    notes,
  };

  if (config.annotations) {
    const built = buildAnnotations(view);
    for (const a of built.annotations) {
      const props = { title: a.title, file: a.file, startLine: a.startLine };
      if (a.level === 'error') logger.error(a.message, props);
      else if (a.level === 'warning') logger.warning(a.message, props);
      else logger.notice(a.message, props);
    }
    notes.push(...built.notes);
  }

  let commentUrl: string | undefined;
  if (config.prComment !== 'never' && github) {
    const marker = commentMarker({
      category: config.sarifCategory,
      workflow: github.workflow,
      job: github.job,
      matrix: config.matrix,
    });
    const comment = renderComment(view, { marker });
    if (!octokit) {
      logger.notice('PR comment skipped: no github-token.');
    } else {
      const res = await upsertPrComment(comment.body, marker, github, {
        octokit,
        logger,
        mode: config.prComment,
        legacyMarker: legacyCommentMarker(config.sarifCategory),
      });
      commentUrl = res.url;
      if (results.baseImageAdvice)
        await suggestBaseImages(results.baseImageAdvice, github, { octokit, logger });
    }
  }

  // The summary, then which images were not scanned in this run but taken from earlier results (cache-results).
  const reused = reusedImagesSection(results.images);
  const reusedBytes = reused ? Buffer.byteLength(reused) + 2 : 0;
  const summary = renderSummary(
    { ...view, notes },
    { maxBytes: SUMMARY_LIMIT_BYTES - 8 * 1024 - reusedBytes },
  );
  const markdown = [summary.markdown.trimEnd(), reused].filter(Boolean).join('\n\n') + '\n';
  const summaryFile = path.join(config.outputDir, OUTPUT_NAMES.summary);
  await writeFileAtomic(summaryFile, markdown);
  if (config.summary && process.env.GITHUB_STEP_SUMMARY) {
    await core.summary.addRaw(markdown).write();
  }

  setOutputs(results, { resultsFile, summaryFile, sarifFiles, sarifIds, commentUrl });
  return { resultsFile, summaryFile, sarifFiles, sarifIds, commentUrl };
}

/** Categories shown by name in the summary's prune line; the rest are counted. */
const PRUNED_SHOWN = 20;

/**
 * `prune-categories`: an empty run for each category of this action that no image of this run has, uploaded on its
 * own so its outcome is known. Returns the files written, the upload ids and one line for the summary.
 */
async function closeStaleCategories(
  input: PublishInput,
  sarifOptions: SarifOptions,
  github: GitHubRunContext,
  octokit: GitHubClient,
  deps: PublishDeps,
  filesBefore: number,
): Promise<{ files: string[]; ids: string[]; note: string }> {
  const { config, results } = input;
  const plan = await planCategoryPrune(
    {
      situation: { github, partialReasons: input.partialReasons ?? [] },
      images: results.images,
      skipped: results.skipped,
      sarif: sarifOptions,
    },
    octokit,
  );
  if (plan.skipped) {
    const note = `prune-categories: no category closed: ${plan.skipped}.`;
    deps.logger.info(note);
    return { files: [], ids: [], note };
  }
  if (plan.categories.length === 0) {
    const note =
      'prune-categories: every category of this action on this ref belongs to an image still scanned.';
    deps.logger.info(note);
    return { files: [], ids: [], note };
  }
  const logs = buildClosingSarifFiles(plan.categories, sarifOptions);
  const files: string[] = [];
  for (const [i, log] of logs.entries()) {
    const file = path.join(config.outputDir, sarifFileName(filesBefore + i));
    await writeFileAtomic(file, JSON.stringify(log));
    files.push(file);
  }
  const upload = await uploadSarifFiles(logs, github, {
    octokit,
    logger: deps.logger,
    clock: deps.clock,
    startedAt: input.startedAt,
    checkoutUri: pathToFileUri(config.workspace),
  });
  // Plain text: the summary escapes every note (categories come from GitHub's listing).
  const shown = plan.categories.slice(0, PRUNED_SHOWN).join(', ');
  const more =
    plan.categories.length > PRUNED_SHOWN ? `, and ${plan.categories.length - PRUNED_SHOWN} more` : '';
  const what = `${plan.categories.length} categor${plan.categories.length === 1 ? 'y' : 'ies'} whose images are no longer scanned: ${shown}${more}`;
  const note =
    upload.status === 'uploaded'
      ? `prune-categories: closed the code scanning alerts of ${what}.`
      : `prune-categories: could not close the alerts of ${what} (${upload.warnings.join(' ') || upload.reason || 'the upload failed'}).`;
  deps.logger.info(note);
  return { files, ids: upload.ids, note };
}

function setOutputs(results: ResultsFile & { verdict: PolicyVerdict }, files: Published): void {
  const { counts, fixable } = summariseCounts(results.images, results.verdict);
  core.setOutput('result', results.verdict.result);
  core.setOutput('images', JSON.stringify(imagesOutput(results.images, results.verdict)));
  core.setOutput('critical', counts.CRITICAL);
  core.setOutput('high', counts.HIGH);
  core.setOutput('medium', counts.MEDIUM);
  core.setOutput('low', counts.LOW);
  core.setOutput('unknown', counts.UNKNOWN);
  core.setOutput('fixable', fixable);
  core.setOutput('violations', results.verdict.violations.length);
  // Against the baseline: counts, or empty when there was none to compare with.
  const delta = results.delta?.baseline ? results.delta.images : undefined;
  core.setOutput('new', delta ? delta.reduce((n, d) => n + d.new.length, 0) : '');
  core.setOutput('fixed', delta ? delta.reduce((n, d) => n + d.fixed.length, 0) : '');
  core.setOutput('results-file', files.resultsFile);
  core.setOutput('summary-file', files.summaryFile);
  core.setOutput('sarif-file', files.sarifFiles[0] ?? '');
  core.setOutput('sarif-ids', files.sarifIds.join(','));
  core.setOutput('comment-url', files.commentUrl ?? '');
}

function clientFor(config: Config, github: GitHubRunContext, deps: PublishDeps): GitHubClient {
  return createGitHubClient({
    token: config.githubToken ?? '',
    apiUrl: github.apiUrl,
    logger: deps.logger,
    clock: deps.clock,
  });
}

function runContext(config: Config, github: GitHubRunContext | undefined, uploaded: boolean): RunContext {
  if (!github) return { serverUrl: 'https://github.com', repository: '' };
  const links = githubLinks(github, 'Trivy');
  return {
    serverUrl: github.serverUrl,
    repository: `${github.repository.owner}/${github.repository.repo}`,
    runId: github.runId,
    runAttempt: github.runAttempt,
    jobSummaryUrl: links.runUrl,
    securityTabUrl: uploaded || config.uploadSarif ? links.securityUrl : undefined,
    sha: github.sha,
    prNumber: github.pullRequest?.number,
  };
}

function pathToFileUri(p: string): string {
  return new URL(`file://${path.resolve(p)}`).toString();
}

/**
 * Write then rename: a crash never leaves a half-written results file for a later `mode: report` to read. The
 * temporary name is unguessable and created exclusively (`wx`: never through a symlink someone committed), and the
 * rename replaces whatever is at `file` rather than writing through it.
 */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  await fs.writeFile(tmp, text, { encoding: 'utf8', flag: 'wx' });
  await fs.rename(tmp, file);
}
