import { workflowRunUrl } from '../infra/run-url.js';
import type { Severity } from '../model.js';
import {
  codeBlock,
  codeSpan,
  cvssText,
  describeCounts,
  escapeHtml,
  escapeText,
  formatAge,
  installedToFixed,
  link,
  plural,
  severityBadge,
  severityEmoji,
  shortDigest,
  tableHeader,
  tableRow,
  truncate,
  utf8Bytes,
  verdictHeadline,
} from './markdown.js';
import { baseImageAdviceSection } from './base-image-advice.js';
import { deltaSection, FULL_DELTA, SHORT_DELTA } from './delta.js';
import { rewrittenSection, skippedWhereCells } from './file-origins.js';
import {
  compareImageSeverity,
  imageViews,
  runTotals,
  severityColumns,
  skippedImages,
  topFixableFindings,
  trivyFacts,
  type ImageView,
  type ReportView,
  type RunTotals,
} from './view.js';
import { vexSummarySection } from './vex-section.js';

// The job summary: the whole story of a run on one page, most important first. GitHub refuses a step summary
// over 1 MiB, so when the full page is too big it first drops per-image finding lists (least severe images
// first), then shortens the other parts; the verdict, the violations and the failing images always stay.

/** GitHub's limit for one step's summary, in UTF-8 bytes. */
export const SUMMARY_LIMIT_BYTES = 1_048_576;
/** Room left for lines the publish stage may append (e.g. its own notices). */
const DEFAULT_MARGIN_BYTES = 8 * 1024;
/** Findings listed per image in its `<details>`; the results file has the rest. */
const MAX_DETAIL_ROWS = 1000;
/** Space kept for the "left out" note, whose length depends on the numbers in it. */
const NOTE_RESERVE_BYTES = 512;

export interface SummaryOptions {
  /** Byte budget for the markdown; defaults to GitHub's 1 MiB minus a small margin. */
  maxBytes?: number;
}

export interface SummaryRender {
  markdown: string;
  truncated: boolean;
}

/** How much each part may say; later levels say less. */
interface Level {
  topFixable: number;
  idsPerViolation: number;
  errorChars: number;
  skippedRows: number;
  ignoreRows: number;
  /** Passing images leave the table, replaced by a count. */
  collapsePassing: boolean;
}

const LEVELS: readonly Level[] = [
  {
    topFixable: 20,
    idsPerViolation: 10,
    errorChars: 4000,
    skippedRows: Infinity,
    ignoreRows: Infinity,
    collapsePassing: false,
  },
  {
    topFixable: 10,
    idsPerViolation: 5,
    errorChars: 1000,
    skippedRows: 100,
    ignoreRows: 100,
    collapsePassing: false,
  },
  {
    topFixable: 10,
    idsPerViolation: 3,
    errorChars: 300,
    skippedRows: 20,
    ignoreRows: 20,
    collapsePassing: true,
  },
  {
    topFixable: 0,
    idsPerViolation: 1,
    errorChars: 100,
    skippedRows: 0,
    ignoreRows: 0,
    collapsePassing: true,
  },
];

export function renderSummary(view: ReportView, opts: SummaryOptions = {}): SummaryRender {
  const budget = opts.maxBytes ?? SUMMARY_LIMIT_BYTES - DEFAULT_MARGIN_BYTES;
  const images = imageViews(view).sort(compareImageSeverity);
  const totals = runTotals(view, images);
  const withDetails = images.filter((i) => i.findings.length > 0);
  const details = withDetails.map((i) => imageDetails(i, view.severities));

  for (const [index, level] of LEVELS.entries()) {
    const shortened = index > 0;
    const parts = renderParts(view, images, totals, level);
    const fixedBytes = utf8Bytes(joinSections([...parts.head, ...parts.tail]));
    if (fixedBytes + NOTE_RESERVE_BYTES > budget && index < LEVELS.length - 1) continue;

    // Keep the details of the most severe images; drop from the least severe end.
    let used = fixedBytes + NOTE_RESERVE_BYTES;
    let kept = 0;
    for (const block of details) {
      const size = utf8Bytes(block) + 2; // the blank line that joins sections
      if (used + size > budget) break;
      used += size;
      kept++;
    }
    const leftOut = withDetails.length - kept;
    const truncated = shortened || leftOut > 0;
    const note = truncated ? limitNote(leftOut, shortened) : undefined;
    const detailsSection = kept > 0 ? [`### Findings per image`, ...details.slice(0, kept)] : [];
    const markdown = joinSections([
      parts.head[0],
      ...(note ? [note] : []),
      ...parts.head.slice(1),
      ...detailsSection,
      ...parts.tail,
    ]);
    if (utf8Bytes(markdown) <= budget) return { markdown, truncated };
    return { markdown: cutToBytes(markdown, budget), truncated: true };
  }
  /* c8 ignore next */
  throw new Error('unreachable: the last summary level always returns');
}

