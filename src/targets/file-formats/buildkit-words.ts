import { RE2JS } from 're2js';
import type { VariableLookup } from './variables.js';

// Word expansion as BuildKit's Dockerfile shell lexer does it (frontend/dockerfile/shell), for FROM and ARG:
// quotes are removed ('…' literal, "…" with `$` expansion), the escape character escapes the next character,
// and `$VAR`, `${VAR}`, `${VAR:-w}`, `${VAR-w}`, `${VAR:+w}`, `${VAR+w}`, `${VAR:?m}`, `${VAR?m}`, `${VAR#p}`,
// `${VAR##p}`, `${VAR%p}`, `${VAR%%p}`, `${VAR/p/r}` and `${VAR//p/r}` are expanded. One deliberate difference:
// BuildKit expands an unset variable to "" (and then fails or pulls the wrong image); here it makes the word
// unresolved, so the reference is listed rather than guessed. Pure.

export type WordExpansion = { ok: true; value: string } | { ok: false; variable: string; reason: string };

/** Thrown inside the lexer only, caught by expandBuildkitWord. */
class Unresolved extends Error {
  constructor(
    readonly variable: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** Expands one Dockerfile word (a FROM argument, an ARG default). */
export function expandBuildkitWord(word: string, lookup: VariableLookup, escape = '\\'): WordExpansion {
  try {
    return { ok: true, value: new WordLexer(word, lookup, escape).all() };
  } catch (e) {
    if (e instanceof Unresolved) return { ok: false, variable: e.variable, reason: e.reason };
    throw e;
  }
}

/** Splits an instruction's arguments into words as BuildKit does (whitespace outside quotes and escapes). */
export function splitBuildkitWords(text: string, escape = '\\'): { text: string; offset: number }[] {
  const words: { text: string; offset: number }[] = [];
  let start = -1;
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (start < 0) {
      if (/\s/.test(c)) continue;
      start = i;
    }
    if (quote) {
      if (c === escape && quote === '"') i++;
      else if (c === quote) quote = undefined;
    } else if (c === escape) i++;
    else if (c === '"' || c === "'") quote = c;
    else if (/\s/.test(c)) {
      words.push({ text: text.slice(start, i), offset: start });
      start = -1;
    }
  }
  if (start >= 0) words.push({ text: text.slice(start), offset: start });
  return words;
}

class WordLexer {
  private i = 0;
  /** Inside the word of `${A:-word}` the word may go unused: its first unresolved variable waits here. */
  private lenient = 0;
  private pending: Unresolved | undefined;

  constructor(
    private readonly src: string,
    private readonly lookup: VariableLookup,
    private readonly escape: string,
  ) {}

  all(): string {
    return this.until(undefined, false);
  }

  private peek(): string | undefined {
    return this.src[this.i];
  }

  private next(): string | undefined {
    return this.src[this.i++];
  }

  private syntax(message: string): never {
    throw new Unresolved(this.src, `not a valid Dockerfile word (${message})`);
  }

  private unresolved(variable: string, reason: string): string {
    const failure = new Unresolved(variable, reason);
    if (this.lenient === 0) throw failure;
    this.pending ??= failure;
    return '';
  }

  /** Reads up to `stop` (consumed) or the end. `rawEscapes` keeps escape characters (patterns need them). */
  private until(stop: string | undefined, rawEscapes: boolean): string {
    let out = '';
    while (this.i < this.src.length) {
      const c = this.peek()!;
      if (stop !== undefined && c === stop) {
        this.i++;
        return out;
      }
      if (c === '$') out += this.dollar();
      else if (c === "'") out += this.singleQuoted();
      else if (c === '"') out += this.doubleQuoted(rawEscapes);
      else {
        this.i++;
        if (c === this.escape) {
          if (rawEscapes) out += c;
          const escaped = this.next();
          if (escaped === undefined) break;
          out += escaped;
        } else out += c;
      }
    }
    if (stop !== undefined) this.syntax(`missing '${stop}'`);
    return out;
  }

  private singleQuoted(): string {
    this.i++;
    const end = this.src.indexOf("'", this.i);
    if (end < 0) this.syntax('unterminated single quote');
    const text = this.src.slice(this.i, end);
    this.i = end + 1;
    return text;
  }

  private doubleQuoted(rawEscapes: boolean): string {
    this.i++;
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.syntax('unterminated double quote');
      if (c === '"') {
        this.i++;
        return out;
      }
      if (c === '$') {
        out += this.dollar();
        continue;
      }
      this.i++;
      if (c === this.escape) {
        if (rawEscapes) out += c;
        const n = this.peek();
        if (n === undefined) continue;
        if (n === '"' || n === '$' || n === this.escape) {
          out += n;
          this.i++;
          continue;
        }
      }
      out += c;
    }
  }

