import { compareText } from '../infra/text-order.js';
import { workflowRunUrl } from '../infra/run-url.js';
import { createHash } from 'node:crypto';
import {
  codeBlock,
  codeSpan,
  escapeHtml,
  escapeText,
  formatAge,
  installedToFixed,
  link,
  plural,
  severityEmoji,
  tableHeader,
  tableRow,
  truncate,
  verdictHeadline,
} from './markdown.js';
import { baseImageAdviceSection } from './base-image-advice.js';
import { deltaSection, FULL_DELTA, SHORT_DELTA } from './delta.js';
import {
  compareImageSeverity,
  imageViews,
  runTotals,
  severityColumns,
  runWideViolations,
  skippedImages,
  topFixableFindings,
  trivyFacts,
  type ImageView,
  type ReportView,
  type RunTotals,
} from './view.js';
import { vexCommentLine } from './vex-section.js';

// The sticky PR comment: what a reviewer needs without leaving the PR — the verdict, why, which images, what to
// upgrade — and links to the rest. GitHub refuses comments over 65,536 characters: the least important parts
// fold or shorten first (passing images become a count, the findings list shortens), and the comment says so.
// The verdict and every failing image stay visible.

/** GitHub's limit for a comment body, in characters. */
export const COMMENT_LIMIT_CHARS = 65_536;
/** Kept below the limit: GitHub counts characters, JavaScript counts UTF-16 units (≥ characters), plus a margin. */
const DEFAULT_BUDGET_CHARS = 65_000;

export interface CommentOptions {
  /** The hidden marker the publish stage finds the comment by; see commentMarker(). */
  marker: string;
  /** Character budget; defaults to 65,000. */
  maxChars?: number;
}

export interface CommentRender {
  body: string;
  truncated: boolean;
}

/** Who a sticky comment belongs to: the workflow, the job and its matrix values, and the category. */
export interface CommentOwner {
  category: string;
  workflow?: string;
  job?: string;
  /** The `matrix` input (`${{ toJSON(matrix) }}` by default); empty or `null` outside a matrix. */
  matrix?: string;
}

/**
 * `<!-- image-scan-gate:<category> key=<16 hex> -->`: one sticky comment per category, workflow, job and matrix
 * entry, so two jobs (or two matrix entries) on one pull request never overwrite each other's verdict. The key is
 * a hash: workflow, job and matrix values are never printed into the comment, and nothing in them can end the HTML
 * comment early.
 */
export function commentMarker(owner: CommentOwner): string {
  const key = createHash('sha256')
    .update(JSON.stringify([owner.workflow ?? '', owner.job ?? '', canonicalMatrix(owner.matrix)]))
    .digest('hex')
    .slice(0, 16);
  return `<!-- image-scan-gate:${markerCategory(owner.category)} key=${key} -->`;
}

/** The marker of versions before the key (category only): such a comment is taken over by the first job to run. */
export function legacyCommentMarker(category: string): string {
  return `<!-- image-scan-gate:${markerCategory(category)} -->`;
}

function markerCategory(category: string): string {
  // Nothing in the category may end the HTML comment early.
  return category.replace(/[^A-Za-z0-9._/:@+-]/g, '_').replace(/-{2,}/g, '-');
}

/** `{"os":"linux","arch":"x64"}` in any key order is one entry; `null`/empty (no matrix) is none. */
function canonicalMatrix(matrix: string | undefined): string {
  const text = (matrix ?? '').trim();
  if (text === '' || text === 'null') return '';
  try {
    return JSON.stringify(sortKeys(JSON.parse(text)));
  } catch {
    return text; // any label the workflow chose
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => compareText(a, b))
      .map(([k, v]) => [k, sortKeys(v)]),
  );
}

/** Over this many passing images, their rows fold into a `<details>` so failing ones stand out. */
const FOLD_PASSING_OVER = 10;

interface Level {
  /** Passing images as table rows (folded when many), or only their count. */
  passing: 'rows' | 'count';
  reasons: number;
  idsPerReason: number;
  topFixable: number;
  /** Characters of Trivy's error shown per failed image; 0 shows none. */
  errorChars: number;
  skippedRows: number;
  /** 'table' rows with counts, or a bare list of refs when even the rows do not fit. */
  failing: 'table' | 'list';
}

const LEVELS: readonly Level[] = [
  {
    passing: 'rows',
    reasons: 50,
    idsPerReason: 5,
    topFixable: 10,
    errorChars: 1000,
    skippedRows: 50,
    failing: 'table',
  },
  {
    passing: 'count',
    reasons: 20,
    idsPerReason: 3,
    topFixable: 5,
    errorChars: 300,
    skippedRows: 10,
    failing: 'table',
  },
  {
    passing: 'count',
    reasons: 10,
    idsPerReason: 0,
    topFixable: 3,
    errorChars: 0,
    skippedRows: 0,
    failing: 'table',
  },
  {
    passing: 'count',
    reasons: 5,
    idsPerReason: 0,
    topFixable: 0,
    errorChars: 0,
    skippedRows: 0,
    failing: 'list',
  },
];

