import { gzipSync } from 'node:zlib';
import { findingFingerprint } from '../findings/finding-identity.js';
import type { ImageResult, Severity } from '../model.js';
import {
  buildFailedImageRun,
  buildImageRun,
  compareRunFindings,
  imageLocations,
  MAX_LOCATIONS_PER_RESULT,
  type RunFinding,
} from './sarif-run.js';
import { SARIF_SCHEMA, SARIF_VERSION, type SarifLog, type SarifRun } from './sarif-types.js';

export type { SarifLog, SarifRun } from './sarif-types.js';
export { FINGERPRINT_KEY } from './sarif-run.js';

// SARIF for code scanning, built from the action's own findings (not `trivy convert`), so it shows exactly what the
// summary and the gate saw: the `severity` input filters it, ignores become suppressions. One run per image, each
// with its own category, split into as many files as GitHub's limits require. Pure: the caller writes and uploads.

/** GitHub's ingestion limits; past any of them the whole file is refused. */
export const GITHUB_SARIF_LIMITS = {
  runsPerFile: 20,
  gzipBytes: 10_000_000, // GitHub says 10 MB; the uploader allows 10 MiB, so this keeps a margin
  resultsPerRun: 25_000,
  rulesPerRun: 25_000,
  locationsPerResult: MAX_LOCATIONS_PER_RESULT,
  tagsPerRule: 20,
} as const;

export interface SuppressedFinding {
  /** The image's normalised ref (Target.ref), as the verdict's ignores name it. */
  image: string;
  findingId: string;
  pkg: string;
  reason?: string;
}

export interface SarifOptions {
  /** The `sarif-category` input: prefix of every run's category. */
  category: string;
  /** The `severity` input: only these severities are written. */
  severities: readonly Severity[];
  /** Findings an ignore applies to: written as suppressed results (dismissed in the Security tab). */
  suppressed?: readonly SuppressedFinding[];
  /** The Trivy that scanned, when an image does not say. */
  trivyVersion?: string;
  /** Image Scan Gate's version (the converter). */
  toolVersion: string;
  /** Limits may only be made tighter than GitHub's. */
  maxRunsPerFile?: number;
  maxGzipBytes?: number;
  maxResultsPerRun?: number;
  /**
   * Write a run for an image that failed to scan (no results, the error as a tool notification). Off by default:
   * GitHub closes every alert a category's latest analysis does not contain, so an empty run after a failed pull
   * would mark all of that image's alerts fixed. Left out, the image's previous analysis stays current.
   */
  reportFailedScans?: boolean;
}

export interface SarifFiles {
  files: SarifLog[];
  warnings: string[];
}

