import fs from 'node:fs';
import path from 'node:path';
import * as core from '@actions/core';
import { resolveCredentials, parseRegistryAuth } from './auth/resolve-credentials.js';
import { defaultDockerConfigFile, trivyEnvFor, writeDockerConfig } from './auth/docker-config.js';
import { actionsBaselineStore } from './baseline/baseline-store.js';
import {
  baselineDelta,
  baselineRunKey,
  baselineScopes,
  readExplicitBaseline,
  restoreBaseline,
} from './baseline/load-baseline.js';
import type { Config } from './config.js';
import { ConfigurationError, errorMessage } from './errors.js';
import { newFindingTest } from './findings/compare.js';
import { attachOrigins, expandReportGlobs, mergeReports, readReports } from './findings/load-reports.js';
import { mergeResults } from './findings/merge-results.js';
import { readInputs } from './inputs.js';
import { prepareTrivy } from './install/prepare-trivy.js';
import type { IsolatedScanFiles } from './install/trivy-isolation.js';
import { checkTrivyPath } from './install/trivy-path.js';
import { fixedClock, systemClock, type Clock } from './infra/clock.js';
import { runProcess, type RunProcess } from './infra/exec.js';
import { createHttpClient, type HttpClient } from './infra/http.js';
import { actionsLogger, inertLogText, logGroup, type ActionsLogger, type Logger } from './infra/logger.js';
import { prepareOutputDir } from './infra/output-dir.js';
import { plural } from './infra/wording.js';
import {
  RESULTS_SCHEMA,
  type BaseImageAdvice,
  type ImageResult,
  type PlannedShard,
  type ResultsFile,
  type SkippedTarget,
  type Target,
} from './model.js';
import { describePolicy } from './policy/effective-policy.js';
import { evaluatePolicy, type PolicyVerdict } from './policy/evaluate.js';
import { loadGatePolicy } from './policy/load-policy.js';
import { readGitHubContext, type GitHubRunContext } from './publish/github-context.js';
import { publishResults } from './publish/publish-results.js';
import { renderDiscoverSummary } from './report/discover-summary.js';
import { publishDependencyGraph } from './publish/dependency-graph.js';
import { prepareSbomDir, writeSboms } from './publish/sbom-files.js';
import { truncate } from './report/markdown.js';
import { STATE } from './post.js';
import { checkFanIn } from './scale/fan-in.js';
import { pinnedRef } from './scale/plan.js';
import { planShards } from './scale/shards.js';
import {
  openResultStore,
  planScans,
  resolveDigests,
  resultReuseKey,
  withAliases,
} from './scan/plan-scans.js';
import { scanTargets } from './scan/scan-targets.js';
import { describeTrivySettings, loadTrivySettings, type TrivySettings } from './scan/trivy-settings.js';
import { adviseBaseImages } from './targets/base-image-candidates.js';
import { findBaseImageCandidates } from './targets/base-image-tags.js';
import { inspectLocalImages } from './targets/inspect-local-images.js';
import { resolveListedTargets } from './targets/listed-images.js';
import { findFileTargets, resolveTargets } from './targets/resolve-targets.js';
import { TOOL_VERSION } from './version.js';

/** The seams of the main step; production's are the runner's (productionDeps), a test passes its own. */
export interface RunDeps {
  logger: ActionsLogger;
  clock: Clock;
  http: HttpClient;
  runProcess: RunProcess;
  /** An error ends the step: its message as the step's error, exit code 1. */
  setFailed: (message: string) => void;
  /** The gate failed: exit code 1 (the verdict annotation is already written). */
  failStep: () => void;
}

function productionDeps(env: NodeJS.ProcessEnv = process.env): RunDeps {
  const clock = clockFromEnv(env);
  return {
    logger: actionsLogger,
    clock,
    http: createHttpClient({ clock, userAgent: `image-scan-gate/${TOOL_VERSION}` }),
    runProcess,
    setFailed: (message) => core.setFailed(message),
    failStep: () => {
      process.exitCode = core.ExitCode.Failure;
    },
  };
}

