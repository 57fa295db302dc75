import { ConfigurationError } from '../errors.js';
import type { Target } from '../model.js';
import { formatRef, invalidReferenceMessage, tryParseImageReference } from './reference.js';

// The `images` input (split by inputs.ts `splitList`): references the user listed. Pure.

/**
 * Every entry parsed and normalised before any work: all bad entries are reported together in one
 * ConfigurationError, so the user fixes them in one go. Entries naming the same image are merged (scanned once).
 * With `fromPlan` (a shard of `mode: discover`), `repo:tag@digest` is a tag pinned by the plan: the image is named
 * `repo:tag`, as the single run names it, and scanned at exactly that digest.
 */
export function resolveListedTargets(
  entries: readonly string[],
  opts: { platform?: string; fromPlan?: boolean } = {},
): Target[] {
  const problems: string[] = [];
  const byRef = new Map<string, Target>();
  for (const entry of entries) {
    const parsed = tryParseImageReference(entry);
    if (!parsed.ok) {
      problems.push(invalidReferenceMessage(entry, parsed.reason));
      continue;
    }
    const { registry, repository, tag, digest } = parsed.value;
    const pinned = opts.fromPlan === true && tag !== undefined && digest !== undefined;
    const ref = pinned ? formatRef(registry, repository, tag) : parsed.value.ref;
    if (byRef.has(ref)) continue;
    byRef.set(ref, {
      ref,
      input: entry.trim(),
      registry,
      repository,
      ...(tag ? { tag } : {}),
      ...(digest ? { digest } : {}),
      ...(opts.platform ? { platform: opts.platform } : {}),
      ...(pinned && { pinned }),
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
