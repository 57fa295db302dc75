import type { SkippedTarget, Target } from '../model.js';
import { codeSpan, escapeText, plural, shortDigest, tableHeader, tableRow } from './markdown.js';

// `mode: discover` scans nothing, so its job summary says what it found: the images (and how many tags share a
// digest), what was skipped and why, and how the images were dealt into shards. Pure; every name is escaped.

export interface DiscoverSummaryInput {
  images: readonly Target[];
  skipped: readonly SkippedTarget[];
  /** With `shards`: the plan id and the number of refs in each shard, in shard order. */
  shards?: { planId: string; sizes: readonly number[] };
}

/** Rows per table: a discover job may find thousands of tags; the `images` output has them all. */
const MAX_ROWS = 200;

export function renderDiscoverSummary(input: DiscoverSummaryInput): string {
  const { images, skipped, shards } = input;
  const unique = new Set(images.map((t) => t.digest ?? t.ref)).size;
  // Discovery folds the tags of one digest into one target (`tags`); listed images may still be separate targets.
  const tags = new Set(
    images.flatMap((t) => [t.ref, ...(t.tags ?? []).map((tag) => `${t.registry}/${t.repository}:${tag}`)]),
  ).size;
  const merged = tags - unique;
  const facts = [
    `${plural(unique, 'image')} to scan` +
      (merged > 0 ? ` (${plural(tags, 'tag')}; tags sharing a digest are scanned once)` : ''),
    ...(skipped.length ? [`${plural(skipped.length, 'image')} skipped`] : []),
    ...(shards ? [`${plural(shards.sizes.length, 'shard')} (plan ${codeSpan(shards.planId)})`] : []),
  ];
  const lines = ['## Image Scan Gate — discovered images', '', `${facts.join(', ')}.`];

  if (images.length > 0) {
    lines.push('', tableHeader(['Image', 'Digest', 'Found by']));
    for (const t of images.slice(0, MAX_ROWS)) {
      lines.push(
        tableRow([
          codeSpan(t.ref, { inTable: true }),
          t.digest ? codeSpan(shortDigest(t.digest), { inTable: true }) : '—',
          t.sources.join(', '),
        ]),
      );
    }
    if (images.length > MAX_ROWS)
      lines.push('', `…and ${images.length - MAX_ROWS} more in the \`images\` output.`);
  }
  if (skipped.length > 0) {
    lines.push('', '### Skipped', '', tableHeader(['Image', 'Why']));
    for (const s of skipped.slice(0, MAX_ROWS)) {
      lines.push(tableRow([codeSpan(s.ref, { inTable: true }), escapeText(s.reason)]));
    }
    if (skipped.length > MAX_ROWS) lines.push('', `…and ${skipped.length - MAX_ROWS} more.`);
  }
  if (shards && shards.sizes.length > 0) {
    lines.push('', '### Shards', '', tableHeader(['Shard', 'Images'], ['l', 'r']));
    for (const [i, size] of shards.sizes.entries()) lines.push(tableRow([String(i + 1), String(size)]));
  }
  return `${lines.join('\n')}\n`;
}
