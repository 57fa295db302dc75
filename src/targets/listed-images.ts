import { ConfigurationError } from '../errors.js';
import type { Target } from '../model.js';
import {
  archiveRef,
  archiveRepository,
  parseListedEntry,
  type ImageSourceInput,
  type LocalPathRoots,
} from './local-images.js';
import { formatRef } from './reference.js';

// The `images` input (split by inputs.ts `splitList`): references the user listed. Pure.

/**
 * Every entry parsed and normalised before any work: all bad entries are reported together in one
 * ConfigurationError, so the user fixes them in one go. Entries naming the same image are merged (scanned once).
 * With `fromPlan` (a shard of `mode: discover`), `repo:tag@digest` is a tag pinned by the plan: the image is named
 * `repo:tag`, as the single run names it, and scanned at exactly that digest.
 */
export function resolveListedTargets(
  entries: readonly string[],
  opts: {
    platform?: string;
    fromPlan?: boolean;
    /** `image-source`: where unprefixed entries are read from (default auto: the registry). */
    imageSource?: ImageSourceInput;
    /** Where archives and layouts may be: without it, they are refused. */
    roots?: LocalPathRoots;
  } = {},
): Target[] {
  const problems: string[] = [];
  const byRef = new Map<string, Target>();
  const roots = opts.roots ?? { workspace: '/nonexistent', tempDir: '/nonexistent' };
  for (const entry of entries) {
    const parsed = parseListedEntry(entry, { imageSource: opts.imageSource ?? 'auto', roots });
    if (!parsed.ok) {
      problems.push(`images: ${parsed.reason}`);
      continue;
    }
    const listed = parsed.value;
    if (listed.kind === 'archive') {
      // Named by its own manifest before the scan (inspect-local-images.ts); until then, by the path given.
      const ref = archiveRef(listed.format, listed.shown);
      if (byRef.has(ref)) continue;
      byRef.set(ref, {
        ref,
        input: entry.trim(),
        registry: 'local',
        repository: archiveRepository(listed.path, roots),
        origins: [],
        sources: ['listed'],
        local: { kind: 'archive', format: listed.format, path: listed.path },
      });
      continue;
    }
    const { registry, repository, tag, digest } = listed.reference;
    const pinned = opts.fromPlan === true && tag !== undefined && digest !== undefined;
    const ref = pinned ? formatRef(registry, repository, tag) : listed.reference.ref;
    // The same name in a daemon and in the registry are two images.
    const key = listed.kind === 'daemon' ? `${listed.daemon}:${ref}` : ref;
    if (byRef.has(key)) continue;
    byRef.set(key, {
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
      ...(listed.kind === 'daemon' && { local: { kind: 'daemon' as const, daemon: listed.daemon } }),
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