export function renderComment(view: ReportView, opts: CommentOptions): CommentRender {
  const budget = opts.maxChars ?? DEFAULT_BUDGET_CHARS;
  const images = imageViews(view).sort(compareImageSeverity);
  const totals = runTotals(view, images);
  let body = '';
  for (const [index, level] of LEVELS.entries()) {
    const truncated = index > 0;
    body = render(view, images, totals, level, opts.marker, truncated, budget);
    if (body.length <= budget) return { body, truncated };
  }
  // Even the bare list of failing images is too long (thousands of them): cut it, and say where the rest is.
  const note = '\n\n…cut to fit GitHub’s comment size limit; the job summary lists every image.\n';
  return {
    body: `${body
      .slice(0, budget - note.length)
      .replace(/[^\n]*$/, '')
      .trimEnd()}${note}`,
    truncated: true,
  };
}

function render(
  view: ReportView,
  images: readonly ImageView[],
  totals: RunTotals,
  level: Level,
  marker: string,
  truncated: boolean,
  budget: number,
): string {
  const sections = [
    `${marker}\n${headline(view, totals)}`,
    truncated ? limitNote() : '',
    deltaSection(view, truncated ? SHORT_DELTA : FULL_DELTA),
    baseImageAdviceSection(view, truncated ? SHORT_DELTA.images : FULL_DELTA.images),
    reasons(view, level),
    imagesPart(view, images, level, budget),
    topFixable(images, level),
    failedPart(images, level),
    skippedPart(view, level),
    vexCommentLine(view.results.verdict, level.idsPerReason),
    footer(view),
  ];
  return `${sections.filter(Boolean).join('\n\n')}\n`;
}

function limitNote(): string {
  return '> [!NOTE]\n> Parts of this comment are shortened to stay within GitHub’s comment size limit; the job summary has the full report.';
}

function headline(view: ReportView, totals: RunTotals): string {
  const result = view.results.verdict?.result;
  const verdict = verdictHeadline(result, view.gate ?? 'enforce', totals);
  const facts: string[] = [];
  facts.push(
    totals.violations > 0
      ? `**${plural(totals.violations, 'violation')}** in **${totals.violating} of ${plural(totals.images, 'image')}**`
      : `**${plural(totals.images, 'image')}**, no violations`,
  );
  if (totals.scanFailed) facts.push(`${totals.scanFailed} failed to scan`);
  if (totals.skipped) facts.push(`${totals.skipped} skipped`);
  const lines = [`### ${verdict.title}`, '', facts.join(' · ')];
  if (verdict.explanation) lines.push('', verdict.explanation);
  return lines.join('\n');
}

function reasons(view: ReportView, level: Level): string {
  const violations = view.results.verdict?.violations ?? [];
  if (violations.length === 0) return '';
  // Run-wide reasons first: they are few and explain failures no image row shows.
  const ordered = [...runWideViolations(view), ...violations.filter((v) => v.image !== undefined)];
  const lines = ordered.slice(0, level.reasons).map((v) => {
    const where = v.image ? ` — ${escapeText(v.image)}` : '';
    const ids =
      level.idsPerReason > 0 && v.findings.length
        ? `: ${v.findings
            .slice(0, level.idsPerReason)
            .map((id) => codeSpan(id))
            .join(
              ', ',
            )}${v.findings.length > level.idsPerReason ? ` and ${v.findings.length - level.idsPerReason} more` : ''}`
        : v.findings.length
          ? ` (${plural(v.findings.length, 'finding')})`
          : '';
    return `- ${codeSpan(v.rule)} (${escapeText(v.threshold)})${where}${ids}`;
  });
  const more = ordered.length - lines.length;
  if (more > 0) lines.push(`- …and ${plural(more, 'more violation')} in the job summary`);
  return [`**Why**`, '', ...lines].join('\n');
}

function verdictCell(image: ImageView, result: 'pass' | 'fail' | 'warn' | undefined, gated: boolean): string {
  switch (image.outcome) {
    case 'violating': {
      const rules = [...new Set(image.violations.map((v) => v.rule))].map((r) =>
        codeSpan(r, { inTable: true }),
      );
      return `${!gated ? 'ℹ️' : result === 'warn' ? '⚠️' : '❌'} ${rules.join(', ')}`;
    }
    case 'scan-failed':
      return '⚠️ scan failed';
    case 'pass':
      return result && gated ? '✅' : '—';
  }
}