export function buildSarifFiles(images: readonly ImageResult[], opts: SarifOptions): SarifFiles {
  const maxRunsPerFile = clampLimit(opts.maxRunsPerFile, GITHUB_SARIF_LIMITS.runsPerFile);
  const maxGzipBytes = clampLimit(opts.maxGzipBytes, GITHUB_SARIF_LIMITS.gzipBytes);
  const maxResultsPerRun = clampLimit(opts.maxResultsPerRun, GITHUB_SARIF_LIMITS.resultsPerRun);
  const warnings: string[] = [];
  const shown = new Set(opts.severities);
  const suppressions = new Map<string, { reason?: string }>();
  for (const s of opts.suppressed ?? []) {
    suppressions.set(suppressionKey(s.image, s.findingId, s.pkg), s.reason ? { reason: s.reason } : {});
  }

  const included = images.filter(
    (i) =>
      i.status === 'scanned' || i.status === 'reused' || (i.status === 'failed' && opts.reportFailedScans),
  );
  for (const image of images) {
    if (image.status === 'failed' && !opts.reportFailedScans) {
      warnings.push(
        `image ${image.target.ref}: the scan failed, so no SARIF run was written for it; its code scanning alerts ` +
          'stay as the last successful scan left them.',
      );
    }
  }
  const ids = automationIds(included, opts.category);

  const sized: SizedRun[] = [];
  included.forEach((image, index) => {
    const automationId = ids[index];
    const ref = image.target.ref;
    if (image.status === 'failed') {
      const run = buildFailedImageRun(image, automationId, opts.trivyVersion, opts.toolVersion);
      sized.push({ run, gzipBytes: gzipBytesOf([run]), exact: true });
      return;
    }

    const candidates = runFindings(image, shown, suppressions);
    const kept = candidates.slice(0, maxResultsPerRun);
    if (kept.length < candidates.length) {
      warnings.push(
        `image ${ref}: kept ${count(kept.length)} of ${count(candidates.length)} results (the most severe); ` +
          `GitHub accepts at most ${count(maxResultsPerRun)} per run.`,
      );
    }
    const { locations, dropped } = imageLocations(image.target);
    if (dropped > 0) {
      warnings.push(
        `image ${ref}: referenced in ${count(locations.length + dropped)} places; results point at the first ` +
          `${count(locations.length)} (GitHub accepts at most ${count(MAX_LOCATIONS_PER_RESULT)} locations per result).`,
      );
    }
    const build = (findings: readonly RunFinding[]) =>
      buildImageRun({
        image,
        automationId,
        findings,
        trivyVersion: opts.trivyVersion,
        toolVersion: opts.toolVersion,
        locations,
      });
    const fitted = fitRun(build, kept, maxGzipBytes);
    if (fitted.kept < kept.length) {
      warnings.push(
        `image ${ref}: kept ${count(fitted.kept)} of ${count(candidates.length)} results (the most severe) to ` +
          `stay under ${megabytes(maxGzipBytes)} gzipped.`,
      );
    }
    sized.push(fitted.sized);
  });

  // Stable file contents whatever order the images were scanned in.
  sized.sort((a, b) => compareIds(a.run.automationDetails.id, b.run.automationDetails.id));
  return { files: packRuns(sized, maxRunsPerFile, maxGzipBytes), warnings };
}

function clampLimit(value: number | undefined, githubLimit: number): number {
  if (value === undefined || !Number.isFinite(value) || value < 1) return githubLimit;
  return Math.min(Math.floor(value), githubLimit);
}

function suppressionKey(image: string, findingId: string, pkg: string): string {
  return `${image}\u0000${findingId}\u0000${pkg}`;
}

/** The image's findings the user asked to see, one per alert identity, most important first. */
function runFindings(
  image: ImageResult,
  shown: ReadonlySet<Severity>,
  suppressions: ReadonlyMap<string, { reason?: string }>,
): RunFinding[] {
  const ref = image.target.ref;
  const all: RunFinding[] = [];
  for (const finding of image.findings) {
    if (!shown.has(finding.severity)) continue;
    const suppression = suppressions.get(suppressionKey(ref, finding.id, finding.pkg));
    all.push({
      finding,
      fingerprint: findingFingerprint(image.target, finding),
      ...(suppression ? { suppression } : {}),
    });
  }
  all.sort(compareRunFindings);
  // Two findings with one fingerprint are one alert on GitHub (e.g. the same library in two layers): keep the
  // most important, so one alert is not reported twice with different texts.
  const seen = new Set<string>();
  return all.filter((rf) => {
    if (seen.has(rf.fingerprint)) return false;
    seen.add(rf.fingerprint);
    return true;
  });
}

interface SizedRun {
  run: SarifRun;
  /** Gzipped size of a file holding this run alone: measured, or estimated from a sample (see estimateGzipBytes). */
  gzipBytes: number;
  exact: boolean;
}

/**
 * Serialising and compressing every run only to learn its size would cost more than building the SARIF (the
 * uploader compresses it again anyway). So sizes are estimated from an evenly spread sample of rules and results,
 * with a margin, and measured exactly only when they matter: a run or a file estimated at over 70% of the limit.
 * (Small samples compress worse than whole runs, so estimates come out ~1.3x the truth before the margin; a file
 * would need runs compressing ~1.8x worse than their samples to pass unmeasured and be over the limit.)
 */