interface Parts {
  /** Before the per-image details: banner (first), violations, failed images, tables. */
  head: string[];
  /** After them: skipped images, ignores, policy, footer. */
  tail: string[];
}

function renderParts(view: ReportView, images: readonly ImageView[], totals: RunTotals, level: Level): Parts {
  const head = [
    banner(view, totals),
    deltaSection(view, level.collapsePassing ? SHORT_DELTA : FULL_DELTA),
    baseImageAdviceSection(view, level.collapsePassing ? SHORT_DELTA.images : FULL_DELTA.images),
    ...(view.notes ?? []).map((n) => `> ${escapeText(n)}`),
    violationsSection(view, level),
    failedSection(images, level),
    imagesTable(view, images, level),
    topFixableSection(images, level),
  ];
  const tail = [
    skippedSection(view, level),
    rewrittenSection(images, level.skippedRows),
    ignoresSection(view, level),
    vexSummarySection(view.results.verdict, level.ignoreRows),
    policySection(view),
    footer(view),
  ];
  return { head: head.filter(Boolean), tail: tail.filter(Boolean) };
}

function banner(view: ReportView, totals: RunTotals): string {
  const result = view.results.verdict?.result;
  const headline = verdictHeadline(result, view.gate ?? 'enforce', totals);
  const lines = [`## ${headline.title}`, ''];
  const facts: string[] = [];
  if (totals.violations > 0) {
    facts.push(
      `**${plural(totals.violations, 'violation')}** in **${totals.violating} of ${plural(totals.images, 'image')}**`,
    );
  } else {
    facts.push(`**${plural(totals.images, 'image')}**, no violations`);
  }
  if (totals.scanFailed) facts.push(`${totals.scanFailed} failed to scan`);
  if (totals.skipped) facts.push(`${totals.skipped} skipped`);
  facts.push(`category ${codeSpan(view.category)}`);
  lines.push(facts.join(' · '));
  if (headline.explanation) lines.push('', headline.explanation);
  return lines.join('\n');
}

function limitNote(leftOut: number, shortened: boolean): string {
  const what: string[] = [];
  if (leftOut > 0) what.push(`Details for ${plural(leftOut, 'image')} left out`);
  if (shortened) what.push(leftOut > 0 ? 'other sections shortened' : 'Some sections shortened');
  return `> [!NOTE]\n> ${what.join('; ')} to stay within GitHub's 1 MiB summary limit; see the results file.`;
}

function idsList(ids: readonly string[], max: number): string {
  const shown = ids.slice(0, max).map((id) => codeSpan(id, { inTable: true }));
  const more = ids.length - shown.length;
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
}

function violationsSection(view: ReportView, level: Level): string {
  const violations = view.results.verdict?.violations ?? [];
  if (violations.length === 0) return '';
  const rows = violations.map((v) =>
    tableRow([
      codeSpan(v.rule, { inTable: true }),
      v.image ? escapeText(v.image) : '_all images_',
      escapeText(v.threshold),
      v.findings.length ? idsList(v.findings, level.idsPerViolation) : escapeText(v.message),
    ]),
  );
  return [`### Violations`, '', tableHeader(['Rule', 'Image', 'Threshold', 'Findings']), ...rows].join('\n');
}

function failedSection(images: readonly ImageView[], level: Level): string {
  const failed = images.filter((i) => i.result.status === 'failed');
  if (failed.length === 0) return '';
  const blocks = failed.map((i) => {
    const error = truncate(i.result.error?.trim() || 'Trivy gave no error text.', level.errorChars);
    return `**${escapeText(i.ref)}**\n\n${codeBlock(error)}`;
  });
  return [`### Failed to scan (${failed.length})`, ...blocks].join('\n\n');
}

function imageVerdictCell(
  image: ImageView,
  result: 'pass' | 'fail' | 'warn' | undefined,
  gated: boolean,
): string {
  const failedScan = image.result.status === 'failed';
  switch (image.outcome) {
    case 'violating':
      if (!gated) return `ℹ️ ${failedScan ? 'scan failed' : 'violates'}`;
      return `${result === 'warn' ? '⚠️' : '❌'} ${failedScan ? 'scan failed' : result === 'warn' ? 'violates' : 'fail'}`;
    case 'scan-failed':
      return '⚠️ scan failed';
    case 'pass':
      return result && gated ? '✅ pass' : result ? 'no violations' : '—';
  }
}