  private name(): string {
    const rest = this.src.slice(this.i);
    // BuildKit reads a leading digit run or one special parameter, else letters, digits and `_`.
    const name = /^(?:[0-9]+|[@*#?\-$!]|[\p{L}\p{N}_]+)/u.exec(rest)?.[0] ?? '';
    this.i += name.length;
    return name;
  }

  private value(name: string): string | undefined {
    return this.lookup(name);
  }

  private dollar(): string {
    this.i++;
    if (this.peek() !== '{') {
      const name = this.name();
      if (name === '') return '$';
      return this.value(name) ?? this.unresolved(name, `$${name} has no value`);
    }
    this.i++;
    const first = this.peek();
    if (first === undefined) this.syntax("missing '}'");
    if (first === '{' || first === '}' || first === ':') this.syntax('bad substitution');
    const name = this.name();
    let op = this.next();
    if (op === '}') return this.value(name) ?? this.unresolved(name, `$${name} has no value`);
    let nullIsUnset = false;
    if (op === ':') {
      nullIsUnset = true;
      op = this.next();
    }
    const value = this.value(name);
    const unsetOrEmpty = value === undefined || (nullIsUnset && value === '');
    switch (op) {
      case '-':
      case '+': {
        const word = this.deferred(() => this.until('}', false));
        const useWord = op === '-' ? unsetOrEmpty : !unsetOrEmpty;
        if (!useWord) return op === '-' ? value! : '';
        return word.failure ? this.unresolved(word.failure.variable, word.failure.reason) : word.text;
      }
      case '?': {
        const message = this.until('}', false);
        if (value !== undefined && !unsetOrEmpty) return value;
        const why =
          message || (value === undefined ? 'is not allowed to be unset' : 'is not allowed to be empty');
        return this.unresolved(name, `$${name} is required (${why})`);
      }
      case '#':
      case '%': {
        if (nullIsUnset) this.syntax(`unsupported modifier (:${op}) in substitution`);
        let pattern = this.until('}', true);
        if (value === undefined) return this.unresolved(name, `$${name} has no value`);
        const greedy = pattern.startsWith(op);
        if (greedy) pattern = pattern.slice(1);
        return op === '#' ? trimPrefix(pattern, value, greedy) : trimSuffix(pattern, value, greedy);
      }
      case '/': {
        if (nullIsUnset) this.syntax('unsupported modifier (:/) in substitution');
        const all = this.peek() === '/';
        if (all) this.i++;
        const pattern = this.until('/', true);
        const replacement = this.until('}', true);
        if (value === undefined) return this.unresolved(name, `$${name} has no value`);
        const matcher = shellPattern(pattern, true, false).matcher(value);
        if (all) return matcher.replaceAll(RE2JS.quoteReplacement(replacement));
        return matcher.find()
          ? value.slice(0, matcher.start()) + replacement + value.slice(matcher.end())
          : value;
      }
      default:
        return this.syntax(`unsupported modifier (${nullIsUnset ? ':' : ''}${op ?? ''}) in substitution`);
    }
  }

  private deferred(read: () => string): { text: string; failure?: Unresolved } {
    const outer = this.pending;
    this.pending = undefined;
    this.lenient++;
    try {
      const text = read();
      return { text, ...(this.pending ? { failure: this.pending } : {}) };
    } finally {
      this.lenient--;
      this.pending = outer;
    }
  }
}

/**
 * A shell pattern (`*`, `?`, `\` escapes; no brackets, as in BuildKit) as an RE2 expression: patterns come from
 * repository files, and RE2 matches in linear time whatever they hold.
 */
function shellPattern(pattern: string, greedy: boolean, anchored: boolean): RE2JS {
  let out = anchored ? '^' : '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') out += greedy ? '.*' : '.*?';
    else if (c === '?') out += '.';
    else if (c === '\\') {
      const n = pattern[i + 1];
      // `\}` and `\/` only protect the `${…}` syntax; other escapes make the character literal.
      if (n === undefined) out += '\\\\';
      else {
        out += RE2JS.quote(n);
        i++;
      }
    } else out += RE2JS.quote(c);
  }
  return RE2JS.compile(out, RE2JS.DOTALL);
}

function trimPrefix(pattern: string, value: string, greedy: boolean): string {
  const m = shellPattern(pattern, greedy, true).matcher(value);
  return m.find() ? value.slice(m.end()) : value;
}

/** Shortest/longest rightmost match: reverse both and trim a prefix, as BuildKit does. */
function trimSuffix(pattern: string, value: string, greedy: boolean): string {
  const reversed = reverse(value);
  return reverse(trimPrefix(reversePattern(pattern), reversed, greedy));
}

function reverse(text: string): string {
  return [...text].reverse().join('');
}

/** Reverses a pattern keeping each `\x` escape pair in order. */
function reversePattern(pattern: string): string {
  const tokens: string[] = [];
  const chars = [...pattern];
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] === '\\' && i < chars.length - 1) {
      tokens.push(chars[i] + chars[i + 1]);
      i++;
    } else tokens.push(chars[i]);
  }
  return tokens.reverse().join('');
}
