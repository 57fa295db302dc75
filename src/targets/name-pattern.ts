import { RE2JS } from 're2js';
import { ConfigurationError } from '../errors.js';

// Patterns on repository and tag names from inputs: a glob, or a regular expression written `/…/flags`. Both are
// compiled to RE2 (re2js), which matches in time linear in the name, whatever the pattern: a JavaScript RegExp, or
// the RegExp a glob library builds (`*a*a*a*a*a*b` backtracks for seconds on a 60-character name), would let an
// input hang the step (every regular expression from an input must run in linear time). Pure.

export type NameMatcher = (name: string) => boolean;

/** `/body/flags`: the shape `splitList` keeps whole. */
const REGEX_LITERAL = /^\/(.+)\/([a-z]*)$/s;

/** JavaScript flags with an RE2 meaning; `g` and `u` change nothing for a yes/no match and are accepted. */
const FLAGS: Record<string, number> = {
  i: RE2JS.CASE_INSENSITIVE,
  m: RE2JS.MULTILINE,
  s: RE2JS.DOTALL,
  g: 0,
  u: 0,
};

/** Expanding `{a,b}` groups beyond this many alternatives is refused rather than built. */
const MAX_BRACE_EXPANSIONS = 256;

/** Compiles one filter entry; a pattern that cannot be compiled is a ConfigurationError naming `input`. */
export function compileNamePattern(entry: string, input: string): NameMatcher {
  const literal = REGEX_LITERAL.exec(entry);
  if (literal) return compileRegex(entry, literal[1], literal[2], input);
  const re = compileRe2(globToRe2(entry, input), 0, entry, input, 'glob');
  return (name) => re.testExact(name);
}

/**
 * A glob only (no `/regex/` form: a policy path glob may well start and end with `/`), for patterns read from a
 * repository's policy file; linear-time like the rest. A glob this module cannot compile is a ConfigurationError.
 */
export function compileGlob(glob: string, input: string): NameMatcher {
  const re = compileRe2(globToRe2(glob, input), 0, glob, input, 'glob');
  return (name) => re.testExact(name);
}

function compileRegex(entry: string, body: string, flags: string, input: string): NameMatcher {
  let mask = 0;
  for (const f of flags) {
    if (!(f in FLAGS)) {
      throw new ConfigurationError(
        `\`${input}\`: ${entry} has the flag "${f}"; a /regex/ takes the flags i, m and s.`,
        input,
      );
    }
    mask |= FLAGS[f];
  }
  const re = compileRe2(body, mask, entry, input, 'regex');
  return (name) => re.test(name);
}

function compileRe2(
  source: string,
  flags: number,
  entry: string,
  input: string,
  kind: 'regex' | 'glob',
): RE2JS {
  try {
    return RE2JS.compile(source, flags);
  } catch (e) {
    const reason = (e instanceof Error ? e.message : String(e)).replace(/^error parsing regexp: /, '');
    const fix =
      kind === 'regex'
        ? 'Patterns run on RE2, which has no backreferences (\\1) or lookaround ((?=…), (?!…), (?<=…)): ' +
          'rewrite the pattern without them, or use exclude-tags / exclude-repositories for the negative part.'
        : 'Fix the glob (escape a literal [ { or \\ with a backslash), or write a /regex/.';
    throw new ConfigurationError(
      `\`${input}\`: ${entry} is not a valid ${kind === 'regex' ? 'regular expression' : 'glob'} (${reason}). ${fix}`,
      input,
    );
  }
}

/**
 * A glob as an RE2 source, anchored: `*` any run within one `/`-separated part, `**` as a whole part any number
 * of parts (none included), `?` one character but `/`, `[…]`/`[!…]` a class, `{a,b}` alternatives, `\x` a
 * literal x. Dot names are not special. What a glob library would read as something else is refused: a leading
 * `!` (negation: use the exclude input), extglobs `@(…)`, `!(…)`, `+(…)`, `*(…)`, `?(…)`, an unclosed `[` or `{`.
 */
