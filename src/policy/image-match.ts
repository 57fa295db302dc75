import { globMatcher } from './glob.js';
import type { Target } from '../model.js';

// Image globs (`images[].match`, an ignore's `images`) are matched against every name the image goes by:
//   - the normalised reference:            docker.io/library/nginx:1.25, ghcr.io/acme/api:1.2@sha256:...
//   - its short display form:              nginx:1.25 (docker.io/library/ and docker.io/ dropped)
//   - the repository without tag/digest:   docker.io/library/nginx, nginx, ghcr.io/acme/api
//   - each other tag sharing the digest, and what the user wrote.
// Globs use picomatch with `/` as the separator: `*` matches within one path segment, including the tag
// (`ghcr.io/acme/api*` matches ghcr.io/acme/api:1.2 and ghcr.io/acme/api-gateway:2 but not ghcr.io/acme/api/worker),
// `**` crosses segments (`ghcr.io/acme/**`). A pattern without a tag (`ghcr.io/acme/api`) matches every tag.

export interface ImageNames {
  /** The normalised ref, used in verdicts. */
  ref: string;
  names: string[];
  /** The normalised forms only (ref, repository, repository:tag), as the summary shows them. */
  fullNames: string[];
  /** What VEX products name an image by: `registry/repository`, its tags, its digests. */
  identity?: { repository: string; tags: string[]; digests: string[] };
}

export function imageNames(
  target: Pick<Target, 'ref' | 'registry' | 'repository' | 'tag' | 'tags' | 'input' | 'digest'>,
  scannedDigest?: string,
): ImageNames {
  const names = new Set<string>();
  const fullNames = new Set<string>();
  const add = (name: string | undefined, full = true) => {
    if (!name) return;
    names.add(name);
    names.add(shortName(name));
    if (full) fullNames.add(name);
  };
  add(target.ref);
  if (target.registry && target.repository) {
    const repo = `${target.registry}/${target.repository}`;
    add(repo);
    for (const tag of [target.tag, ...(target.tags ?? [])]) if (tag) add(`${repo}:${tag}`);
  }
  add(target.input, false);
  const identity = target.registry &&
    target.repository && {
      repository: `${target.registry}/${target.repository}`,
      tags: [target.tag, ...(target.tags ?? [])].filter((t): t is string => !!t),
      digests: [scannedDigest, target.digest].filter((d): d is string => !!d).map((d) => d.toLowerCase()),
    };
  return { ref: target.ref, names: [...names], fullNames: [...fullNames], ...(identity && { identity }) };
}

/** docker.io/library/nginx:1.25 -> nginx:1.25; docker.io/acme/app -> acme/app; others unchanged. */
export function shortName(ref: string): string {
  if (ref.startsWith('docker.io/library/')) return ref.slice('docker.io/library/'.length);
  if (ref.startsWith('docker.io/')) return ref.slice('docker.io/'.length);
  return ref;
}

export function imageMatches(pattern: string, image: ImageNames): boolean {
  return image.names.some(globMatcher(pattern));
}

/** Whether a pattern that matches the image does so only by a short or written form (`nginx*` for docker.io/library/nginx). */
export function matchesOnlyByShortName(pattern: string, image: ImageNames): string | undefined {
  const matches = globMatcher(pattern);
  if (image.fullNames.some(matches)) return undefined;
  return image.names.find(matches);
}

/**
 * For a pattern that matched no image: the Docker Hub spelling that would have matched one, if any. References are
 * normalised (`nginx` is docker.io/library/nginx, `index.docker.io/acme/app` is docker.io/acme/app), so patterns
 * written as `docker.io/nginx*`, `library/nginx*` or `index.docker.io/...` match nothing.
 */
export function suggestImagePattern(
  pattern: string,
  images: readonly ImageNames[],
): { pattern: string; example: string } | undefined {
  const rest = pattern.replace(/^(?:index\.docker\.io|registry-1\.docker\.io|docker\.io)\//, '');
  const candidates = [
    `docker.io/${rest}`,
    `docker.io/library/${rest.replace(/^library\//, '')}`,
    rest.replace(/^library\//, ''),
  ].filter((c) => c !== pattern);
  for (const candidate of candidates) {
    const matches = globMatcher(candidate);
    const image = images.find((i) => i.names.some(matches));
    if (image) return { pattern: candidate, example: image.ref };
  }
  return undefined;
}
