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
}

export function imageNames(
  target: Pick<Target, 'ref' | 'registry' | 'repository' | 'tag' | 'tags' | 'input'>,
): ImageNames {
  const names = new Set<string>();
  const add = (name: string | undefined) => {
    if (!name) return;
    names.add(name);
    names.add(shortName(name));
  };
  add(target.ref);
  if (target.registry && target.repository) {
    const repo = `${target.registry}/${target.repository}`;
    add(repo);
    for (const tag of [target.tag, ...(target.tags ?? [])]) if (tag) add(`${repo}:${tag}`);
  }
  add(target.input);
  return { ref: target.ref, names: [...names] };
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