function globToRe2(glob: string, input: string): string {
  const refuse = (why: string, fix: string): never => {
    throw new ConfigurationError(`\`${input}\`: ${glob} is not a supported glob (${why}). ${fix}`, input);
  };
  if (glob.startsWith('!')) {
    refuse(
      'a leading ! negates',
      `Put the pattern in ${input.startsWith('exclude-') ? input.slice('exclude-'.length) : `exclude-${input}`} instead.`,
    );
  }
  if (/[@!+*?]\(/.test(glob)) refuse('extglobs like @(a|b) are not supported', 'Write a /regex/ instead.');
  const alternatives = expandBraces(glob, refuse);
  return `(?:${alternatives.map((g) => globBodyToRe2(g, refuse)).join('|')})`;
}

type Refuse = (why: string, fix: string) => never;

/** `{a,b}` groups (nested too) expanded into plain globs. */
function expandBraces(glob: string, refuse: Refuse): string[] {
  let open = -1;
  let depth = 0;
  const commas: number[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '\\') i++;
    else if (c === '{') {
      if (depth++ === 0) open = i;
    } else if (c === '}' && depth > 0) {
      if (--depth === 0) {
        const inner = glob.slice(open + 1, i);
        const parts = commas.map((at) => at - open - 1);
        const options = splitAt(inner, parts);
        const before = glob.slice(0, open);
        const after = expandBraces(glob.slice(i + 1), refuse);
        const out: string[] = [];
        for (const option of options.flatMap((o) => expandBraces(o, refuse))) {
          for (const tail of after) {
            out.push(before + option + tail);
            if (out.length > MAX_BRACE_EXPANSIONS)
              refuse(`its {…} groups expand to more than ${MAX_BRACE_EXPANSIONS} globs`, 'Write a /regex/.');
          }
        }
        return out;
      }
    } else if (c === ',' && depth === 1) commas.push(i);
  }
  if (depth > 0) refuse('a { is not closed', 'Close it, or escape a literal { as \\{.');
  return [glob];
}

function splitAt(text: string, positions: number[]): string[] {
  const out: string[] = [];
  let from = 0;
  for (const p of positions) {
    out.push(text.slice(from, p));
    from = p + 1;
  }
  out.push(text.slice(from));
  return out;
}

function globBodyToRe2(glob: string, refuse: Refuse): string {
  const parts = glob.split('/');
  let out = '';
  parts.forEach((part, index) => {
    const last = index === parts.length - 1;
    if (part === '**') {
      // a whole part: zero or more parts; `a/**` also matches `a`, `**/b` also matches `b`
      if (parts.length === 1) out += '.*';
      else if (index === 0) out += '(?:.*/)?';
      else if (last) out += '(?:/.*)?';
      else out += '/(?:.*/)?';
      return;
    }
    if (index > 0 && parts[index - 1] !== '**') out += '/';
    out += partToRe2(part, refuse);
  });
  return out;
}

function partToRe2(part: string, refuse: Refuse): string {
  let out = '';
  for (let i = 0; i < part.length; i++) {
    const c = part[i];
    if (c === '\\') {
      if (i + 1 >= part.length) refuse('it ends with a lone \\', 'Remove it, or write \\\\ for a backslash.');
      out += RE2JS.quote(part[++i]);
    } else if (c === '*') {
      while (part[i + 1] === '*') i++;
      out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const close = classEnd(part, i);
      if (close < 0) refuse('a [ is not closed', 'Close the class, or escape a literal [ as \\[.');
      out += classToRe2(part.slice(i + 1, close));
      i = close;
    } else out += RE2JS.quote(c);
  }
  return out;
}

/** Index of the `]` closing the class opened at `open` (a `]` first in the class is a member), or -1. */
function classEnd(part: string, open: number): number {
  let i = open + 1;
  if (part[i] === '!' || part[i] === '^') i++;
  if (part[i] === ']') i++;
  for (; i < part.length; i++) {
    if (part[i] === '\\') i++;
    else if (part[i] === '[' && part[i + 1] === ':') {
      const end = part.indexOf(':]', i + 2);
      if (end > 0) i = end + 1;
    } else if (part[i] === ']') return i;
  }
  return -1;
}

function classToRe2(body: string): string {
  let negate = false;
  let rest = body;
  if (rest.startsWith('!') || rest.startsWith('^')) {
    negate = true;
    rest = rest.slice(1);
  }
  // Members pass through (ranges, [:alpha:], escapes); a literal `^` or a leading `]` is escaped for RE2.
  const members = rest.replace(/^\]/, '\\]').replace(/(?<!\\)\^/g, '\\^');
  return `[${negate ? '^/' : ''}${members}]`;
}
