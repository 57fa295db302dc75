import { findingKey } from '../findings/finding-identity.js';
import type { GateMode } from '../config.js';
import { compareText } from '../infra/text-order.js';
import {
  SEVERITIES,
  SEVERITY_RANK,
  countBySeverity,
  isFixable,
  type Finding,
  type ImageResult,
  type Origin,
  type ResultsFile,
  type Severity,
  type SeverityCounts,
  type Violation,
} from '../model.js';

// What the renderers (summary, comment, annotations) are given, and the per-image facts they all derive from
// it the same way, so the three views never disagree about what is shown or which image fails.

export interface RunContext {
  serverUrl: string; // https://github.com
  repository: string; // owner/name
  runId?: string | number;
  runAttempt?: string | number;
  jobSummaryUrl?: string;
  /** Given only when SARIF is uploaded, so the comment never links to an empty Security tab. */
  securityTabUrl?: string;
  sha?: string;
  prNumber?: number;
}

export interface ReportView {
  results: ResultsFile;
  /** The `severity` input: which findings are shown (the gate has its own thresholds). */
  severities: Severity[];
  /** The effective policy, one human-readable line each. */
  policyLines: string[];
  run: RunContext;
  trivyVersion?: string;
  dbUpdatedAt?: string;
  now: Date;
  category: string;
  /** The `gate` input (default `enforce`): under `off` nothing is "pass" or "fail", only reported. */
  gate?: GateMode;
  /** Extra lines for the job summary from other stages (e.g. the annotations left out). */
  notes?: string[];
}

/** How one image came out, as every view shows it. */
type ImageOutcome = 'violating' | 'scan-failed' | 'pass';

export interface ImageView {
  result: ImageResult;
  ref: string;
  /** What the user or the file wrote (`nginx:1.25`), for places where the line itself is the context. */
  input: string;
  /** Visible findings (selected severity, not ignored), worst first. */
  findings: Finding[];
  counts: SeverityCounts;
  fixable: number;
  violations: Violation[];
  outcome: ImageOutcome;
}

/** Worst first: severity, then CVSS score, then fixable before unfixable, then id (stable output). */
function compareFindings(a: Finding, b: Finding): number {
  return (
    SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
    (b.cvss?.score ?? -1) - (a.cvss?.score ?? -1) ||
    Number(isFixable(b)) - Number(isFixable(a)) ||
    compareText(a.id, b.id) ||
    compareText(a.pkg, b.pkg)
  );
}

const OUTCOME_RANK: Record<ImageOutcome, number> = { violating: 3, 'scan-failed': 2, pass: 1 };

/** Most severe image first: failing the gate, then failed to scan, then by visible counts from CRITICAL down. */
export function compareImageSeverity(a: ImageView, b: ImageView): number {
  const byOutcome = OUTCOME_RANK[b.outcome] - OUTCOME_RANK[a.outcome];
  if (byOutcome) return byOutcome;
  for (const s of SEVERITIES) {
    if (a.counts[s] !== b.counts[s]) return b.counts[s] - a.counts[s];
  }
  return b.fixable - a.fixable || compareText(a.ref, b.ref);
}

/** Per-image facts, in the results file's order. */
export function imageViews(view: ReportView): ImageView[] {
  const shown = new Set(view.severities);
  const verdict = view.results.verdict;
  const ignored = new Set((verdict?.ignored ?? []).map((i) => findingKey(i.image, i.findingId, i.pkg)));
  const violationsByImage = new Map<string, Violation[]>();
  for (const v of verdict?.violations ?? []) {
    if (v.image === undefined) continue;
    const list = violationsByImage.get(v.image) ?? [];
    list.push(v);
    violationsByImage.set(v.image, list);
  }
  return view.results.images.map((result) => {
    const ref = result.target.ref;
    const findings = result.findings
      .filter((f) => shown.has(f.severity) && !ignored.has(findingKey(ref, f.id, f.pkg)))
      .sort(compareFindings);
    const violations = violationsByImage.get(ref) ?? [];
    const outcome: ImageOutcome =
      violations.length > 0 ? 'violating' : result.status === 'failed' ? 'scan-failed' : 'pass';
    return {
      result,
      ref,
      input: result.target.input || ref,
      findings,
      counts: countBySeverity(findings),
      fixable: findings.filter(isFixable).length,
      violations,
      outcome,
    };
  });
}

/** Violations that name no image (expired ignores, totals over the whole run, ...). */
export function runWideViolations(view: ReportView): Violation[] {
  return (view.results.verdict?.violations ?? []).filter((v) => v.image === undefined);
}

export interface SkippedView {
  ref: string;
  reason: string;
  /** Where the repository references it (discover-files). */
  origins?: Origin[];
}

/** Discovery's skipped targets, with the reason. */
export function skippedImages(view: ReportView): SkippedView[] {
  return view.results.skipped.map((s) => ({
    ref: s.ref,
    reason: s.reason,
    ...(s.origins ? { origins: s.origins } : {}),
  }));
}

export interface FixableFinding {
  finding: Finding;
  /** Refs of the images that carry it (the same CVE in the same package version, fixed in the same version). */
  images: string[];
}

/** The most severe fixable findings over all images, identical ones merged, worst (then most widespread) first. */
export function topFixableFindings(images: readonly ImageView[], limit: number): FixableFinding[] {
  const byKey = new Map<string, FixableFinding>();
  for (const image of images) {
    for (const f of image.findings) {
      if (!isFixable(f)) continue;
      const key = `${f.id}\u0000${f.pkg}\u0000${f.installed ?? ''}\u0000${f.fixed ?? ''}`;
      const seen = byKey.get(key);
      if (seen) {
        if (!seen.images.includes(image.ref)) seen.images.push(image.ref);
      } else {
        byKey.set(key, { finding: f, images: [image.ref] });
      }
    }
  }
  return [...byKey.values()]
    .sort((a, b) => compareFindings(a.finding, b.finding) || b.images.length - a.images.length)
    .slice(0, limit);
}

export interface RunTotals {
  images: number;
  violating: number;
  scanFailed: number; // failed to scan (whether or not that fails the gate)
  skipped: number;
  violations: number;
}

export function runTotals(view: ReportView, images: readonly ImageView[]): RunTotals {
  return {
    images: images.length,
    violating: images.filter((i) => i.outcome === 'violating').length,
    scanFailed: images.filter((i) => i.result.status === 'failed').length,
    skipped: view.results.skipped.length,
    violations: view.results.verdict?.violations.length ?? 0,
  };
}

/** The Trivy version and DB time to show: the view's, else the results file's, else the first image's. */
export function trivyFacts(view: ReportView): { version?: string; dbUpdatedAt?: Date } {
  const first = view.results.images.find((i) => i.trivyVersion || i.dbUpdatedAt);
  const version = view.trivyVersion ?? view.results.trivyVersion ?? first?.trivyVersion;
  const db = view.dbUpdatedAt ?? view.results.dbUpdatedAt ?? first?.dbUpdatedAt;
  const dbDate = db ? new Date(db) : undefined;
  return { version, dbUpdatedAt: dbDate && !Number.isNaN(dbDate.getTime()) ? dbDate : undefined };
}

/** The table columns for the severities the run reports, worst first. */
export function severityColumns(severities: readonly Severity[]): Severity[] {
  return SEVERITIES.filter((s) => severities.includes(s));
}
