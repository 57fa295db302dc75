import { ConfigurationError } from '../errors.js';
import type { Target } from '../model.js';
import { invalidReferenceMessage, tryParseImageReference } from './reference.js';

// The `images` input (split by inputs.ts `splitList`): references the user listed. Pure.

/**
 * Every entry parsed and normalised before any work: all bad entries are reported together in one
 * ConfigurationError, so the user fixes them in one go. Entries naming the same image are merged (scanned once).
 */
export function resolveListedTargets(entries: readonly string[], opts: { platform?: string } = {}): Target[] {
  const problems: string[] = [];
  const byRef = new Map<string, Target>();
  for (const entry of entries) {
    const parsed = tryParseImageReference(entry);
    if (!parsed.ok) {
      problems.push(invalidReferenceMessage(entry, parsed.reason));
      continue;
    }
    const { ref, registry, repository, tag, digest } = parsed.value;
    if (byRef.has(ref)) continue;
    byRef.set(ref, {
      ref,
      input: entry.trim(),
      registry,
      repository,
      ...(tag ? { tag } : {}),
      ...(digest ? { digest } : {}),
      ...(opts.platform ? { platform: opts.platform } : {}),
      origins: [],
      sources: ['listed'],
    });
  }
  if (problems.length === 1) throw new ConfigurationError(problems[0], 'images');
  if (problems.length > 1) {
    throw new ConfigurationError(
      `images: ${problems.length} entries are not valid image references:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      'images',
    );
  }
  return [...byRef.values()];
}
