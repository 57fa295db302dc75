import path from 'node:path';
import type { Config } from '../config.js';
import { errorMessage } from '../errors.js';
import { explainScanError, type RegistryCause } from '../findings/scan-error.js';
import { parseTrivyPackages } from '../findings/trivy-packages.js';
import { parseTrivyReport } from '../findings/trivy-report.js';
import type { RunProcess } from '../infra/exec.js';
import type { Logger } from '../infra/logger.js';
import { systemTimer, type Timer } from '../infra/timer.js';
import { plural } from '../infra/wording.js';
import { OUTPUT_NAMES } from '../infra/output-dir.js';
import type { PreparedTrivy } from '../install/prepare-trivy.js';
import { countBySeverity, type ImageResult, type Target } from '../model.js';
import { storableKey, type ResultStore } from '../scale/result-cache.js';
import { archiveChangedSinceInspection } from '../targets/inspect-local-images.js';
import type { ScanPlan } from './plan-scans.js';
import { scanImage } from './run-scan.js';
import { scanAll } from './scan-pool.js';
import { scanProgress } from './scan-progress.js';
import type { TrivySettings } from './trivy-settings.js';

export interface ScanDeps {
  logger: Logger;
  runProcess: RunProcess;
  /** Installed, its DBs current, its private directory and environment ready (install/prepare-trivy.ts). */
  trivy: PreparedTrivy;
  /** Trivy's settings from the workflow (validated before any work): passed to every scan. */
  trivySettings: TrivySettings;
  /** Where new results are kept for later runs (with the plan's `reuseKey`); absent when results are not reused. */
  store?: ResultStore;
  /** Durations and the heartbeat of long scans; the system timer unless a test drives it. */
  timer?: Timer;
}

/**
 * Scans each target of the plan with the prepared Trivy — `parallel` at a time, each with its time limit — and
 * stores each new result for later runs when results are reused. A failing image is a result with Trivy's own error,
 * never an exception that stops the others.
 */
export async function scanTargets(config: Config, plan: ScanPlan, deps: ScanDeps): Promise<ImageResult[]> {
  const { logger } = deps;
  const { version, dbUpdatedAt } = deps.trivy;
  logger.info(
    `Scanning ${plural(plan.scan.length, 'unique image')}` +
      (plan.merged > 0
        ? ` (${plural(plan.merged, 'more tag')} of the same digests merged, not scanned again)`
        : '') +
      `, ${config.trivy.parallel} at a time.`,
  );

  const reportDir = path.join(config.outputDir, OUTPUT_NAMES.reports);
  const progress = scanProgress(plan.scan.length, { logger, timer: deps.timer ?? systemTimer });
  const started = new Map<Target, number>();
  /** Registry causes (refused credentials, untrusted TLS) per registry: one warning each, however many images. */
  const registryFailures = new Map<string, { cause: string; fix?: string; images: string[] }>();
  const settled = await scanAll(
    plan.scan,
    config.trivy.parallel,
    async (target): Promise<ImageResult> => {
      started.set(target, progress.started(target.ref, target.digest));
      const outcome = await scanImage(target, {
        trivyPath: deps.trivy.path,
        cacheDir: deps.trivy.cacheDir,
        reportDir,
        env: deps.trivy.env,
        isolation: deps.trivy.isolation,
        timeoutMs: config.trivy.timeoutMs,
        scanners: config.trivy.scanners,
        pkgTypes: config.trivy.pkgTypes,
        platform: config.trivy.platform,
        settings: deps.trivySettings,
        vexSources: config.trivy.vexSources ?? [],
        listAllPkgs: plan.listAllPkgs,
        runProcess: deps.runProcess,
      });
      const base = { target, trivyVersion: version, ...(dbUpdatedAt && { dbUpdatedAt }) };
      if (!outcome.ok) {
        return {
          ...base,
          ...(target.digest && { digest: target.digest }),
          status: 'failed',
          error: outcome.error,
          findings: [],
          durationMs: outcome.durationMs,
        };
      }
      try {
        const report = parseTrivyReport(outcome.report, outcome.reportFile);
        const changed = archiveChangedSinceInspection(target, report.imageId);
        if (changed) return { ...base, status: 'failed', error: changed, findings: [] };
        return {
          ...base,
          ...((report.digest ?? target.digest) && { digest: report.digest ?? target.digest }),
          ...(report.imageId && { imageId: report.imageId }),
          ...(report.os && { os: report.os }),
          status: 'scanned',
          findings: report.findings,
          ...(plan.listAllPkgs && { packages: parseTrivyPackages(outcome.report) }),
          rawReport: path.relative(config.outputDir, outcome.reportFile).split(path.sep).join('/'),
          durationMs: outcome.durationMs,
        };
      } catch (e) {
        return {
          ...base,
          status: 'failed',
          error: `Trivy wrote a report that cannot be read: ${errorMessage(e)}`,
          findings: [],
        };
      }
    },
    (s) => {
      const n = started.get(s.item) ?? 0;
      if (s.status === 'rejected') {
        progress.finished(n, s.item.ref, 'failed');
        logger.error(`${s.item.ref}: ${errorMessage(s.reason)}`);
      } else if (s.value.status === 'failed') {
        const explained = explainScanError(s.value.error, s.item.registry);
        progress.finished(n, s.item.ref, `scan failed: ${explained.cause}`);
        logger.debug(`${s.item.ref}: Trivy's whole error:\n${s.value.error ?? ''}`);
        if (explained.registryCause) {
          const key = `${s.item.registry}\u0000${explained.registryCause satisfies RegistryCause}`;
          const seen = registryFailures.get(key) ?? {
            cause: explained.cause,
            fix: explained.fix,
            images: [],
          };
          seen.images.push(s.item.ref);
          registryFailures.set(key, seen);
        } else {
          logger.warning(
            `${s.item.ref}: scan failed: ${explained.cause}${explained.fix ? ` Fix: ${explained.fix}` : ''}`,
          );
        }
      } else progress.finished(n, s.item.ref, describe(s.value));
    },
  ).finally(() => progress.stop());
  // Named in the order of the plan, not the order the scans happened to finish: the same run, the same warning.
  const planned = new Map(plan.scan.map((t, i) => [t.ref, i]));
  for (const { cause, fix, images } of registryFailures.values()) {
    images.sort((x, y) => (planned.get(x) ?? 0) - (planned.get(y) ?? 0));
    const named =
      images.length === 1 ? images[0] : `${images[0]} and ${plural(images.length - 1, 'more image')}`;
    logger.warning(`${cause}${fix ? `\nFix: ${fix}` : ''}\nFailed for ${named}.`);
  }
  const scanned = settled.map((s): ImageResult =>
    s.status === 'fulfilled'
      ? s.value
      : {
          target: s.item,
          status: 'failed',
          error: errorMessage(s.reason),
          findings: [],
          trivyVersion: version,
        },
  );

  if (deps.store && plan.reuseKey) {
    for (const result of scanned) {
      const key = storableKey(result, plan.reuseKey);
      if (key) await deps.store.put(key, result);
    }
  }
  return scanned;
}

function describe(r: ImageResult): string {
  const c = countBySeverity(r.findings);
  return `${plural(r.findings.length, 'finding')} (critical ${c.CRITICAL}, high ${c.HIGH}, medium ${c.MEDIUM}, low ${c.LOW})`;
}