const EXACT_ABOVE_SHARE = 0.7;
const SAMPLE_SIZE = 120;
const ESTIMATE_MARGIN = 1.25;

function sizeRun(run: SarifRun, maxGzipBytes: number): SizedRun {
  const estimate = estimateGzipBytes(run);
  if (estimate === undefined || estimate > maxGzipBytes * EXACT_ABOVE_SHARE) {
    return { run, gzipBytes: gzipBytesOf([run]), exact: true };
  }
  return { run, gzipBytes: estimate, exact: false };
}

/** Undefined when the run is small enough to measure exactly at little cost. */
export function estimateGzipBytes(run: SarifRun): number | undefined {
  const rules = run.tool.driver.rules ?? [];
  const results = run.results;
  if (rules.length + results.length <= 2 * SAMPLE_SIZE) return undefined;
  const withItems = (someRules: typeof rules, someResults: typeof results): SarifRun => ({
    ...run,
    tool: { driver: { ...run.tool.driver, rules: someRules } },
    results: someResults,
  });
  const sampleRules = evenlySpread(rules, SAMPLE_SIZE);
  const sampleResults = evenlySpread(results, SAMPLE_SIZE);
  const empty = gzipBytesOf([withItems([], [])]);
  const perRule = sampleRules.length
    ? Math.max(0, gzipBytesOf([withItems(sampleRules, [])]) - empty) / sampleRules.length
    : 0;
  const perResult = sampleResults.length
    ? Math.max(0, gzipBytesOf([withItems([], sampleResults)]) - empty) / sampleResults.length
    : 0;
  return Math.ceil(empty + (perRule * rules.length + perResult * results.length) * ESTIMATE_MARGIN);
}

function evenlySpread<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  const step = items.length / count;
  return Array.from({ length: count }, (_, i) => items[Math.floor(i * step)]);
}

/**
 * The run with as many of its findings (most important first) as fit in one file under the gzip limit. Nearly
 * always all of them: 25,000 results compress to a few MB. Otherwise a binary search on the number kept.
 */
function fitRun(
  build: (findings: readonly RunFinding[]) => SarifRun,
  findings: readonly RunFinding[],
  maxGzipBytes: number,
): { sized: SizedRun; kept: number } {
  const first = sizeRun(build(findings), maxGzipBytes);
  if (first.gzipBytes <= maxGzipBytes || findings.length === 0)
    return { sized: first, kept: findings.length };
  let low = 0; // known to fit (an empty run always does)
  let high = findings.length; // known not to fit
  const empty = build([]);
  let best: SizedRun = { run: empty, gzipBytes: gzipBytesOf([empty]), exact: true };
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    const candidate = build(findings.slice(0, mid));
    const size = gzipBytesOf([candidate]);
    if (size <= maxGzipBytes) {
      low = mid;
      best = { run: candidate, gzipBytes: size, exact: true };
    } else {
      high = mid;
    }
  }
  return { sized: best, kept: low };
}

/**
 * Runs into files: at most `maxRuns` each, and under the gzip limit. A file's gzipped size is close to the sum of
 * its runs' (deflate's window is 32 KB, far smaller than a run); when that sum is over 70% of the limit the whole
 * file is measured, and split in two if it is over.
 */