/**
 * The main step: inputs → install → auth → targets → scan → findings → policy → reports → publish. Orchestration
 * only; each stage lives in its own folder. One try/catch: a ConfigurationError is the user's to fix and is shown as
 * it is; anything else is a bug or an outage and is reported with its message (stack in debug).
 */
export async function run(deps: RunDeps = productionDeps()): Promise<void> {
  const { logger, clock, http, runProcess } = deps;
  const startedAt = clock.now().toISOString();
  try {
    // 1. Everything that can be refused is checked before any download, registry call or scan.
    const config = readInputs({ parseRegistryAuth });
    // Read once, then gone: no child the libraries start (tar for the caches) inherits an input, secret or not.
    for (const name of Object.keys(process.env)) if (name.startsWith('INPUT_')) delete process.env[name];
    if (config.mode === 'scan') await checkTrivyPath(config.trivy.path, process.env);
    if (config.mode !== 'discover') await prepareOutputDir(config);
    if (config.mode !== 'discover') await prepareSbomDir(config);
    const listed = resolveListedTargets(config.images, {
      platform: config.trivy.platform,
      fromPlan: config.planShard !== undefined,
      imageSource: config.imageSource,
      roots: { workspace: config.workspace, tempDir: config.tempDir },
    });
    const gatePolicy = await loadGatePolicy(config);
    const trivySettings = await loadTrivySettings(config.trivy, config.workspace);
    const reportFiles = config.reports.length
      ? await expandReportGlobs(config.reports, config.workspace)
      : [];
    const explicitBaseline = await readExplicitBaseline(config, logger);
    const fromFiles = await findFileTargets(config, logger);
    const github = gitHubContext(logger);
    const baselineScope = baselineScopes(config, github, process.env);
    // A stable absolute path: the Actions cache keys entries by the paths it saves.
    const baselineStore = actionsBaselineStore(path.join(config.tempDir, 'image-scan-gate-baseline'), logger);

    let images: ImageResult[];
    let skipped: SkippedTarget[];
    let trivyVersion: string | undefined;
    let dbUpdatedAt: string | undefined;
    let plannedShard: PlannedShard | undefined;
    let baseImageAdvice: BaseImageAdvice[] | undefined;
    const notes: string[] = [];
    // Why this run may not hold every image: prune-categories must then not close anyone's alerts.
    const partialReasons: string[] = config.planShard
      ? ['this job scans one shard of a plan; prune in the `mode: report` job']
      : [];

    if (config.mode === 'report') {
      const read = await readReports(reportFiles, logger);
      // A shard that crashed sent no file at all: the plan records say what should have arrived.
      const fanIn = checkFanIn(read, config.plan);
      for (const problem of fanIn.problems) logger.warning(problem);
      notes.push(...fanIn.problems);
      if (fanIn.problems.length > 0) partialReasons.push('results of some shards are missing or mixed');
      const received = read.map((r) => r.results);
      const merged = mergeReports(
        fanIn.missing.length > 0
          ? [...received, { ...emptyResults(startedAt), images: fanIn.missing }]
          : received,
        logger,
      );
      images = attachOrigins(merged.images, fromFiles.targets);
      skipped = merged.skipped;
      trivyVersion = merged.trivyVersions.at(-1);
      dbUpdatedAt = latest(merged.images.map((i) => i.dbUpdatedAt));
    } else {
      const { local, credentials, targets } = await logGroup(
        logger,
        'Finding the images to scan',
        async () => {
          // Archives and layouts are named by their own manifest; those that cannot be read fail alone.
          const local = await inspectLocalImages(listed, config);
          const hosts = [...local.targets, ...fromFiles.targets]
            .filter((t) => !t.local)
            .map((t) => t.registry);
          const credentials = await resolveCredentials(config, hosts, { logger, http, env: process.env });
          const targets = await resolveTargets(config, local.targets, fromFiles, credentials, {
            logger,
            http,
            clock,
            env: process.env,
          });
          return { local, credentials, targets };
        },
      );
      if (config.mode === 'discover') {
        // Listed and file images pinned too, so each shard scans the digest that was planned.
        const pinned = await logGroup(logger, 'Pinning each image to its digest', () =>
          resolveDigests(targets.targets, { logger, http, clock, credentials }),
        );
        await setDiscoverOutputs(config, pinned.targets, targets.skipped, logger);
        return;
      }
      if (config.planShard) plannedShard = { ...config.planShard, images: listed.map(pinnedRef) };
      // Trivy reads registry credentials from a private Docker config: one entry per host, 0700/0600, removed by
      // the post step. Saved in state first, so the post step cleans up even if the write fails half-way.
      const dockerConfigDir = fs.mkdtempSync(`${config.tempDir}/image-scan-gate-docker-`);
      core.saveState(STATE.dockerConfigDir, dockerConfigDir);
      // Logins from earlier steps (docker/login-action) are kept for the hosts this action has no credentials for.
      await writeDockerConfig(dockerConfigDir, credentials, {
        logger,
        inheritFrom: defaultDockerConfigFile(process.env),
      });
      const settingsNote = describeTrivySettings(trivySettings, config.trivy);
      if (settingsNote) notes.push(settingsNote);
      // Every Trivy process: an allow-listed environment plus the private Docker config (infra/child-env.ts), and a
      // private working directory, config and ignore file; the scans' config holds only the validated part of
      // `trivy-config`. Installed and its DBs prepared once, for the scans and the base image candidates alike.
      const trivy = await prepareTrivy(config, {
        logger,
        clock,
        http,
        runProcess,
        apiUrl: process.env.GITHUB_API_URL,
        trivyEnv: trivyEnvFor(dockerConfigDir, process.env, logger),
        scanFiles: isolatedScanFiles(trivySettings),
      });
      // Each list of images: digests looked up, one scan per digest, earlier results reused, the rest scanned, and
      // each result shared with the other tags of its digest.
      const scanImages = (list: Target[]): Promise<ImageResult[]> =>
        logGroup(logger, `Scanning ${plural(list.length, 'image')}`, async () => {
          const resolved = await resolveDigests(list, { logger, http, clock, credentials });
          const reuseKey = resultReuseKey(config, trivy, trivySettings, logger);
          const store = reuseKey && (await openResultStore(config, reportFiles, trivySettings, logger));
          const plan = await planScans(config, resolved, {
            logger,
            trivyVersion: trivy.version,
            ...(store && reuseKey && { reuse: { store, key: reuseKey } }),
          });
          const scanned = await scanTargets(config, plan, {
            logger,
            runProcess,
            trivy,
            trivySettings,
            ...(store && { store }),
          });
          return withAliases(plan, scanned);
        });
      const scanned = await scanImages(targets.targets);
      // An archive that could not be read is reported like an image Trivy failed on.
      const unreadable = local.failures.map(({ target, error }): ImageResult => ({
        target,
        status: 'failed',
        error,
        findings: [],
        trivyVersion: trivy.version,
      }));
      for (const f of local.failures) logger.warning(f.error);
      // The same shape as a fan-in job's: one image per digest, all its tags and origins kept.
      const merged = mergeResults([
        {
          ...emptyResults(startedAt),
          images: [...scanned, ...unreadable],
          skipped: targets.skipped,
        },
      ]);
      images = merged.images;
      skipped = merged.skipped;
      trivyVersion = trivy.version;
      dbUpdatedAt = trivy.dbUpdatedAt;

      // Newer tags of the Dockerfile FROM images, scanned apart: advice only, never in the gate, SARIF or `images`.
      const basePlans = await findBaseImageCandidates(images, config.baseImageCandidates, {
        logger,
        http,
        clock,
        credentials,
        env: process.env,
        githubToken: config.githubToken,
      });
      if (basePlans.length > 0) {
        const candidateScans = await scanImages(basePlans.flatMap((p) => p.candidates));
        baseImageAdvice = adviseBaseImages(basePlans, candidateScans);
      }
    }

    // 2. Against the base branch, then one verdict, from which every view is rendered.
    const baseline = explicitBaseline
      ? { baseline: explicitBaseline }
      : baselineScope.restore && (await restoreBaseline(baselineScope.restore, baselineStore, logger));
    const delta = baselineDelta(baseline || undefined, images, gatePolicy.policy);
    if (delta?.missing) logger.notice(delta.missing);
    const verdict = evaluatePolicy(
      images,
      gatePolicy.policy,
      gatePolicy.ignores,
      clock.now(),
      newFindingTest(delta),
    );
    for (const e of verdict.expiredIgnores) {
      logger.warning(`Ignore ${e.id} (${e.source}) expired on ${e.expires}: it no longer applies.`);
    }
    for (const r of verdict.imageRules.filter((rule) => rule.applied === 0)) {
      logger.warning(
        `Policy rule images[].match "${r.match}" (${r.source}) ${r.note ?? 'matched no image'}.`,
      );
    }
    const results: ResultsFile & { verdict: PolicyVerdict } = {
      schema: RESULTS_SCHEMA,
      tool: tool(),
      ...(trivyVersion && { trivyVersion }),
      ...(dbUpdatedAt && { dbUpdatedAt }),
      createdAt: startedAt,
      images,
      skipped,
      ...(plannedShard && { plan: plannedShard }),
      ...(delta && { delta }),
      ...(baseImageAdvice && { baseImageAdvice }),
      verdict,
    };
    const published = await logGroup(logger, 'Publishing the results', async () => {
      const written = await publishResults(
        {
          config,
          results,
          notes,
          policyLines: describePolicy(gatePolicy.policy),
          partialReasons,
          github,
          startedAt,
          toolVersion: TOOL_VERSION,
        },
        { logger, clock },
      );
      await writeSboms(images, config, { toolVersion: TOOL_VERSION, createdAt: startedAt, logger });
      await publishDependencyGraph(images, config, github, {
        toolVersion: TOOL_VERSION,
        scannedAt: startedAt,
        actionRepository: process.env.GITHUB_ACTION_REPOSITORY,
        logger,
        clock,
      });
      return written;
    });

    // This run's results are its branch's baseline, for the pull requests into it.
    // A shard's results are part of the estate: the fan-in job stores the whole.
    if (baselineScope.store && github && !config.planShard) {
      const runKey = baselineRunKey(github, config.matrix, startedAt);
      await baselineStore.save(baselineScope.store, published.resultsFile, runKey);
    }

    // 3. The gate: outside any group, and its annotation is never one GitHub drops.
    applyGate(verdict, logger, deps.failStep);
  } catch (e) {
    if (e instanceof ConfigurationError) {
      // Through the log sink's escaping too: messages may quote a file, a registry's or Trivy's text.
      deps.setFailed(inertLogText(e.message));
    } else {
      logger.debug(e instanceof Error && e.stack ? e.stack : String(e));
      deps.setFailed(inertLogText(`Image Scan Gate failed: ${errorMessage(e)}`));
    }
  }
}

