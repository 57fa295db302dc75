import picomatch from 'picomatch';

const cache = new Map<string, (s: string) => boolean>();

/**
 * Globs on image names, package names and paths (picomatch): `/` separates segments, `*` stays within one
 * segment, `**` crosses them; dot files are not special. A pattern also matches itself literally, so names with
 * glob characters in them (`[`, `+`) still match when written out in full.
 */
export function globMatcher(pattern: string): (s: string) => boolean {
  let match = cache.get(pattern);
  if (!match) {
    const compiled = picomatch(pattern, { dot: true });
    match = (s: string) => s === pattern || compiled(s);
    cache.set(pattern, match);
  }
  return match;
}