function imagesPart(view: ReportView, images: readonly ImageView[], level: Level, budget: number): string {
  if (images.length === 0) return '';
  const notPassing = images.filter((i) => i.outcome !== 'pass');
  const passing = images.filter((i) => i.outcome === 'pass');
  const result = view.results.verdict?.result;

  if (level.failing === 'list') {
    const parts = [`**Images** (${images.length})`];
    if (notPassing.length) {
      parts.push(
        '',
        `Failing or not scanned (${notPassing.length}): ${refList(
          notPassing.map((i) => i.ref),
          budget / 2,
        )}`,
      );
    }
    if (passing.length) parts.push('', `…and ${plural(passing.length, 'passing image')}.`);
    return parts.join('\n');
  }

  const columns = severityColumns(view.severities);
  const header = tableHeader(
    ['Image', ...columns.map((s) => `${severityEmoji(s)} ${s[0]}`), 'Fixable', 'Verdict'],
    ['l', ...columns.map(() => 'r' as const), 'r', 'l'],
  );
  const row = (i: ImageView): string => {
    const scanned = i.result.status !== 'failed';
    return tableRow([
      escapeText(i.ref),
      ...columns.map((s) => (scanned ? String(i.counts[s]) : '—')),
      scanned ? String(i.fixable) : '—',
      verdictCell(i, result, view.gate !== 'off'),
    ]);
  };

  const out = [`**Images** (${images.length})`];
  if (level.passing === 'rows' && passing.length <= FOLD_PASSING_OVER) {
    out.push('', header, ...images.map(row));
    return out.join('\n');
  }
  if (notPassing.length) out.push('', header, ...notPassing.map(row));
  if (passing.length === 0) return out.join('\n');
  if (level.passing === 'rows') {
    out.push(
      '',
      `<details><summary>${plural(passing.length, 'passing image')}</summary>`,
      '',
      header,
      ...passing.map(row),
      '',
      '</details>',
    );
  } else {
    out.push('', `…and ${plural(passing.length, 'passing image')} (see the job summary).`);
  }
  return out.join('\n');
}

/** Refs joined with commas, stopping (with a count) before `maxChars`. */
function refList(refs: readonly string[], maxChars: number): string {
  const shown: string[] = [];
  let length = 0;
  for (const ref of refs) {
    const piece = codeSpan(ref);
    if (length + piece.length + 2 > maxChars) break;
    shown.push(piece);
    length += piece.length + 2;
  }
  const more = refs.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}

function topFixable(images: readonly ImageView[], level: Level): string {
  if (level.topFixable === 0) return '';
  const top = topFixableFindings(images, level.topFixable);
  if (top.length === 0) return '';
  const lines = top.map(({ finding: f, images: refs }) => {
    const where = refs.length === 1 ? escapeText(refs[0]) : plural(refs.length, 'image');
    return `- ${severityEmoji(f.severity)} ${link(f.id, f.url)} in ${codeSpan(f.pkg)}: ${installedToFixed(f.installed, f.fixed)} — ${where}`;
  });
  return [`**Fix these first**`, '', ...lines].join('\n');
}

function failedPart(images: readonly ImageView[], level: Level): string {
  if (level.errorChars === 0) return '';
  const failed = images.filter((i) => i.result.status === 'failed');
  if (failed.length === 0) return '';
  const blocks = failed.map((i) =>
    [
      `<details><summary>${escapeHtml(i.ref)}</summary>`,
      '',
      codeBlock(truncate(i.result.error?.trim() || 'Trivy gave no error text.', level.errorChars)),
      '',
      '</details>',
    ].join('\n'),
  );
  return [`**Failed to scan** (${failed.length})`, '', ...blocks].join('\n');
}

function skippedPart(view: ReportView, level: Level): string {
  const skipped = skippedImages(view);
  if (skipped.length === 0) return '';
  const lines = skipped
    .slice(0, level.skippedRows)
    .map((s) => `- ${escapeText(s.ref)} — ${escapeText(s.reason)}`);
  if (lines.length < skipped.length)
    lines.push(`- …and ${skipped.length - lines.length} more in the job summary`);
  return [`**Skipped** (${skipped.length})`, '', ...lines].join('\n');
}

function footer(view: ReportView): string {
  const links: string[] = [];
  const run = workflowRunUrl(view.run);
  if (run) links.push(link(`Run ${view.run.runId}`, run));
  const summary = view.run.jobSummaryUrl ?? run;
  if (summary) links.push(link('Job summary', summary));
  if (view.run.securityTabUrl) links.push(link('Security tab', view.run.securityTabUrl));

  const facts: string[] = [];
  const { version, dbUpdatedAt } = trivyFacts(view);
  if (version) facts.push(`Trivy ${escapeText(version)}`);
  if (dbUpdatedAt) facts.push(`DB updated ${formatAge(dbUpdatedAt, view.now)}`);
  if (view.run.sha) facts.push(`commit ${escapeText(view.run.sha.slice(0, 7))}`);
  facts.push(`category ${codeSpan(view.category)}`);
  facts.push(`updated ${escapeText(view.now.toISOString().replace(/\.\d{3}Z$/, 'Z'))}`);

  return [links.join(' · '), `<sub>${facts.join(' · ')}</sub>`].filter(Boolean).join('\n\n');
}