/** Reasons listed in the log; each violation's message is capped (the summary and results file have them all). */
const GATE_REASONS_SHOWN = 50;
const GATE_REASON_CHARS = 1000;

function applyGate(verdict: PolicyVerdict, logger: ActionsLogger, failStep: () => void): void {
  const { result } = verdict;
  const problems = verdict.violations.length ? verdict.violations : verdict.warnings;
  const reasons = problems
    .slice(0, GATE_REASONS_SHOWN)
    .map((v) => `- ${truncate(v.message, GATE_REASON_CHARS)}`);
  if (problems.length > reasons.length)
    reasons.push(`- …and ${problems.length - reasons.length} more in the job summary`);
  const because = reasons.length ? `\n${reasons.join('\n')}` : '';
  if (verdict.policy.gate === 'off') {
    const outcome =
      result === 'pass' ? 'passes' : result === 'fail' ? 'fails' : 'could not check every image';
    logger.info(
      `Image Scan Gate: not gated (gate: off); the policy ${outcome}.${result === 'pass' ? '' : because}`,
    );
  } else if (result === 'fail') {
    // core.setFailed, through the logger's sink: the reasons name images and findings.
    logger.verdict('error', `Image Scan Gate: the policy failed.${because}`);
    failStep();
  } else if (result === 'warn') {
    const what = verdict.violations.length
      ? 'the policy would fail (gate: warn)'
      : 'some images could not be scanned (scan-errors: warn)';
    logger.verdict('warning', `Image Scan Gate: ${what}.${because}`);
  } else {
    logger.info('Image Scan Gate: the policy passed.');
  }
}

