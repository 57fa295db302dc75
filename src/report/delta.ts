import { compareText } from '../infra/text-order.js';
import { SEVERITY_RANK, type DeltaFinding, type ImageDelta, type ResultsDelta } from '../model.js';
import { codeSpan, escapeText, installedToFixed, link, plural, severityEmoji, truncate } from './markdown.js';
import type { ReportView } from './view.js';

// The delta against the base branch (findings/compare.ts), as the PR comment and the job summary lead with it:
// one line per image — "+3 new (1 critical), −12 fixed, 40 unchanged" — the new findings listed first, the fixed
// ones folded, images added or removed by the change said so. Without a baseline, the one line saying why.

export interface DeltaLimits {
  /** Image lines shown; the rest are counted. */
  images: number;
  /** New findings listed (over all images); 0 lists none. */
  newFindings: number;
  /** Fixed findings listed in the fold; 0 leaves the fold out. */
  fixedFindings: number;
}

/** Characters of one name (ref, ID, package, version) shown: a baseline is untrusted and may carry megabytes. */
const NAME_CHARS = 200;
// Sliced first: splitting megabytes into code points would cost more than the whole render.
const short = (text: string) => truncate(text.slice(0, 2 * NAME_CHARS + 2), NAME_CHARS);

export const FULL_DELTA: DeltaLimits = { images: 50, newFindings: 30, fixedFindings: 100 };
export const SHORT_DELTA: DeltaLimits = { images: 10, newFindings: 5, fixedFindings: 0 };

export function deltaSection(view: ReportView, limits: DeltaLimits): string {
  const delta = view.results.delta;
  if (!delta) return '';
  if (!delta.baseline) return `> [!NOTE]\n> ${escapeText(delta.missing ?? 'No baseline to compare with.')}`;

  const images = [...delta.images].sort(compareImageDeltas);
  const totals = totalsOf(images);
  const lines = [
    `**Against the base branch** (${escapeText(short(delta.baseline.source))}${when(delta.baseline.createdAt)}): ${changeText(totals)}`,
    '',
  ];
  for (const image of images.slice(0, limits.images)) lines.push(`- ${imageLine(image)}`);
  if (images.length > limits.images) {
    lines.push(`- …and ${plural(images.length - limits.images, 'more image')} in the results file`);
  }

  const fresh = listed(images, 'new');
  if (limits.newFindings > 0 && fresh.length > 0) {
    lines.push('', `**New** (${fresh.length})`, '');
    for (const { finding, ref } of fresh.slice(0, limits.newFindings))
      lines.push(`- ${findingLine(finding, ref)}`);
    if (fresh.length > limits.newFindings) lines.push(`- …and ${fresh.length - limits.newFindings} more`);
  }
  const fixed = listed(images, 'fixed');
  if (limits.fixedFindings > 0 && fixed.length > 0) {
    lines.push('', `<details><summary>Fixed (${fixed.length})</summary>`, '');
    for (const { finding, ref } of fixed.slice(0, limits.fixedFindings))
      lines.push(`- ${findingLine(finding, ref)}`);
    if (fixed.length > limits.fixedFindings) lines.push(`- …and ${fixed.length - limits.fixedFindings} more`);
    lines.push('', '</details>');
  }
  return lines.join('\n');
}

/** For an annotation on the image's line: what the change adds, e.g. "New against the base branch: +1 new (1 critical): CVE-1 (openssl)". */
export function deltaAnnotationLine(delta: ResultsDelta | undefined, ref: string): string | undefined {
  if (!delta?.baseline) return undefined;
  const image = delta.images.find((d) => d.ref === ref && d.change !== 'removed');
  if (!image || image.new.length === 0) return undefined;
  const ids = sortFindings(image.new)
    .slice(0, 5)
    .map((f) => `${short(f.id)} (${f.severity}) ${short(f.pkg || f.target)}`);
  const more = image.new.length > ids.length ? ', …' : '';
  return `New against the base branch: ${newText(image.new)}: ${ids.join(', ')}${more}`;
}

interface Totals {
  new: DeltaFinding[];
  fixed: number;
  unchanged: number;
}

function totalsOf(images: readonly ImageDelta[]): Totals {
  return {
    new: images.flatMap((i) => i.new),
    fixed: images.reduce((n, i) => n + i.fixed.length, 0),
    unchanged: images.reduce((n, i) => n + i.unchanged, 0),
  };
}

/** `+3 new (1 critical), −12 fixed, 40 unchanged`. */
function changeText(t: Totals): string {
  return `${newText(t.new)}, −${t.fixed} fixed, ${t.unchanged} unchanged`;
}

/** `+3 new (1 critical, 1 high)`: the severities that usually gate. */
function newText(found: readonly DeltaFinding[]): string {
  const worst = (['CRITICAL', 'HIGH'] as const)
    .map((s) => ({ s, n: found.filter((f) => f.severity === s).length }))
    .filter(({ n }) => n > 0)
    .map(({ s, n }) => `${n} ${s.toLowerCase()}`);
  return `+${found.length} new${worst.length ? ` (${worst.join(', ')})` : ''}`;
}

function imageLine(image: ImageDelta): string {
  const ref = codeSpan(short(image.ref));
  switch (image.change) {
    case 'added':
      return `${ref} — added by this change: ${newText(image.new)}`;
    case 'removed':
      return `${ref} — no longer scanned (removed by this change): −${image.fixed.length} fixed`;
    case 'compared': {
      const was =
        image.baselineRef && image.baselineRef !== image.ref
          ? ` (was ${codeSpan(short(image.baselineRef))})`
          : '';
      return `${ref}${was}: ${changeText({ new: image.new, fixed: image.fixed.length, unchanged: image.unchanged })}`;
    }
  }
}

function findingLine(f: DeltaFinding, ref: string): string {
  const fixed = f.fixed === undefined ? undefined : short(f.fixed);
  const what = f.pkg
    ? ` in ${codeSpan(short(f.pkg))}${f.installed ? `: ${installedToFixed(short(f.installed), fixed)}` : ''}`
    : '';
  return `${severityEmoji(f.severity)} ${link(short(f.id), f.url)}${what} — ${escapeText(short(ref))}`;
}

function listed(
  images: readonly ImageDelta[],
  which: 'new' | 'fixed',
): { finding: DeltaFinding; ref: string }[] {
  return images
    .flatMap((i) => i[which].map((finding) => ({ finding, ref: i.ref })))
    .sort((a, b) => compareDeltaFindings(a.finding, b.finding) || compareText(a.ref, b.ref));
}

/** Images with new findings first (most severe first), then by ref. */
function compareImageDeltas(a: ImageDelta, b: ImageDelta): number {
  const worst = (i: ImageDelta) => Math.max(-1, ...i.new.map((f) => SEVERITY_RANK[f.severity]));
  return worst(b) - worst(a) || b.new.length - a.new.length || compareText(a.ref, b.ref);
}

function sortFindings(found: readonly DeltaFinding[]): DeltaFinding[] {
  return [...found].sort(compareDeltaFindings);
}

function compareDeltaFindings(a: DeltaFinding, b: DeltaFinding): number {
  return (
    SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
    compareText(a.id, b.id) ||
    compareText(a.pkg, b.pkg)
  );
}

function when(createdAt: string): string {
  const date = new Date(createdAt);
  return Number.isNaN(date.getTime()) ? '' : `, ${date.toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
}
