import { compareText } from '../infra/text-order.js';
import { GITHUB_ANNOTATIONS_PER_LEVEL } from '../infra/github-limits.js';
import { explainScanError } from '../findings/scan-error.js';
import {
  SEVERITIES,
  SEVERITY_RANK,
  emptyCounts,
  isFixable,
  type ResultsDelta,
  type Severity,
  type SeverityCounts,
} from '../model.js';
import { deltaAnnotationLine } from './delta.js';
import { describeCounts, plural, truncate } from './markdown.js';
import { imageViews, type ImageView, type ReportView } from './view.js';

// Annotations on the lines that reference an image (Dockerfile FROM, compose/k8s image:). GitHub shows at most
// 10 errors, 10 warnings and 10 notices per step, so several images on one line make one annotation, the
// worst come first, and what is left out is counted and reported in the summary rather than silently lost.

type AnnotationLevel = 'error' | 'warning' | 'notice';

interface Annotation {
  level: AnnotationLevel;
  message: string;
  title: string;
  file?: string;
  startLine?: number;
}

export interface AnnotationOptions {
  /** Per level, per step; GitHub's limit is 10. */
  maxPerLevel?: number;
}

export interface AnnotationsBuild {
  annotations: Annotation[];
  omitted: number;
  /** Lines for the job summary (e.g. how many were left out). */
  notes: string[];
}

/** Findings named in one annotation's message, per image. */
const FINDINGS_PER_MESSAGE = 5;
const MAX_TITLE_CHARS = 255;
const MAX_MESSAGE_CHARS = 4000;

const LEVEL_RANK: Record<AnnotationLevel, number> = { error: 2, warning: 1, notice: 0 };

