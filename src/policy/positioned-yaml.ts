import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { ConfigurationError, excerpt, firstLineOf } from '../errors.js';

// YAML files the user writes (the policy file, .trivyignore.yaml) are validated by a zod schema, and every
// complaint is mapped back to the YAML node it is about, so the message names file:line:col, the key and what is
// allowed. Unknown keys are refused: a typo must never silently weaken the gate.

/** What a field accepts, for messages: `"x" is not <expected> (use <use>)`. */
export interface FieldHint {
  expected: string;
  use: string;
}

export interface YamlSchemaSpec<T> {
  schema: z.ZodType<T>;
  /**
   * Hints keyed by path pattern: object keys joined by `.`, list items as `[]` (`ignore[].expires`). A trailing
   * `*` stands for any key (`max.*`). The root is ''.
   */
  hints: Record<string, FieldHint>;
  /** Allowed keys of every strict mapping, keyed by the same path patterns. */
  keys: Record<string, readonly string[]>;
  /** The input to name in errors (ConfigurationError.input). */
  input: string;
}

export interface PositionedYaml<T> {
  value: T;
  /** 1-based line of the node at `path` (a list item, a key's value), for `file:line` sources. */
  lineOf: (path: readonly (string | number)[]) => number;
}

type PathSegment = PropertyKey;

/** Nodes an alias may expand to (the yaml package's guard against exponential expansion); policies need few. */
const MAX_ALIAS_COUNT = 1000;

/** Parses and validates; throws one ConfigurationError listing every problem, each with file:line:col. */
export function parseYamlWithSchema<T>(
  text: string,
  file: string,
  spec: YamlSchemaSpec<T>,
): PositionedYaml<T> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };

  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const offset = e.pos[0];
      const what =
        e.code === 'DUPLICATE_KEY'
          ? duplicateKeyMessage(text, offset)
          : `YAML syntax error: ${firstLineOf(e.message, 80)}`;
      return { offset, line: `${at(offset)}: ${what}` };
    });
    throw refusal(file, problems, spec.input);
  }

  let raw: unknown;
  try {
    raw = doc.contents === null ? {} : doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    // "Billion laughs": a few lines of anchors and aliases that expand to gigabytes. No policy needs that.
    if (e instanceof ReferenceError && /alias/i.test(e.message)) {
      throw new ConfigurationError(
        `${file}: too many YAML alias expansions (the limit is ${MAX_ALIAS_COUNT}, against "billion laughs"); ` +
          'write the entries out instead of repeating them through aliases.',
        spec.input,
      );
    }
    throw e;
  }
  const parsed = spec.schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.flatMap((issue) => describeIssue(issue, doc, spec, at));
    throw refusal(file, problems, spec.input);
  }

  return {
    value: parsed.data,
    lineOf: (path) => {
      const node = nearestNode(doc, path);
      return lineCounter.linePos(node?.range?.[0] ?? 0).line;
    },
  };
}

function refusal(
  file: string,
  problems: { offset: number; line: string }[],
  input: string,
): ConfigurationError {
  const lines = [...problems].sort((a, b) => a.offset - b.offset).map((p) => p.line);
  const unique = [...new Set(lines)];
  const heading = unique.length === 1 ? '' : `${file}: ${unique.length} problems\n`;
  return new ConfigurationError(heading + unique.join('\n'), input);
}