async function setDiscoverOutputs(
  config: Config,
  targets: ReturnType<typeof resolveListedTargets>,
  skipped: SkippedTarget[],
  logger: Logger,
): Promise<void> {
  const { matrix, plan } = planShards(targets, config.shards > 0 ? config.shards : 1);
  core.setOutput(
    'images',
    JSON.stringify(targets.map((t) => ({ ref: t.ref, digest: t.digest, tags: t.tags, origins: t.origins }))),
  );
  core.setOutput('matrix', JSON.stringify(matrix));
  // The stage lines above said what each source found; this is the plan, once.
  logger.info(
    `Planned ${plural(targets.length, 'image')}` +
      (config.shards > 0 ? ` in ${plural(matrix.include.length, 'shard')} (plan ${plan.id})` : '') +
      (skipped.length ? `; ${skipped.length} skipped` : '') +
      ':',
  );
  for (const t of targets) logger.info(`  ${t.ref}${t.digest ? `@${t.digest}` : ''}`);
  for (const s of skipped) logger.info(`  skipped ${s.ref}: ${s.reason}`);
  if (config.summary && process.env.GITHUB_STEP_SUMMARY) {
    const shards =
      config.shards > 0 ? { planId: plan.id, sizes: matrix.include.map((e) => e.count) } : undefined;
    await core.summary
      .addRaw(renderDiscoverSummary({ images: targets, skipped, ...(shards && { shards }) }))
      .write();
  }
}

