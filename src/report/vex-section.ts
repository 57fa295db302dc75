import type { Verdict } from '../model.js';
import { codeSpan, escapeText, plural, tableHeader, tableRow } from './markdown.js';

// What the `vex` documents did in this run: the statements that suppressed findings (with their justification, as
// an ignore's reason) and those that matched nothing. VEX text is untrusted (a pull request can change the
// documents): every cell goes through the markdown helpers. Pure.

interface AppliedStatement {
  id: string;
  source: string;
  reason: string;
  pkgs: Set<string>;
  images: Set<string>;
  findings: number;
}

function appliedStatements(verdict: Verdict): AppliedStatement[] {
  const grouped = new Map<string, AppliedStatement>();
  for (const i of verdict.ignored) {
    if (!i.vex) continue;
    const key = `${i.findingId}\u0000${i.rule}`;
    const g = grouped.get(key) ?? {
      id: i.findingId,
      source: i.rule,
      reason: i.reason ?? i.vex,
      pkgs: new Set<string>(),
      images: new Set<string>(),
      findings: 0,
    };
    if (i.pkg) g.pkgs.add(i.pkg);
    g.images.add(i.image);
    g.findings++;
    grouped.set(key, g);
  }
  return [...grouped.values()];
}

/** `### VEX` for the job summary; empty when no VEX statement was given. */
export function vexSummarySection(verdict: Verdict | undefined, maxRows: number): string {
  if (!verdict) return '';
  const applied = appliedStatements(verdict);
  const unused = verdict.unusedIgnores.filter((u) => u.vex);
  if (applied.length === 0 && unused.length === 0) return '';
  const suppressed = verdict.ignored.filter((i) => i.vex).length;
  const out = [`### VEX`, ''];
  out.push(
    `**Applied** — ${plural(suppressed, 'finding')} suppressed by ${plural(applied.length, 'statement')} (not counted by the gate; suppressions in SARIF):`,
  );
  const rows = applied
    .slice(0, maxRows)
    .map((g) =>
      tableRow([
        codeSpan(g.id, { inTable: true }),
        escapeText([...g.pkgs].join(', ')),
        String(g.images.size),
        escapeText(g.source),
        escapeText(g.reason),
      ]),
    );
  if (rows.length)
    out.push('', tableHeader(['ID', 'Packages', 'Images', 'Statement', 'Justification']), ...rows);
  if (rows.length < applied.length)
    out.push('', `…and ${applied.length - rows.length} more in the results file.`);
  if (unused.length) {
    const unusedRows = unused
      .slice(0, maxRows)
      .map((u) => tableRow([codeSpan(u.id, { inTable: true }), escapeText(u.source)]));
    out.push(
      '',
      `**Matched nothing** — ${plural(unused.length, 'statement')} named no finding of a scanned image (check the product: \`pkg:oci\` purl, repository or digest, and package purls):`,
    );
    if (unusedRows.length) out.push('', tableHeader(['ID', 'Statement']), ...unusedRows);
    if (unusedRows.length < unused.length)
      out.push('', `…and ${unused.length - unusedRows.length} more in the results file.`);
  }
  return out.join('\n');
}

/** One line for the PR comment: how many findings VEX suppressed, and which IDs. */
export function vexCommentLine(verdict: Verdict | undefined, maxIds: number): string {
  const applied = verdict ? appliedStatements(verdict) : [];
  if (applied.length === 0) return '';
  const suppressed = verdict!.ignored.filter((i) => i.vex).length;
  const ids = [...new Set(applied.map((a) => a.id))];
  const shown = ids.slice(0, maxIds).map((id) => codeSpan(id));
  const more = ids.length > shown.length ? ` and ${ids.length - shown.length} more` : '';
  const list = shown.length ? ` (${shown.join(', ')}${more})` : '';
  return `**VEX**: ${plural(suppressed, 'finding')} suppressed as not affected or fixed${list}; justifications in the job summary.`;
}