function duplicateKeyMessage(text: string, offset: number): string {
  const key = /^["']?([^"':\n]+)/.exec(text.slice(offset))?.[1]?.trim();
  return key
    ? `duplicate key ${excerpt(key)} (each key may appear once)`
    : 'duplicate key (each key may appear once)';
}

function describeIssue<T>(
  issue: z.core.$ZodIssue,
  doc: Document,
  spec: YamlSchemaSpec<T>,
  at: (offset: number) => string,
): { offset: number; line: string }[] {
  const path = issue.path;
  if (issue.code === 'invalid_union') {
    // `x: string | string[]`: when the value has the right shape (a list) but an item is wrong, report the item.
    const shapeMatched = issue.errors.find(
      (branch) => branch.length > 0 && branch.every((e) => e.path.length > 0),
    );
    if (shapeMatched) {
      return shapeMatched.flatMap((e) => describeIssue({ ...e, path: [...path, ...e.path] }, doc, spec, at));
    }
  }
  const label = formatPath(path);
  const prefix = label ? `${label}: ` : '';

  if (issue.code === 'unrecognized_keys') {
    const parent = doc.getIn(path, true) as Node | undefined;
    const allowed = spec.keys[pathPattern(path)] ?? [];
    return issue.keys.map((key) => {
      const offset = keyOffset(parent, key) ?? parent?.range?.[0] ?? 0;
      const suggestion = closest(key, allowed);
      const hint = suggestion ? `did you mean "${suggestion}"? ` : '';
      return {
        offset,
        line: `${at(offset)}: ${prefix}unknown key ${excerpt(key)} (${hint}allowed: ${allowed.join(', ')})`,
      };
    });
  }

  const node = doc.getIn(path, true) as Node | undefined;
  const hint = hintFor(spec.hints, path);
  if (node === undefined && !hasPath(doc, path)) {
    // A required key is missing: point at the mapping that should hold it.
    const parent = nearestNode(doc, path.slice(0, -1));
    const offset = parent?.range?.[0] ?? 0;
    const key = String(path[path.length - 1]);
    const parentLabel = formatPath(path.slice(0, -1));
    const use = hint ? ` (use ${hint.use})` : '';
    return [
      { offset, line: `${at(offset)}: ${parentLabel ? `${parentLabel}: ` : ''}missing key "${key}"${use}` },
    ];
  }

  const offset = node?.range?.[0] ?? nearestNode(doc, path)?.range?.[0] ?? 0;
  const shown = showValue(node);
  if (hint) {
    return [{ offset, line: `${at(offset)}: ${prefix}${shown} is not ${hint.expected} (use ${hint.use})` }];
  }
  return [{ offset, line: `${at(offset)}: ${prefix}${shown} is not allowed (${issue.message})` }];
}

/** `ignore[1].expires`, `images[0].max.high`; '' for the root. */
function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

function pathPattern(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += '[]';
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

function hintFor(hints: Record<string, FieldHint>, path: readonly PathSegment[]): FieldHint | undefined {
  const exact = hints[pathPattern(path)];
  if (exact) return exact;
  if (path.length > 0 && typeof path[path.length - 1] !== 'number') {
    const parent = pathPattern(path.slice(0, -1));
    return hints[parent ? `${parent}.*` : '*'];
  }
  return undefined;
}

function hasPath(doc: Document, path: readonly PathSegment[]): boolean {
  return path.length === 0 || doc.hasIn(path);
}

function nearestNode(doc: Document, path: readonly PathSegment[]): Node | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = (n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true)) as Node | null | undefined;
    if (node?.range) return node;
  }
  return undefined;
}

function keyOffset(parent: Node | undefined, key: string): number | undefined {
  if (!isMap(parent)) return undefined;
  for (const pair of parent.items) {
    const k = pair.key;
    if (isScalar(k) && String(k.value) === key) return k.range?.[0];
  }
  return undefined;
}

function showValue(node: Node | undefined): string {
  if (node === undefined) return 'an empty value';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    if (node.value === null) return 'an empty value';
    if (typeof node.value === 'string') return excerpt(node.value);
    if (typeof node.value === 'number' || typeof node.value === 'boolean') return String(node.value);
    return excerpt(String(JSON.stringify(node.toJSON())));
  }
  return 'this value';
}

/** The allowed key a typo most likely meant (edit distance ≤ 2, or same letters with `_` for `-`). */
function closest(key: string, allowed: readonly string[]): string | undefined {
  const normal = key.toLowerCase().replace(/_/g, '-');
  let best: { key: string; distance: number } | undefined;
  for (const candidate of allowed) {
    const d = editDistance(normal, candidate);
    if (d <= 2 && (!best || d < best.distance)) best = { key: candidate, distance: d };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}