function gitHubContext(logger: Logger): GitHubRunContext | undefined {
  try {
    return readGitHubContext(process.env, (p) => fs.readFileSync(p, 'utf8'));
  } catch (e) {
    logger.debug(`No GitHub context (${errorMessage(e)}): uploads and comments are skipped.`);
    return undefined;
  }
}

/** `IMAGE_SCAN_GATE_NOW` pins the clock (reproducible runs, and tests of ignores that expire between runs). */
function clockFromEnv(env: NodeJS.ProcessEnv): Clock {
  return env.IMAGE_SCAN_GATE_NOW ? fixedClock(env.IMAGE_SCAN_GATE_NOW) : systemClock;
}

/** The validated settings Trivy's scans read, as the files the isolation writes for them. */
function isolatedScanFiles(settings: TrivySettings): IsolatedScanFiles {
  return {
    configYaml: settings.configYaml,
    ...(settings.ignorePolicy && { ignorePolicy: settings.ignorePolicy.text }),
    ...(settings.secretConfig && { secretConfig: settings.secretConfig.text }),
  };
}

function tool() {
  return { name: 'image-scan-gate' as const, version: TOOL_VERSION };
}

function emptyResults(createdAt: string): ResultsFile {
  return { schema: RESULTS_SCHEMA, tool: tool(), createdAt, images: [], skipped: [] };
}

function latest(values: (string | undefined)[]): string | undefined {
  return values
    .filter((v): v is string => !!v)
    .sort()
    .at(-1);
}
