import path from 'node:path';
import pLimit from 'p-limit';
import { registryCredentialsOf, type HostCredential } from '../auth/host-credential.js';
import type { Config, TrivyConfig } from '../config.js';
import { errorMessage } from '../errors.js';
import { readReportFile } from '../findings/results-file.js';
import type { Clock } from '../infra/clock.js';
import type { HttpClient } from '../infra/http.js';
import type { Logger } from '../infra/logger.js';
import { plural } from '../infra/wording.js';
import type { PreparedTrivy } from '../install/prepare-trivy.js';
import type { ImageResult, ResultsFile, Target } from '../model.js';
import { createRegistryClient } from '../registry/client.js';
import { RegistryAuthError } from '../registry/errors.js';
import { actionsResultStore } from '../scale/actions-result-store.js';
import {
  chainedResultStore,
  partitionForReuse,
  reportsResultStore,
  type ResultKeyParts,
  type ResultStore,
} from '../scale/result-cache.js';
import type { TrivySettings } from './trivy-settings.js';

// Before any scan: each tag's digest, one scan per digest, and which digests already have a result for this Trivy
// and DB build. Plain data out (ScanPlan); scan-targets.ts runs what is left to scan.

export interface ResolvedDigests {
  targets: Target[];
  /** ref -> why, for images whose registry refused the credentials the action was given for it. */
  refused: Map<string, string>;
}

export interface ScanPlan {
  /** One target per digest (and platform), to be scanned. */
  scan: Target[];
  /** Earlier results for digests already scanned with this Trivy and DB build, re-attached to this run's targets. */
  reuse: ImageResult[];
  /** Images whose registry refused the action's credentials: failed, and not handed to Trivy. */
  refused: ImageResult[];
  /** The other tags of a digest, by the ref of the target scanned (or reused) for it. */
  aliasesOf: Map<string, Target[]>;
  /** How many tags were merged into another tag's scan of the same digest. */
  merged: number;
  /** Under which key new results are stored for later runs; absent when results are not reused. */
  reuseKey?: ResultKeyParts;
  /** An SBOM or the dependency graph is written: every scan lists all packages. */
  listAllPkgs: boolean;
}

/**
 * Looks up each tag's digest (one HEAD request, with the host's own credentials) so equal digests are scanned once
 * and earlier results can be reused (and, in `mode: discover`, so a shard is pinned to what was planned). A registry that will not say is no error: that image is simply scanned. A
 * registry that refuses the credentials given for it is reported once, and its images fail with that reason.
 */
export async function resolveDigests(
  targets: Target[],
  deps: { credentials: readonly HostCredential[]; http: HttpClient; logger: Logger; clock: Clock },
): Promise<ResolvedDigests> {
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

/**
 * The key results are reused and stored under, when `cache-results` is on. `vex: repo` / `oci` make Trivy fetch VEX
 * at scan time (a VEX repository, attestations in the registry) that the action cannot hash: a stored result could
 * carry suppressions those sources have since withdrawn, so no reuse then.
 */
export function resultReuseKey(
  config: {
    cacheResults: Config['cacheResults'];
    trivy: Pick<TrivyConfig, 'vexSources' | 'scanners' | 'pkgTypes' | 'platform'>;
  },
  trivy: Pick<PreparedTrivy, 'version' | 'dbUpdatedAt'>,
  settings: Pick<TrivySettings, 'fingerprint'>,
  logger: Logger,
): ResultKeyParts | undefined {
  const trivyVex = config.trivy.vexSources ?? [];
  if (config.cacheResults && trivyVex.length)
    logger.info(
      `cache-results: not reusing results, since vex: ${trivyVex.join(', ')} is read by Trivy at scan time.`,
    );
  return config.cacheResults && trivy.dbUpdatedAt && trivyVex.length === 0
    ? {
        trivyVersion: trivy.version,
        dbUpdatedAt: trivy.dbUpdatedAt,
        scanners: config.trivy.scanners,
        pkgTypes: config.trivy.pkgTypes,
        ...(config.trivy.platform && { platform: config.trivy.platform }),
        ...(settings.fingerprint && { settings: settings.fingerprint }),
      }
    : undefined;
}

/** Earlier results: the Actions cache, then the results files given in `reports` alongside a scan. */
export async function openResultStore(
  config: Pick<Config, 'tempDir' | 'trivy'>,
  reportFiles: readonly string[],
  settings: Pick<TrivySettings, 'fingerprint'>,
  logger: Logger,
): Promise<ResultStore> {
  // A stable absolute path: the Actions cache keys entries by the paths it saves.
  const dir = path.join(config.tempDir, 'image-scan-gate-results');
  const stores = [actionsResultStore(dir, logger)];
  if (reportFiles.length > 0) {
    const files: ResultsFile[] = [];
    for (const f of reportFiles) files.push((await readReportFile(f)).results);
    stores.push(
      reportsResultStore(files, {
        scanners: config.trivy.scanners,
        pkgTypes: config.trivy.pkgTypes,
        platform: config.trivy.platform,
        ...(settings.fingerprint && { settings: settings.fingerprint }),
      }),
    );
  }
  return chainedResultStore(...stores);
}

/**
 * Same digest under several tags (or repositories): scanned once, the result shared. A registry that refused the
 * credentials is not asked again by Trivy: it would be refused the same way, and its error would bury the reason.
 */
export async function planScans(
  config: Pick<Config, 'sbom' | 'dependencyGraph'>,
  resolved: ResolvedDigests,
  deps: {
    logger: Logger;
    trivyVersion: string;
    /** Where earlier results are looked up, and under which key; absent when results are not reused. */
    reuse?: { store: ResultStore; key: ResultKeyParts };
  },
): Promise<ScanPlan> {
  const { targets: withDigests, refused } = resolved;
  const { primaries, aliasesOf } = groupByDigest(withDigests.filter((t) => !refused.has(t.ref)));
  const partition = deps.reuse
    ? await partitionForReuse(primaries, deps.reuse.store, deps.reuse.key)
    : { reuse: [], scan: primaries };
  // An SBOM and the dependency graph need the package list, which a result stored by a run without `sbom` lacks:
  // such images are scanned again rather than left without an SBOM.
  const listAllPkgs = (config.sbom ?? 'none') !== 'none' || config.dependencyGraph === true;
  const plan = listAllPkgs ? requirePackages(partition, primaries) : partition;
  if (plan.reuse.length > 0) {
    deps.logger.info(
      `Reusing earlier results for ${plural(plan.reuse.length, 'image')} already scanned with this Trivy and DB.`,
    );
  }
  const refusedResults = withDigests.flatMap((target): ImageResult[] => {
    const error = refused.get(target.ref);
    return error === undefined
      ? []
      : [{ target, status: 'failed', error, findings: [], trivyVersion: deps.trivyVersion }];
  });
  return {
    scan: plan.scan,
    reuse: plan.reuse,
    refused: refusedResults,
    aliasesOf,
    merged: withDigests.length - refused.size - primaries.length,
    ...(deps.reuse && { reuseKey: deps.reuse.key }),
    listAllPkgs,
  };
}

/** Every result of the plan — reused, scanned, refused — then the same result for each other tag of its digest. */
export function withAliases(plan: ScanPlan, scanned: ImageResult[]): ImageResult[] {
  return [...plan.reuse, ...scanned, ...plan.refused].flatMap((result) => [
    result,
    ...(plan.aliasesOf.get(result.target.ref) ?? []).map((alias) => ({ ...result, target: alias })),
  ]);
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
