import { compareText } from '../infra/text-order.js';
import { megabytes } from '../infra/wording.js';
import { gzipSync } from 'node:zlib';
import { findingFingerprint, findingKey } from '../findings/finding-identity.js';
import type { ImageResult, Severity, Target } from '../model.js';
import {
  SARIF_DRIVER_NAME,
  TRIVY_INFORMATION_URI,
  buildFailedImageRun,
  buildImageRun,
  compareRunFindings,
  imageLocations,
  MAX_LOCATIONS_PER_RESULT,
  type RunFinding,
} from './sarif-run.js';
import { SARIF_SCHEMA, SARIF_VERSION, type SarifLog, type SarifRun } from './sarif-types.js';

export type { SarifLog, SarifRun } from './sarif-types.js';
export { FINGERPRINT_KEY, SARIF_DRIVER_NAME } from './sarif-run.js';

// SARIF for code scanning, built from the action's own findings (not `trivy convert`), so it shows exactly what the
// summary and the gate saw: the `severity` input filters it; ignored findings are left out (or, with
// `sarif-include-ignored`, kept as suppressions). One run per category — one per image repository, all its tags in
// it — split into as many files as GitHub's limits require. Pure: the caller writes and uploads.

/** GitHub's ingestion limits; past any of them the whole file is refused. */
export const GITHUB_SARIF_LIMITS = {
  runsPerFile: 20,
  gzipBytes: 10_000_000, // GitHub says 10 MB; the uploader allows 10 MiB, so this keeps a margin
  resultsPerRun: 25_000,
  rulesPerRun: 25_000,
  locationsPerResult: MAX_LOCATIONS_PER_RESULT,
  tagsPerRule: 20,
} as const;

interface SuppressedFinding {
  /** The image's normalised ref (Target.ref), as the verdict's ignores name it. */
  image: string;
  findingId: string;
  pkg: string;
  reason?: string;
}

export interface SarifOptions {
  /** The `sarif-category` input: prefix of every run's category. */
  category: string;
  /**
   * `sarif-category` ended in `/`: it is the whole category of the one run (as `upload-sarif`'s `category` is), so a
   * category trivy-action wrote can be taken over. Every image then goes into that run.
   */
  exactCategory?: boolean;
  /** The `severity` input: only these severities are written. */
  severities: readonly Severity[];
  /** Findings an ignore applies to: left out of SARIF, or written as suppressed results with `includeSuppressed`. */
  suppressed?: readonly SuppressedFinding[];
  /**
   * Keep ignored findings as results with a SARIF suppression (`sarif-include-ignored`). Off by default: code
   * scanning reads only the result properties listed in "SARIF support for code scanning"
   * (https://docs.github.com/en/code-security/reference/code-scanning/sarif-files/sarif-support-for-code-scanning#result-object),
   * and `suppressions` is not one of them ("code scanning will only use the following supported properties"), so a
   * suppressed result still opens (or keeps open) an alert; it neither dismisses nor closes it. Left out, an ignored
   * finding's alert is closed as fixed by the next analysis.
   */
  includeSuppressed?: boolean;
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
    suppressions.set(findingKey(s.image, s.findingId, s.pkg), s.reason ? { reason: s.reason } : {});
  }

  // One run per category: the tags (and platforms) of one repository share it, their findings merged. GitHub keeps
  // per category only its latest analysis, and since July 2025 refuses an upload with two runs of one tool and
  // category, so splitting them (as `…/app:1/` and `…/app:2/`) would leave the single-tag category's alerts stale.
  const groups = new Map<string, ImageResult[]>();
  for (const image of images) {
    const id = categoryId(image.target, opts);
    groups.set(id, [...(groups.get(id) ?? []), image]);
  }

  const sized: SizedRun[] = [];
  for (const [automationId, members] of groups) {
    const failed = members.filter((i) => i.status === 'failed');
    const scanned = members.filter((i) => i.status === 'scanned' || i.status === 'reused');
    if (failed.length > 0 && !opts.reportFailedScans) {
      // One failed tag would make the merged run miss its findings and close their alerts: the whole category waits.
      for (const image of failed) {
        warnings.push(
          `image ${image.target.ref}: the scan failed, so no SARIF run was written for ` +
            `${members.length > 1 ? `its category (${count(members.length)} images)` : 'it'}; its code scanning ` +
            'alerts stay as the last successful scan left them.',
        );
      }
      continue;
    }
    if (scanned.length === 0) {
      if (failed.length === 0) continue; // skipped images only
      const run = buildFailedImageRun(failed[0], automationId, opts.trivyVersion, opts.toolVersion);
      sized.push({ run, gzipBytes: gzipBytesOf([run]), exact: true });
      continue;
    }

    const primary = scanned[0];
    const label = scanned.length > 1 ? `category ${automationId}` : `image ${primary.target.ref}`;
    const candidates = runFindings(scanned, shown, suppressions, opts.includeSuppressed === true);
    const kept = candidates.slice(0, maxResultsPerRun);
    if (kept.length < candidates.length) {
      warnings.push(
        `${label}: kept ${count(kept.length)} of ${count(candidates.length)} results (the most severe); ` +
          `GitHub accepts at most ${count(maxResultsPerRun)} per run.`,
      );
    }
    const { locations, dropped } = imageLocations({
      ...primary.target,
      origins: scanned.flatMap((i) => i.target.origins),
    });
    if (dropped > 0) {
      warnings.push(
        `${label}: referenced in ${count(locations.length + dropped)} places; results point at the first ` +
          `${count(locations.length)} (GitHub accepts at most ${count(MAX_LOCATIONS_PER_RESULT)} locations per result).`,
      );
    }
    const build = (findings: readonly RunFinding[]) => {
      const run = buildImageRun({
        image: primary,
        automationId,
        findings,
        trivyVersion: opts.trivyVersion,
        toolVersion: opts.toolVersion,
        locations,
      });
      if (scanned.length > 1) run.properties = mergedRunProperties(scanned);
      if (failed.length > 0) {
        run.invocations = buildFailedImageRun(
          failed[0],
          automationId,
          opts.trivyVersion,
          opts.toolVersion,
        ).invocations;
      }
      return run;
    };
    const fitted = fitRun(build, kept, maxGzipBytes);
    if (fitted.kept < kept.length) {
      warnings.push(
        `${label}: kept ${count(fitted.kept)} of ${count(candidates.length)} results (the most severe) to ` +
          `stay under ${megabytes(maxGzipBytes)} gzipped.`,
      );
    }
    sized.push(fitted.sized);
  }

  // Stable file contents whatever order the images were scanned in.
  sized.sort((a, b) => compareText(a.run.automationDetails.id, b.run.automationDetails.id));
  return { files: packRuns(sized, maxRunsPerFile, maxGzipBytes), warnings };
}

