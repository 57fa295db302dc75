import {
  countBySeverity,
  emptyCounts,
  isFixable,
  type Finding,
  type ImageResult,
  type ImageStatus,
  type ResultsFile,
  type Severity,
  type SeverityCounts,
  type SkippedTarget,
  type Target,
  type TargetSource,
  type Verdict,
} from '../model.js';
import { imageVerdicts, suppressionLookup } from '../policy/evaluate.js';
import { compareText } from '../infra/text-order.js';
import { mergeOrigins } from '../targets/merge-targets.js';

// Fan-in for `mode: report`: the results files of several shards (or runs) become one list of images, as if one
// run had scanned them all. Pure; the same files in any order give the same output.
//
//   - one ImageResult per repository + digest (+ platform): the same image reached through several tags or shards is one
//     image carrying every tag, origin and source (different repositories sharing a digest stay separate, since
//     policy rules and ignores match images by name);
//   - a ref that was scanned somewhere drops its failed or skipped attempts elsewhere (a flaky pull in one
//     shard does not fail the run when another shard scanned the same ref);
//   - a ref seen under two digests (a tag re-pushed between shards) keeps both: both were really scanned;
//   - images without a digest (raw reports of archives, failed pulls) are one per ref;
//   - a skipped target scanned elsewhere is not listed as skipped.

export interface MergedResults {
  images: ImageResult[];
  skipped: SkippedTarget[];
  /** Every Trivy version that produced the inputs, sorted; more than one is worth a warning. */
  trivyVersions: string[];
}

const STATUS_RANK: Record<ImageStatus, number> = { scanned: 3, reused: 2, failed: 1 };

export function mergeResults(files: readonly ResultsFile[]): MergedResults {
  const all = files.flatMap((f) => f.images);

  const scannedRefs = new Set<string>();
  for (const image of all)
    if (hasFindings(image)) for (const ref of refsOf(image.target)) scannedRefs.add(ref);
  const attempted = new Set<string>();
  for (const image of all) for (const ref of refsOf(image.target)) attempted.add(ref);

  const groups = new Map<string, ImageResult[]>();
  for (const image of all) {
    if (!hasFindings(image) && scannedRefs.has(image.target.ref)) continue;
    // One image per platform too: a Dockerfile's `FROM --platform=linux/amd64 x` and `--platform=linux/arm64 x`
    // share the index digest but are two scans.
    const key = image.digest
      ? `digest\u0000${repositoryOf(image.target)}\u0000${image.digest}\u0000${image.target.platform ?? ''}`
      : `ref\u0000${image.target.ref}\u0000${image.target.platform ?? ''}`;
    const group = groups.get(key);
    if (group) group.push(image);
    else groups.set(key, [image]);
  }
  const images = [...groups.values()].map(mergeGroup).sort(compareImages);

  const skippedByRef = new Map<string, SkippedTarget>();
  for (const s of files.flatMap((f) => f.skipped)) {
    if (attempted.has(s.ref)) continue;
    const seen = skippedByRef.get(s.ref);
    if (!seen) {
      skippedByRef.set(s.ref, { ...s, ...(s.origins && { origins: mergeOrigins([], s.origins) }) });
    } else if (s.origins?.length) {
      seen.origins = mergeOrigins(seen.origins ?? [], s.origins);
    }
  }
  const skipped = [...skippedByRef.values()].sort((a, b) => compareText(a.ref, b.ref));

  const versions = new Set<string>();
  for (const f of files) if (f.trivyVersion) versions.add(f.trivyVersion);
  for (const image of all) if (image.trivyVersion) versions.add(image.trivyVersion);

  return { images, skipped, trivyVersions: [...versions].sort(compareText) };
}

function hasFindings(image: ImageResult): boolean {
  return image.status === 'scanned' || image.status === 'reused';
}

/**
 * One result stands for the group: the best status (scanned, reused, failed, skipped), then the newest DB, then
 * the smallest ref, so the choice does not depend on file order. The others contribute their names and origins.
 */
