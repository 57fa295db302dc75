import type { BaseImageAdvice } from '../model.js';
import { displayRef } from '../targets/reference.js';
import { codeSpan, plural } from './markdown.js';

// Base image advice as a GitHub suggested change: a review comment on the FROM line whose ```suggestion block is
// that line with exactly the tag replaced. Pure: the line's text comes from the pull request's own diff.

/** The hidden marker of these review comments: a rerun finds its own and does not post them twice. */
export const SUGGESTION_MARKER = '<!-- image-scan-gate:base-image -->';

/** The new side's lines a pull request's patch shows (added and context), by line number: only those take comments. */
export function rightSideLines(patch: string): Map<number, string> {
  const lines = new Map<number, string>();
  let next: number | undefined;
  for (const raw of patch.split('\n')) {
    const hunk = /^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(raw);
    if (hunk) {
      next = Number(hunk[1]);
      continue;
    }
    if (next === undefined || raw.startsWith('-') || raw.startsWith('\\')) continue;
    if (raw.startsWith('+') || raw.startsWith(' ')) lines.set(next++, raw.slice(1).replace(/\r$/, ''));
  }
  return lines;
}

/**
 * The FROM line with the image's tag replaced by the recommended one — or undefined when the line does not name
 * the image with that tag as written (a variable, a digest, another image): a suggestion must change only the tag.
 */
export function suggestedFromLine(line: string, advice: BaseImageAdvice): string | undefined {
  if (!advice.recommended) return undefined;
  // FROM [--flag=value ...] image [AS name]: the image is the first word that is not a flag.
  const m = /^(\s*FROM\s+(?:--\S+\s+)*)(\S+)(.*)$/i.exec(line);
  if (!m) return undefined;
  const [, head, image, rest] = m;
  const suffix = `:${advice.tag}`;
  if (!image.endsWith(suffix) || image.includes('$') || image.includes('@')) return undefined;
  return `${head}${image.slice(0, -suffix.length)}:${advice.recommended.tag}${rest}`;
}

export function renderSuggestion(advice: BaseImageAdvice, newLine: string): string {
  const rec = advice.recommended!;
  const scanned = advice.candidates.filter((c) => c.status === 'scanned').length;
  // A fence longer than any run of backticks in the line, so the line cannot close it.
  const longest = Math.max(0, ...(newLine.match(/`+/g) ?? []).map((r) => r.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return [
    SUGGESTION_MARKER,
    `**Base image advice:** ${codeSpan(displayRef(rec))} has ${fewer(rec.removed.critical, 'critical')} and ` +
      `${fewer(rec.removed.high, 'high')} findings than ${codeSpan(displayRef(advice))} ` +
      `(scanned ${plural(scanned, 'newer tag')} on its track).`,
    '',
    `${fence}suggestion`,
    newLine,
    fence,
  ].join('\n');
}

function fewer(n: number, what: string): string {
  return n >= 0 ? `${n} fewer ${what}` : `${-n} more ${what}`;
}