/** error: fails the gate; warning: MEDIUM or worse shown (or the scan failed); notice: only LOW/UNKNOWN. */
function levelOf(image: ImageView): AnnotationLevel | undefined {
  if (image.outcome === 'violating') return 'error';
  if (image.outcome === 'scan-failed') return 'warning';
  if (image.findings.some((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK.MEDIUM)) return 'warning';
  if (image.findings.length > 0) return 'notice';
  return undefined; // clean image: nothing to say on its line
}

interface Group {
  level: AnnotationLevel;
  file?: string;
  line?: number;
  images: ImageView[];
}

export function buildAnnotations(view: ReportView, opts: AnnotationOptions = {}): AnnotationsBuild {
  const maxPerLevel = opts.maxPerLevel ?? GITHUB_ANNOTATIONS_PER_LEVEL;
  const groups = new Map<string, Group>();
  const unlocated: Group[] = [];

  for (const image of imageViews(view)) {
    const level = levelOf(image);
    if (!level) continue;
    const origins = image.result.target.origins;
    if (origins.length === 0) {
      unlocated.push({ level, images: [image] });
      continue;
    }
    for (const origin of origins) {
      const key = `${origin.file}\u0000${origin.line}`;
      const group = groups.get(key) ?? { level, file: origin.file, line: origin.line, images: [] };
      if (!group.images.includes(image)) group.images.push(image);
      if (LEVEL_RANK[level] > LEVEL_RANK[group.level]) group.level = level;
      groups.set(key, group);
    }
  }

  const all = [...groups.values(), ...unlocated].sort(compareGroups);
  const perLevel: Record<AnnotationLevel, number> = { error: 0, warning: 0, notice: 0 };
  const annotations: Annotation[] = [];
  let omitted = 0;
  for (const group of all) {
    if (perLevel[group.level] >= maxPerLevel) {
      omitted++;
      continue;
    }
    perLevel[group.level]++;
    annotations.push(toAnnotation(group, view.results.delta));
  }
  const notes =
    omitted > 0
      ? [
          `${omitted === 1 ? '1 annotation was' : `${omitted} annotations were`} left out (GitHub shows at most ` +
            `${maxPerLevel} errors, ${maxPerLevel} warnings and ${maxPerLevel} notices per step).`,
        ]
      : [];
  return { annotations, omitted, notes };
}

function groupCounts(group: Group): { counts: SeverityCounts; fixable: number } {
  const counts = emptyCounts();
  let fixable = 0;
  for (const image of group.images) {
    for (const s of Object.keys(counts) as Severity[]) counts[s] += image.counts[s];
    fixable += image.fixable;
  }
  return { counts, fixable };
}

/** Worst first: level, then counts from CRITICAL down, then located before unlocated, then by place. */
function compareGroups(a: Group, b: Group): number {
  const byLevel = LEVEL_RANK[b.level] - LEVEL_RANK[a.level];
  if (byLevel) return byLevel;
  const ca = groupCounts(a).counts;
  const cb = groupCounts(b).counts;
  for (const s of SEVERITIES) {
    if (ca[s] !== cb[s]) return cb[s] - ca[s];
  }
  if ((a.file === undefined) !== (b.file === undefined)) return a.file === undefined ? 1 : -1;
  return (
    compareText(a.file ?? '', b.file ?? '') ||
    (a.line ?? 0) - (b.line ?? 0) ||
    compareText(a.images[0].ref, b.images[0].ref)
  );
}

/** `1 critical, 3 high (2 fixable)`; for a failed scan or a violation without visible findings, says that. */
function imageHeadline(image: ImageView): string {
  if (image.result.status === 'failed') return 'scan failed';
  if (image.findings.length === 0) return image.outcome === 'violating' ? 'fails the gate' : 'no findings';
  const counts = describeCounts(image.counts);
  return image.fixable ? `${counts} (${image.fixable} fixable)` : counts;
}

function toAnnotation(group: Group, delta: ResultsDelta | undefined): Annotation {
  let title: string;
  if (group.images.length === 1) {
    title = `${group.images[0].input} — ${imageHeadline(group.images[0])}`;
  } else {
    const { counts, fixable } = groupCounts(group);
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const countsText = total
      ? `${describeCounts(counts)}${fixable ? ` (${fixable} fixable)` : ''}`
      : 'see details';
    title = `${plural(group.images.length, 'image')} (${group.images.map((i) => i.input).join(', ')}) — ${countsText}`;
  }

  const message = group.images
    .map((image) => imageMessage(image, group.images.length > 1, delta))
    .join('\n\n');
  return {
    level: group.level,
    title: truncate(title, MAX_TITLE_CHARS),
    message: truncate(message, MAX_MESSAGE_CHARS),
    ...(group.file !== undefined ? { file: group.file, startLine: group.line } : {}),
  };
}

function imageMessage(image: ImageView, named: boolean, delta: ResultsDelta | undefined): string {
  const lines: string[] = [];
  // The message names the image too: the runner's log shows messages, and titles only in the annotation itself.
  if (named) lines.push(`${image.ref}: ${imageHeadline(image)}`);
  else lines.push(image.ref);
  const added = deltaAnnotationLine(delta, image.ref);
  if (added) lines.push(added);
  if (image.violations.length) {
    lines.push(
      `Fails the gate: ${image.violations.map((v) => v.message || `${v.rule} (${v.threshold})`).join('; ')}`,
    );
  }
  if (image.result.status === 'failed') {
    const { cause, fix } = explainScanError(image.result.error, image.result.target.registry);
    lines.push(`Trivy could not scan it: ${truncate(cause, 300)}`);
    if (fix) lines.push(`Fix: ${fix}`);
  }
  const fixable = image.findings.filter(isFixable);
  if (fixable.length) {
    lines.push('Upgrade:');
    for (const f of fixable.slice(0, FINDINGS_PER_MESSAGE)) {
      lines.push(`- ${f.id} (${f.severity}) ${f.pkg} ${f.installed ?? '?'} → ${(f.fixed ?? '').trim()}`);
    }
    if (fixable.length > FINDINGS_PER_MESSAGE)
      lines.push(`- …and ${fixable.length - FINDINGS_PER_MESSAGE} more fixable`);
  } else if (image.findings.length) {
    const ids = image.findings.slice(0, FINDINGS_PER_MESSAGE).map((f) => `${f.id} (${f.severity}) ${f.pkg}`);
    lines.push(`No fixed versions yet: ${ids.join(', ')}${image.findings.length > ids.length ? ', …' : ''}`);
  }
  return lines.join('\n');
}
