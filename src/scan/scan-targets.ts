import path from 'node:path';
import pLimit from 'p-limit';
import { registryCredentialsOf, type HostCredential } from '../auth/host-credential.js';
import type { Config } from '../config.js';
import { errorMessage } from '../errors.js';
import { readReportFile } from '../findings/results-file.js';
import { explainScanError, type RegistryCause } from '../findings/scan-error.js';
import { parseTrivyPackages } from '../findings/trivy-packages.js';
import { parseTrivyReport } from '../findings/trivy-report.js';
import type { Clock } from '../infra/clock.js';
import type { RunProcess } from '../infra/exec.js';
import type { HttpClient } from '../infra/http.js';
import type { Logger } from '../infra/logger.js';
import { systemTimer, type Timer } from '../infra/timer.js';
import { plural } from '../infra/wording.js';
import { OUTPUT_NAMES } from '../infra/output-dir.js';
import type { PreparedTrivy } from '../install/prepare-trivy.js';
import { countBySeverity, type ImageResult, type ResultsFile, type Target } from '../model.js';
import { createRegistryClient } from '../registry/client.js';
import { RegistryAuthError } from '../registry/errors.js';
import { actionsResultStore } from '../scale/actions-result-store.js';
import {
  chainedResultStore,
  partitionForReuse,
  reportsResultStore,
  storableKey,
  type ResultKeyParts,
} from '../scale/result-cache.js';
import { archiveChangedSinceInspection } from '../targets/inspect-local-images.js';
import { scanImage } from './run-scan.js';
import { scanAll } from './scan-pool.js';
import { scanProgress } from './scan-progress.js';
import type { TrivySettings } from './trivy-settings.js';

export interface ScanDeps {
  logger: Logger;
  clock: Clock;
  http: HttpClient;
  runProcess: RunProcess;
  /** Installed, its DBs current, its private directory and environment ready (install/prepare-trivy.ts). */
  trivy: PreparedTrivy;
  credentials: readonly HostCredential[];
  /** `reports` given alongside a scan: earlier results offered for reuse. */
  reportFiles: readonly string[];
  /** Trivy's settings from the workflow (validated before any work): passed to every scan, part of the reuse key. */
  trivySettings: TrivySettings;
  /** Durations and the heartbeat of long scans; the system timer unless a test drives it. */
  timer?: Timer;
}

export interface ScanOutput {
  images: ImageResult[];
}

/**
 * Scans each unique digest once with the prepared Trivy — `parallel` at a time, each with its time limit — reusing
 * earlier results for digests already scanned with the same Trivy and DB build. A failing image is a result with
 * Trivy's own error, never an exception that stops the others.
 */
