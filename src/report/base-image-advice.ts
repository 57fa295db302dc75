import type { BaseImageAdvice, FindingTally } from '../model.js';
import { displayRef } from '../targets/reference.js';
import { codeSpan, escapeText, plural, truncate } from './markdown.js';
import type { ReportView } from './view.js';

// Base image advice (targets/base-image-candidates.ts) as the job summary and the PR comment show it: one line per
// Dockerfile FROM image — "`node:20.11` → `node:20.14`: −3 critical, −5 high (scanned 3 newer tags)".

/** Characters of a ref shown: tags come from the registry, untrusted and unbounded. */
const REF_CHARS = 200;
const short = (text: string) => truncate(text.slice(0, 2 * REF_CHARS + 2), REF_CHARS);

export function baseImageAdviceSection(view: ReportView, maxImages: number): string {
  const advice = view.results.baseImageAdvice;
  if (!advice?.length) return '';
  const lines = [
    '**Base image advice** (newer tags on the same track, scanned for comparison; not gated)',
    '',
  ];
  for (const a of advice.slice(0, maxImages)) lines.push(`- ${adviceLine(a)}`);
  if (advice.length > maxImages)
    lines.push(`- …and ${plural(advice.length - maxImages, 'more image')} in the results file`);
  return lines.join('\n');
}

function adviceLine(a: BaseImageAdvice): string {
  const from = codeSpan(short(displayRef(a)));
  const scanned = a.candidates.filter((c) => c.status === 'scanned').length;
  const failed = a.candidates.length - scanned;
  const what = `scanned ${plural(scanned, 'newer tag')}${failed ? `, ${failed} failed` : ''}`;
  const where = a.origins[0] ? ` in ${escapeText(short(`${a.origins[0].file}:${a.origins[0].line}`))}` : '';
  if (!a.recommended) return `${from}${where}: no newer tag has fewer critical or high findings (${what})`;
  return `${from}${where} → ${codeSpan(short(displayRef(a.recommended)))}: ${removedText(a.recommended.removed)} (${what})`;
}

/** "−3 critical, −5 high", a count that goes up shown with "+". */
function removedText(removed: FindingTally): string {
  const signed = (n: number) => (n >= 0 ? `−${n}` : `+${-n}`);
  return `${signed(removed.critical)} critical, ${signed(removed.high)} high`;
}
