/**
 * A mistake the user can fix (a bad input, a malformed policy file, a missing report). Kept apart from bugs so
 * the message is shown as-is, without a stack, and names the input and the fix.
 */
export class ConfigurationError extends Error {
  constructor(
    message: string,
    readonly input?: string,
  ) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// Errors about files name the file, line and column; they never echo its content beyond a short excerpt of one line
// of a workspace file: the file is untrusted.
const EXCERPT_MAX_CHARS = 80;

/** The first line of `text`, cut to at most `max` characters (code points), ending with `…` when cut. */
export function firstLineOf(text: string, max: number): string {
  // Cut before splitting into code points: a one-line file of megabytes costs nothing here.
  const line = text.slice(0, 4 * max + 8).split(/\r\n|\r|\n/, 1)[0] ?? '';
  const points = Array.from(line);
  return points.length <= max ? line : `${points.slice(0, max - 1).join('')}…`;
}

/** One line of a workspace file for an error message: quoted, control characters escaped, at most 80 characters. */
export function excerpt(text: string): string {
  for (let max = EXCERPT_MAX_CHARS - 2; ; max--) {
    const quoted = JSON.stringify(firstLineOf(text, max));
    if (quoted.length <= EXCERPT_MAX_CHARS || max <= 2) return quoted;
  }
}

/**
 * Where `JSON.parse` stopped, without its message: Node quotes the input there ("root:x:0:0"... is not valid JSON),
 * and a file given to the action may hold anything.
 */
export function jsonSyntaxProblem(error: unknown, text: string): string {
  const position = /at position (\d+)/.exec(errorMessage(error))?.[1];
  if (position !== undefined) {
    const before = text.slice(0, Number(position)).split('\n');
    return `syntax error at line ${before.length}, column ${before[before.length - 1].length + 1}`;
  }
  if (text.trim() === '') return 'the file is empty';
  if (/unexpected end/i.test(errorMessage(error))) return 'it ends before the JSON does';
  return 'syntax error';
}
