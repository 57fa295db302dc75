import { ConfigurationError } from '../errors.js';
import { compileGlob } from '../targets/name-pattern.js';

const cache = new Map<string, (s: string) => boolean>();

/**
 * Globs on image names, package names and paths, from the policy and ignore files a pull request controls: compiled
 * to RE2 by the one home of name patterns (targets/name-pattern.ts), so no pattern can make matching backtrack.
 * `/` separates segments, `*` stays within one segment, `**` crosses them; dot files are not special. A pattern
 * also matches itself literally, so names with glob characters in them (`[`, `+`) still match when written out in
 * full; a pattern that is no supported glob (see globProblem, which the policy loader checks) matches only that way.
 */
export function globMatcher(pattern: string): (s: string) => boolean {
  let match = cache.get(pattern);
  if (!match) {
    let compiled: (s: string) => boolean = () => false;
    try {
      compiled = compileGlob(pattern, 'policy');
    } catch (e) {
      if (!(e instanceof ConfigurationError)) throw e;
    }
    match = (s: string) => s === pattern || compiled(s);
    cache.set(pattern, match);
  }
  return match;
}

/** Why `pattern` is no supported glob (a leading `!`, an extglob, an unclosed `[`/`{`), or undefined. */
export function globProblem(pattern: string): string | undefined {
  try {
    compileGlob(pattern, 'policy');
    return undefined;
  } catch (e) {
    if (!(e instanceof ConfigurationError)) throw e;
    return e.message.replace(/^`policy`: /, '');
  }
}
