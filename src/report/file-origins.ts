import type { Origin } from '../model.js';
import { escapeText, tableHeader, tableRow, truncate } from './markdown.js';
import type { ImageView, SkippedView } from './view.js';

// Where the repository references an image, for the summary: `file:line`, and how a reference was rewritten before
// it was scanned (a Kustomize `images:` override). File names and notes come from the repository: escaped.

/** `deploy/app.yaml:7` (the first origin), `+ 2 more` when there are others. */
function whereText(origins: readonly Origin[] | undefined): string {
  const [first, ...more] = origins ?? [];
  if (!first) return '';
  return `${first.file}:${first.line}${more.length ? ` (+ ${more.length} more)` : ''}`;
}

/** The Where column of the Skipped table, escaped; empty when nothing skipped has an origin. */
export function skippedWhereCells(skipped: readonly SkippedView[]): string[] | undefined {
  if (!skipped.some((s) => s.origins?.length)) return undefined;
  return skipped.map((s) => escapeText(whereText(s.origins)));
}

/** Images whose reference was rewritten before it was scanned: which file line, and which override applied. */
export function rewrittenSection(images: readonly ImageView[], maxRows: number): string {
  const rows: string[][] = [];
  for (const image of images) {
    for (const origin of image.result.target.origins) {
      if (!origin.note) continue;
      rows.push([
        escapeText(image.ref),
        escapeText(`${origin.file}:${origin.line}`),
        escapeText(truncate(origin.note, 400)),
      ]);
    }
  }
  if (rows.length === 0 || maxRows <= 0) return '';
  const shown = rows.slice(0, maxRows);
  return [
    `### Rewritten references (${rows.length})`,
    '',
    tableHeader(['Image scanned', 'Written at', 'Rewritten by']),
    ...shown.map((r) => tableRow(r)),
    ...(shown.length < rows.length ? ['', `…and ${rows.length - shown.length} more.`] : []),
  ].join('\n');
}
