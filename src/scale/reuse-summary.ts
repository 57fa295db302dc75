import type { ImageResult } from '../model.js';

// `cache-results`: the job summary says which images were not scanned in this run but taken from earlier results
// (the Actions cache or `reports`), so a reader knows those findings are as of the DB build they were scanned with.
// Pure: markdown from the merged images.

/** Images listed by name; past this the rest are counted (the summary must stay under GitHub's 1 MiB). */
const MAX_LISTED = 200;

export function reusedImagesSection(images: readonly ImageResult[]): string | undefined {
  const reused = images.filter((i) => i.status === 'reused');
  if (reused.length === 0) return undefined;
  const lines = [
    `### Reused results (${reused.length})`,
    '',
    'Not scanned in this run: each digest was already scanned with the same Trivy version and vulnerability DB ' +
      'build (`cache-results`), so its findings come from those earlier results.',
    '',
    ...reused.slice(0, MAX_LISTED).map((i) => {
      const facts = [
        i.digest ? `\`${i.digest.slice(0, 19)}\`` : undefined,
        i.trivyVersion ? `Trivy ${i.trivyVersion}` : undefined,
        i.dbUpdatedAt ? `DB ${i.dbUpdatedAt}` : undefined,
      ].filter(Boolean);
      return `- \`${i.target.ref}\`${facts.length ? ` — ${facts.join(', ')}` : ''}`;
    }),
  ];
  if (reused.length > MAX_LISTED)
    lines.push(`- …and ${reused.length - MAX_LISTED} more (see the results file)`);
  return lines.join('\n');
}