function clampLimit(value: number | undefined, githubLimit: number): number {
  if (value === undefined || !Number.isFinite(value) || value < 1) return githubLimit;
  return Math.min(Math.floor(value), githubLimit);
}

/** Images a merged result's message names (`max-images-per-repository: 0` may merge hundreds of tags). */
const IMAGES_NAMED_PER_RESULT = 10;

/**
 * The findings of a category's images the user asked to see, one per alert identity, most important first. The
 * fingerprint names the repository, not the tag, so a finding two tags share is one result that names both.
 */
function runFindings(
  images: readonly ImageResult[],
  shown: ReadonlySet<Severity>,
  suppressions: ReadonlyMap<string, { reason?: string }>,
  includeSuppressed: boolean,
): RunFinding[] {
  const all: RunFinding[] = [];
  const refsByFingerprint = new Map<string, Set<string>>();
  for (const image of images) {
    const ref = image.target.ref;
    for (const finding of image.findings) {
      if (!shown.has(finding.severity)) continue;
      const suppression = suppressions.get(findingKey(ref, finding.id, finding.pkg));
      if (suppression && !includeSuppressed) continue;
      const fingerprint = findingFingerprint(image.target, finding);
      all.push({ finding, fingerprint, ...(suppression ? { suppression } : {}) });
      const refs = refsByFingerprint.get(fingerprint) ?? new Set<string>();
      refs.add(ref);
      refsByFingerprint.set(fingerprint, refs);
    }
  }
  all.sort(compareRunFindings);
  // Two findings with one fingerprint are one alert on GitHub (e.g. the same library in two layers, or in two
  // tags): keep the most important, so one alert is not reported twice with different texts.
  const seen = new Set<string>();
  const kept: RunFinding[] = [];
  for (const rf of all) {
    if (seen.has(rf.fingerprint)) continue;
    seen.add(rf.fingerprint);
    const refs = [...(refsByFingerprint.get(rf.fingerprint) ?? [])].sort(compareText);
    const named =
      refs.length > IMAGES_NAMED_PER_RESULT
        ? [
            ...refs.slice(0, IMAGES_NAMED_PER_RESULT),
            `and ${count(refs.length - IMAGES_NAMED_PER_RESULT)} more`,
          ]
        : refs;
    kept.push(images.length > 1 ? { ...rf, images: named } : rf);
  }
  return kept;
}