function imagesTable(view: ReportView, images: readonly ImageView[], level: Level): string {
  if (images.length === 0) return '';
  const columns = severityColumns(view.severities);
  const result = view.results.verdict?.result;
  const rows = images
    .filter((i) => !level.collapsePassing || i.outcome !== 'pass')
    .map((i) => {
      const scanned = i.result.status !== 'failed';
      const os = i.result.os
        ? `${i.result.os.family} ${i.result.os.name}${i.result.os.eosl ? ' (EOSL)' : ''}`
        : '';
      return tableRow([
        escapeText(i.ref),
        escapeText(shortDigest(i.result.digest ?? i.result.target.digest)),
        escapeText(os),
        ...columns.map((s) => (scanned ? String(i.counts[s]) : '—')),
        scanned ? String(i.fixable) : '—',
        imageVerdictCell(i, result, view.gate !== 'off'),
      ]);
    });
  const passing = images.length - rows.length;
  const lines = [
    `### Images (${images.length})`,
    '',
    tableHeader(
      ['Image', 'Digest', 'OS', ...columns.map((s) => `${severityEmoji(s)} ${s[0]}`), 'Fixable', 'Verdict'],
      ['l', 'l', 'l', ...columns.map(() => 'r' as const), 'r', 'l'],
    ),
    ...rows,
  ];
  if (passing > 0) lines.push('', `…and ${plural(passing, 'passing image')} (listed in the results file).`);
  return lines.join('\n');
}

function topFixableSection(images: readonly ImageView[], level: Level): string {
  if (level.topFixable === 0) return '';
  const top = topFixableFindings(images, level.topFixable);
  if (top.length === 0) return '';
  const rows = top.map(({ finding: f, images: refs }) =>
    tableRow([
      severityBadge(f.severity),
      link(f.id, f.url),
      escapeText(f.pkg),
      installedToFixed(f.installed, f.fixed),
      cvssText(f.cvss?.score, f.cvss?.source),
      refs.length === 1 ? escapeText(refs[0]) : `${escapeText(refs[0])} and ${refs.length - 1} more`,
    ]),
  );
  return [
    `### Fix these first`,
    '',
    'The most severe findings that have a fixed version:',
    '',
    tableHeader(['Severity', 'ID', 'Package', 'Installed → Fixed', 'CVSS', 'Images']),
    ...rows,
  ].join('\n');
}

function imageDetails(image: ImageView, severities: readonly Severity[]): string {
  const worst = severityColumns(severities).find((s) => image.counts[s] > 0);
  const summary = `${worst ? `${severityEmoji(worst)} ` : ''}${escapeHtml(image.ref)} — ${escapeHtml(describeCounts(image.counts))}${
    image.fixable ? ` (${image.fixable} fixable)` : ''
  }`;
  const rows = image.findings
    .slice(0, MAX_DETAIL_ROWS)
    .map((f) =>
      tableRow([
        link(f.id, f.url),
        escapeText(f.pkgPath ? `${f.pkg} (${f.pkgPath})` : f.pkg),
        installedToFixed(f.installed, f.fixed),
        severityBadge(f.severity),
        cvssText(f.cvss?.score, f.cvss?.source),
      ]),
    );
  const more = image.findings.length - rows.length;
  return [
    `<details><summary>${summary}</summary>`,
    '',
    tableHeader(['ID', 'Package', 'Installed → Fixed', 'Severity', 'CVSS']),
    ...rows,
    ...(more > 0 ? ['', `…and ${more} more findings in the results file.`] : []),
    '',
    '</details>',
  ].join('\n');
}

function skippedSection(view: ReportView, level: Level): string {
  const skipped = skippedImages(view);
  if (skipped.length === 0) return '';
  const where = skippedWhereCells(skipped);
  const rows = skipped
    .slice(0, level.skippedRows)
    .map((s, i) => tableRow([escapeText(s.ref), escapeText(s.reason), ...(where ? [where[i]] : [])]));
  const lines = [`### Skipped (${skipped.length})`];
  if (rows.length) lines.push('', tableHeader(['Image', 'Reason', ...(where ? ['Where'] : [])]), ...rows);
  if (rows.length < skipped.length)
    lines.push('', `…and ${skipped.length - rows.length} more in the results file.`);
  return lines.join('\n');
}