function mergeGroup(group: ImageResult[]): ImageResult {
  const [best, ...rest] = [...group].sort(
    (a, b) =>
      STATUS_RANK[b.status] - STATUS_RANK[a.status] ||
      compareText(b.dbUpdatedAt ?? '', a.dbUpdatedAt ?? '') ||
      compareText(a.target.ref, b.target.ref),
  );
  if (rest.length === 0) return best;

  const origins = mergeOrigins([], best.target.origins);
  const sources: TargetSource[] = [...best.target.sources];
  const tags = new Set<string>(best.target.tags ?? []);
  for (const other of rest) {
    mergeOrigins(origins, other.target.origins);
    for (const s of other.target.sources) if (!sources.includes(s)) sources.push(s);
    for (const t of [other.target.tag, ...(other.target.tags ?? [])]) if (t) tags.add(t);
  }
  if (best.target.tag) tags.delete(best.target.tag);
  const target: Target = {
    ...best.target,
    origins,
    sources,
    ...(tags.size > 0 && { tags: [...tags].sort(compareText) }),
  };
  return { ...best, target };
}

function compareImages(a: ImageResult, b: ImageResult): number {
  return compareText(a.target.ref, b.target.ref) || compareText(a.digest ?? '', b.digest ?? '');
}

/** Every ref an image answers to: its own and `registry/repository:tag` for each other tag sharing its digest. */
export function refsOf(target: Target): string[] {
  const refs = new Set([target.ref]);
  if (target.registry && target.repository) {
    for (const tag of target.tags ?? []) refs.add(`${target.registry}/${target.repository}:${tag}`);
  }
  return [...refs];
}

function repositoryOf(target: Target): string {
  return target.registry && target.repository ? `${target.registry}/${target.repository}` : target.ref;
}

export interface CountSummary {
  counts: SeverityCounts;
  /** Findings with at least one fixed version. */
  fixable: number;
}

/**
 * Totals over all images (the `critical`, `high`, ..., `fixable` outputs). With a verdict, findings the policy
 * ignored are left out, as the summary and the gate leave them out.
 */
export function summariseCounts(images: readonly ImageResult[], verdict?: Verdict): CountSummary {
  const counts = emptyCounts();
  let fixable = 0;
  for (const image of images) {
    const own = countedFindings(image, verdict);
    const c = countBySeverity(own);
    for (const s of Object.keys(c) as Severity[]) counts[s] += c[s];
    fixable += own.filter(isFixable).length;
  }
  return { counts, fixable };
}

/** The findings a view shows: those of the severities selected by the `severity` input. */
export function visibleFindings(findings: readonly Finding[], severities: readonly Severity[]): Finding[] {
  const wanted = new Set(severities);
  return findings.filter((f) => wanted.has(f.severity));
}

type ImageOutputVerdict = 'pass' | 'fail' | 'warn' | 'error';

export interface ImageOutput {
  ref: string;
  digest?: string;
  status: ImageStatus;
  counts: { critical: number; high: number; medium: number; low: number; unknown: number };
  fixable: number;
  verdict: ImageOutputVerdict;
}

/**
 * The `images` output. Per image: 'error' when it could not be scanned, else its verdict from the violations that
 * name it (the policy stage's own per-image rule, so the output and the summary agree); counts leave out ignored
 * findings.
 */
export function imagesOutput(images: readonly ImageResult[], verdict?: Verdict): ImageOutput[] {
  const perImage = verdict ? imageVerdicts(verdict, images) : undefined;
  return images.map((image, i) => {
    const own = countedFindings(image, verdict);
    const c = countBySeverity(own);
    return {
      ref: image.target.ref,
      ...(image.digest !== undefined && { digest: image.digest }),
      status: image.status,
      counts: { critical: c.CRITICAL, high: c.HIGH, medium: c.MEDIUM, low: c.LOW, unknown: c.UNKNOWN },
      fixable: own.filter(isFixable).length,
      verdict: image.status === 'failed' ? 'error' : (perImage?.[i]?.result ?? 'pass'),
    };
  });
}

function countedFindings(image: ImageResult, verdict: Verdict | undefined): Finding[] {
  if (!verdict || verdict.ignored.length === 0) return image.findings;
  const ignoredBy = suppressionLookup(verdict);
  return image.findings.filter((f) => ignoredBy(image.target.ref, f) === undefined);
}