function packRuns(runs: readonly SizedRun[], maxRuns: number, maxGzipBytes: number): SarifLog[] {
  const groups: SizedRun[][] = [];
  let current: SizedRun[] = [];
  let currentBytes = 0;
  for (const sized of runs) {
    if (current.length > 0 && (current.length >= maxRuns || currentBytes + sized.gzipBytes > maxGzipBytes)) {
      groups.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(sized);
    currentBytes += sized.gzipBytes;
  }
  if (current.length > 0) groups.push(current);

  const files: SarifLog[] = [];
  const emit = (group: SizedRun[]) => {
    const sum = group.reduce((total, r) => total + r.gzipBytes, 0);
    // A lone run over 70% of the limit was measured exactly already (sizeRun).
    const measure = group.length > 1 && sum > maxGzipBytes * EXACT_ABOVE_SHARE;
    if (measure && gzipBytesOf(group.map((r) => r.run)) > maxGzipBytes) {
      const half = Math.ceil(group.length / 2);
      emit(group.slice(0, half));
      emit(group.slice(half));
      return;
    }
    files.push(sarifLog(group.map((r) => r.run)));
  };
  groups.forEach(emit);
  return files;
}

export function sarifLog(runs: SarifRun[]): SarifLog {
  return { version: SARIF_VERSION, $schema: SARIF_SCHEMA, runs };
}

/** Gzipped size of a file holding these runs, serialised as the uploader does (compact JSON, default level). */
export function gzipBytesOf(runs: SarifRun[]): number {
  return gzipSync(JSON.stringify(sarifLog(runs))).length;
}

/**
 * `automationDetails.id` for each image, in the same order. GitHub reads the id up to its last `/` as the category,
 * and keeps, per category, the alerts of its latest analysis only — so every image needs its own category, and the
 * same image must keep it from run to run. Decision: `<category>/<registry>/<repository>/`, without tag or digest,
 * so alerts (and their fingerprints) follow an image across re-tags and rebuilds; the trailing `/` makes the whole
 * id the category (without it, the last segment would be read as a run id and images of one namespace would
 * collide). Two refs of one repository in the same upload (`app:1` and `app:2`) would be refused as duplicate
 * categories, so each of them gets its tag (`/app:1/`, or the digest when untagged, then the platform, then a
 * counter) — deterministic, whatever order the images came in. Characters outside letters, digits and `._-/:@+`
 * become `_`.
 */
export function automationIds(images: readonly ImageResult[], category: string): string[] {
  const prefix = sanitise(category).replace(/^\/+|\/+$/g, '') || 'image-scan';
  const bases = images.map(
    (i) =>
      `${prefix}/${sanitise(i.target.registry)}/${sanitise(i.target.repository).replace(/^\/+|\/+$/g, '')}`,
  );
  const byBase = new Map<string, number[]>();
  bases.forEach((base, index) => byBase.set(base, [...(byBase.get(base) ?? []), index]));

  const ids = bases.map((base) => `${base}/`);
  for (const [base, members] of byBase) {
    if (members.length === 1) continue;
    const order = [...members].sort((a, b) => compareIds(sortKey(images[a]), sortKey(images[b])) || a - b);
    const used = new Map<string, number>();
    for (const index of order) {
      const target = images[index].target;
      let id = base + sanitise(target.tag ? `:${target.tag}` : target.digest ? `@${target.digest}` : '');
      if (target.platform && [...order].some((o) => o !== index && sameVersion(images[o], images[index]))) {
        id += `+${sanitise(target.platform.replace(/\//g, '-'))}`;
      }
      const seen = used.get(id) ?? 0;
      used.set(id, seen + 1);
      ids[index] = `${seen === 0 ? id : `${id}-${seen + 1}`}/`;
    }
  }
  return ids;
}

function sameVersion(a: ImageResult, b: ImageResult): boolean {
  return (a.target.tag ?? '') === (b.target.tag ?? '') && (a.target.digest ?? '') === (b.target.digest ?? '');
}

function sortKey(image: ImageResult): string {
  const t = image.target;
  return `${t.tag ?? ''}\u0000${t.digest ?? ''}\u0000${t.platform ?? ''}\u0000${t.ref}`;
}

function sanitise(text: string): string {
  return text.replace(/[^A-Za-z0-9._\-/:@+]/g, '_').replace(/\/{2,}/g, '/');
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toLocaleString('en-US', { maximumFractionDigits: 1 })} MB`;
}