function ignoresSection(view: ReportView, level: Level): string {
  const verdict = view.results.verdict;
  if (!verdict) return '';
  const out: string[] = [];
  // VEX statements have their own section (vex-section.ts).
  const ignored = verdict.ignored.filter((i) => !i.vex);
  const unusedIgnores = verdict.unusedIgnores.filter((u) => !u.vex);
  if (ignored.length) {
    // One row per ignore rule and finding, however many images it applied to.
    const grouped = new Map<
      string,
      { id: string; rule: string; reason?: string; expires?: string; pkgs: Set<string>; images: Set<string> }
    >();
    for (const i of ignored) {
      const key = `${i.findingId}\u0000${i.rule}`;
      const g = grouped.get(key) ?? {
        id: i.findingId,
        rule: i.rule,
        reason: i.reason,
        expires: i.expires,
        pkgs: new Set(),
        images: new Set(),
      };
      g.pkgs.add(i.pkg);
      g.images.add(i.image);
      grouped.set(key, g);
    }
    const all = [...grouped.values()];
    const rows = all
      .slice(0, level.ignoreRows)
      .map((g) =>
        tableRow([
          codeSpan(g.id, { inTable: true }),
          escapeText([...g.pkgs].filter(Boolean).join(', ')),
          String(g.images.size),
          escapeText(g.rule),
          escapeText(g.reason ?? ''),
          escapeText(g.expires ?? ''),
        ]),
      );
    out.push(`**Applied** (${plural(ignored.length, 'finding')} ignored)`);
    if (rows.length)
      out.push('', tableHeader(['ID', 'Packages', 'Images', 'Rule', 'Reason', 'Expires']), ...rows);
    if (rows.length < all.length) out.push('', `…and ${all.length - rows.length} more in the results file.`);
  }
  if (verdict.expiredIgnores.length) {
    if (out.length) out.push('');
    out.push(
      `**Expired** — these no longer ignore anything; renew or remove them:`,
      '',
      tableHeader(['ID', 'Expired', 'Source', 'Reason']),
      ...verdict.expiredIgnores.map((e) =>
        tableRow([
          codeSpan(e.id, { inTable: true }),
          escapeText(e.expires),
          escapeText(e.source),
          escapeText(e.reason ?? ''),
        ]),
      ),
    );
  }
  if (unusedIgnores.length) {
    if (out.length) out.push('');
    out.push(
      `**Unused** — matched no finding in this run:`,
      '',
      tableHeader(['ID', 'Source']),
      ...unusedIgnores.map((u) => tableRow([codeSpan(u.id, { inTable: true }), escapeText(u.source)])),
    );
  }
  if (out.length === 0) return '';
  return [`### Ignores`, '', ...out].join('\n');
}

function policySection(view: ReportView): string {
  const rules = view.results.verdict?.imageRules ?? [];
  if (view.policyLines.length === 0 && rules.length === 0) return '';
  const out = [`### Policy`, '', ...view.policyLines.map((l) => `- ${escapeText(l)}`)];
  if (rules.length) {
    // Like unused ignores: a per-image rule that applied to nothing is most likely a pattern that never matches.
    out.push(
      '',
      `**Per-image rules** (first match wins):`,
      '',
      tableHeader(['Match', 'Source', 'Images', 'Note'], ['l', 'l', 'r', 'l']),
      ...rules.map((r) =>
        tableRow([
          codeSpan(r.match, { inTable: true }),
          escapeText(r.source),
          r.applied === 0 ? '**0 (unused)**' : String(r.applied),
          escapeText(r.note ?? ''),
        ]),
      ),
    );
  }
  return out.join('\n');
}

function footer(view: ReportView): string {
  const { version, dbUpdatedAt } = trivyFacts(view);
  const facts: string[] = [];
  facts.push(version ? `Trivy ${escapeText(version)}` : 'Trivy version unknown');
  if (dbUpdatedAt) facts.push(`DB updated ${formatAge(dbUpdatedAt, view.now)}`);
  facts.push(`${escapeText(view.results.tool.name)} ${escapeText(view.results.tool.version)}`);
  const run = workflowRunUrl(view.run);
  if (run) facts.push(link('run', run));
  if (view.run.securityTabUrl) facts.push(link('Security tab', view.run.securityTabUrl));
  return `---\n<sub>${facts.join(' · ')}</sub>`;
}

function joinSections(sections: readonly string[]): string {
  return `${sections.filter(Boolean).join('\n\n')}\n`;
}

/** Last resort when even the shortest form is too big: cut at a line boundary and say so. */
function cutToBytes(markdown: string, budget: number): string {
  const note = `\n\n> [!WARNING]\n> The summary was cut to stay within GitHub's 1 MiB summary limit; see the results file.\n`;
  const room = budget - utf8Bytes(note);
  const bytes = Buffer.from(markdown, 'utf8').subarray(0, Math.max(0, room));
  let text = bytes.toString('utf8').replace(/\uFFFD$/, '');
  const lastNewline = text.lastIndexOf('\n');
  if (lastNewline > 0) text = text.slice(0, lastNewline);
  return `${text}${note}`;
}