/** A merged run names every image in it, so the Security tab can tell which tags were scanned. */
function mergedRunProperties(images: readonly ImageResult[]): SarifRun['properties'] {
  const names = [...new Set(images.map((i) => i.target.ref))].sort(compareText);
  const digests = [
    ...new Set(
      images.flatMap((i) => (i.digest ? [`${i.target.registry}/${i.target.repository}@${i.digest}`] : [])),
    ),
  ].sort(compareText);
  return { imageName: names[0], imageNames: names, ...(digests.length ? { repoDigests: digests } : {}) };
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
function estimateGzipBytes(run: SarifRun): number | undefined {
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

/**
 * Runs without results for categories no longer scanned (`prune-categories`), packed into files of at most 20 runs.
 * As a category's latest analysis, an empty run closes its alerts as fixed. The driver is named as in the image runs
 * (GitHub keys a category's analyses by tool and category), so it replaces their last analysis.
 */
export function buildClosingSarifFiles(
  categories: readonly string[],
  opts: Pick<SarifOptions, 'trivyVersion' | 'toolVersion'>,
): SarifLog[] {
  const runs = categories.map((category): SarifRun => ({
    tool: {
      driver: {
        name: SARIF_DRIVER_NAME,
        fullName: 'Trivy Vulnerability Scanner',
        ...(opts.trivyVersion ? { version: opts.trivyVersion } : {}),
        informationUri: TRIVY_INFORMATION_URI,
        rules: [],
      },
    },
    conversion: { tool: { driver: { name: 'image-scan-gate', version: opts.toolVersion } } },
    automationDetails: { id: `${category.replace(/\/+$/, '')}/` },
    results: [],
    columnKind: 'utf16CodeUnits',
    properties: {},
  }));
  const files: SarifLog[] = [];
  for (let i = 0; i < runs.length; i += GITHUB_SARIF_LIMITS.runsPerFile) {
    files.push(sarifLog(runs.slice(i, i + GITHUB_SARIF_LIMITS.runsPerFile)));
  }
  return files;
}

function sarifLog(runs: SarifRun[]): SarifLog {
  return { version: SARIF_VERSION, $schema: SARIF_SCHEMA, runs };
}

/** Gzipped size of a file holding these runs, serialised as the uploader does (compact JSON, default level). */
function gzipBytesOf(runs: SarifRun[]): number {
  return gzipSync(JSON.stringify(sarifLog(runs))).length;
}

/**
 * `automationDetails.id` of an image's run. GitHub reads the id up to its last `/` as the category, and keeps, per
 * category, the alerts of its latest analysis only — so every image repository needs its own category, and the same
 * image must keep it from run to run. Decision: `<category>/<registry>/<repository>/`, never a tag or digest, so
 * alerts (and their fingerprints) follow an image across re-tags and rebuilds, and a category does not change shape
 * when a second tag of the repository is scanned too (both go into its one run). The trailing `/` makes the whole
 * id the category (without it, the last segment would be read as a run id and images of one namespace would
 * collide). With `exactCategory` the id is `<category>/`: what github/codeql-action/upload-sarif writes for its
 * `category` input, or by default `<workflow path>:<job id>/` (computeAutomationID). Characters outside letters,
 * digits and `._-/:@+` become `_`.
 */
export function categoryId(
  target: Pick<Target, 'registry' | 'repository'>,
  opts: Pick<SarifOptions, 'category' | 'exactCategory'>,
): string {
  const prefix = sanitise(opts.category).replace(/^\/+|\/+$/g, '') || 'image-scan';
  if (opts.exactCategory) return `${prefix}/`;
  return `${prefix}/${sanitise(target.registry)}/${sanitise(target.repository).replace(/^\/+|\/+$/g, '')}/`;
}

function sanitise(text: string): string {
  return text.replace(/[^A-Za-z0-9._\-/:@+]/g, '_').replace(/\/{2,}/g, '/');
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}