export async function scanTargets(config: Config, targets: Target[], deps: ScanDeps): Promise<ScanOutput> {
  const { logger } = deps;
  const { version, dbUpdatedAt } = deps.trivy;
  // Same digest under several tags (or repositories): scanned once, the result shared. A registry that refuses the
  // credentials is not asked again by Trivy: it would be refused the same way, and its error would bury the reason.
  const { targets: withDigests, refused } = await resolveDigests(targets, deps);
  const { primaries, aliasesOf } = groupByDigest(withDigests.filter((t) => !refused.has(t.ref)));

  // `vex: repo` / `oci` make Trivy fetch VEX at scan time (a VEX repository, attestations in the registry) that the
  // action cannot hash: a stored result could carry suppressions those sources have since withdrawn, so no reuse.
  const trivyVex = config.trivy.vexSources ?? [];
  if (config.cacheResults && trivyVex.length)
    logger.info(
      `cache-results: not reusing results, since vex: ${trivyVex.join(', ')} is read by Trivy at scan time.`,
    );
  const keyParts: ResultKeyParts | undefined =
    config.cacheResults && dbUpdatedAt && trivyVex.length === 0
      ? {
          trivyVersion: version,
          dbUpdatedAt,
          scanners: config.trivy.scanners,
          pkgTypes: config.trivy.pkgTypes,
          ...(config.trivy.platform && { platform: config.trivy.platform }),
          ...(deps.trivySettings.fingerprint && { settings: deps.trivySettings.fingerprint }),
        }
      : undefined;
  const store = keyParts ? await resultStore(config, deps) : undefined;
  const partition =
    store && keyParts ? await partitionForReuse(primaries, store, keyParts) : { reuse: [], scan: primaries };
  // An SBOM and the dependency graph need the package list, which a result stored by a run without `sbom` lacks: such images are scanned
  // again rather than left without an SBOM.
  const needPackages = (config.sbom ?? 'none') !== 'none' || config.dependencyGraph === true;
  const plan = needPackages ? requirePackages(partition, primaries) : partition;
  if (plan.reuse.length > 0) {
    logger.info(
      `Reusing earlier results for ${plural(plan.reuse.length, 'image')} already scanned with this Trivy and DB.`,
    );
  }
  const merged = withDigests.length - refused.size - primaries.length;
  logger.info(
    `Scanning ${plural(plan.scan.length, 'unique image')}` +
      (merged > 0 ? ` (${plural(merged, 'more tag')} of the same digests merged, not scanned again)` : '') +
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
        vexSources: trivyVex,
        listAllPkgs: needPackages,
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
          ...(needPackages && { packages: parseTrivyPackages(outcome.report) }),
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
  for (const { cause, fix, images } of registryFailures.values()) {
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

  if (store && keyParts) {
    for (const result of scanned) {
      const key = storableKey(result, keyParts);
      if (key) await store.put(key, result);
    }
  }

  const refusedResults = withDigests.flatMap((target): ImageResult[] => {
    const error = refused.get(target.ref);
    return error === undefined
      ? []
      : [{ target, status: 'failed', error, findings: [], trivyVersion: version }];
  });
  const images = [...plan.reuse, ...scanned, ...refusedResults].flatMap((result) => [
    result,
    ...(aliasesOf.get(result.target.ref) ?? []).map((alias) => ({ ...result, target: alias })),
  ]);
  return { images };
}

/**
 * Looks up each tag's digest (one HEAD request, with the host's own credentials) so equal digests are scanned once
 * and earlier results can be reused (and, in `mode: discover`, so a shard is pinned to what was planned). A registry that will not say is no error: that image is simply scanned. A
 * registry that refuses the credentials given for it is reported once, and its images fail with that reason.
 */
export async function resolveDigests(
  targets: Target[],
  deps: Pick<ScanDeps, 'credentials' | 'http' | 'logger' | 'clock'>,
): Promise<{ targets: Target[]; refused: Map<string, string> }> {
  const clients = new Map<string, ReturnType<typeof createRegistryClient>>();
  const clientFor = (registry: string) => {
    let client = clients.get(registry);
    if (!client) {
      const credentials = registryCredentialsOf(deps.credentials.find((x) => x.registry === registry));
      client = createRegistryClient({
        registry,
        credentials,
        http: quickHttp(deps.http),
        logger: deps.logger,
        clock: deps.clock,
      });
      clients.set(registry, client);
    }
    return client;
  };
  const limit = pLimit(8);
  /** ref -> why, for images whose registry refused the credentials the action was given for it. */
  const refused = new Map<string, string>();
  const refusedRegistries = new Map<string, { message: string; images: number }>();
  const refuse = (t: Target, message: string) => {
    refused.set(t.ref, message);
    const seen = refusedRegistries.get(t.registry);
    refusedRegistries.set(t.registry, { message, images: (seen?.images ?? 0) + 1 });
  };
  const resolved = await Promise.all(
    targets.map((t) =>
      limit(async () => {
        // A daemon image or an archive is never looked up in a registry: its name may not be there (yet).
        if (t.local) return t;
        const credential = deps.credentials.find((c) => c.registry === t.registry);
        if (credential?.unavailable) {
          // its provider could not give a credential: same outcome as a refusal, without asking the registry
          refuse(t, credential.unavailable);
          return t;
        }
        if (t.digest || !t.tag) return t;
        try {
          const { digest } = await clientFor(t.registry).resolveDigest(t.repository, t.tag);
          return { ...t, digest };
        } catch (e) {
          // Only for credentials the action gave: Trivy gets exactly those from the private Docker config.
          const via = deps.credentials.find((c) => c.registry === t.registry)?.via;
          if (via && e instanceof RegistryAuthError && e.stage === 'credentials') {
            refuse(t, `${e.message} These credentials came from ${via}.`);
            return t;
          }
          deps.logger.debug(`${t.ref}: digest not resolved before the scan (${errorMessage(e)})`);
          return t;
        }
      }),
    ),
  );
  // One error per registry, however many of its images are affected.
  for (const { message, images } of refusedRegistries.values()) {
    deps.logger.error(`${message} ${plural(images, 'image')} on it reported as failed and not scanned.`);
  }
  return { targets: resolved, refused };
}

/** Digest lookups are an optimisation: one quick try each, never the scan's retries and waits. */
function quickHttp(http: HttpClient): HttpClient {
  return (req) => http({ timeoutMs: 15_000, attempts: 2, ...req });
}

function groupByDigest(targets: Target[]): { primaries: Target[]; aliasesOf: Map<string, Target[]> } {
  const primaries: Target[] = [];
  const aliasesOf = new Map<string, Target[]>();
  const primaryByDigest = new Map<string, Target>();
  for (const t of targets) {
    const key = t.digest ? `${t.digest}|${t.platform ?? ''}` : undefined;
    const primary = key ? primaryByDigest.get(key) : undefined;
    if (primary) {
      aliasesOf.set(primary.ref, [...(aliasesOf.get(primary.ref) ?? []), t]);
    } else {
      primaries.push(t);
      if (key) primaryByDigest.set(key, t);
    }
  }
  return { primaries, aliasesOf };
}

/** Reused results without a package list go back to be scanned (in their original order). */
function requirePackages<P extends { reuse: ImageResult[]; scan: Target[] }>(
  plan: P,
  primaries: Target[],
): P {
  const lacking = new Set(plan.reuse.filter((r) => r.packages === undefined).map((r) => r.target.ref));
  if (lacking.size === 0) return plan;
  const scanRefs = new Set([...plan.scan.map((t) => t.ref), ...lacking]);
  return {
    ...plan,
    reuse: plan.reuse.filter((r) => !lacking.has(r.target.ref)),
    scan: primaries.filter((t) => scanRefs.has(t.ref)),
  };
}

async function resultStore(config: Config, deps: ScanDeps) {
  // A stable absolute path: the Actions cache keys entries by the paths it saves.
  const dir = path.join(config.tempDir, 'image-scan-gate-results');
  const stores = [actionsResultStore(dir, deps.logger)];
  if (deps.reportFiles.length > 0) {
    const files: ResultsFile[] = [];
    for (const f of deps.reportFiles) files.push((await readReportFile(f)).results);
    stores.push(
      reportsResultStore(files, {
        scanners: config.trivy.scanners,
        pkgTypes: config.trivy.pkgTypes,
        platform: config.trivy.platform,
        ...(deps.trivySettings.fingerprint && { settings: deps.trivySettings.fingerprint }),
      }),
    );
  }
  return chainedResultStore(...stores);
}

function describe(r: ImageResult): string {
  const c = countBySeverity(r.findings);
  return `${plural(r.findings.length, 'finding')} (critical ${c.CRITICAL}, high ${c.HIGH}, medium ${c.MEDIUM}, low ${c.LOW})`;
}
