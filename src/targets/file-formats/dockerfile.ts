import type { Origin } from '../../model.js';
import type { FileFindings } from './found-reference.js';
import { referencedVariables, substituteVariables, type VariableLookup } from './variables.js';

// Base images of a Dockerfile / Containerfile: every `FROM` that names an image (not an earlier stage, not
// `scratch`). Follows BuildKit's rules: parser directives (`# escape=`), comments, line continuations,
// case-insensitive instructions, and FROM sees only the ARGs declared before the first FROM. Pure.

/** Set by BuildKit from the build's platforms; their value is not known from the file. */
const PLATFORM_ARGS = new Set([
  'BUILDPLATFORM',
  'BUILDOS',
  'BUILDARCH',
  'BUILDVARIANT',
  'TARGETPLATFORM',
  'TARGETOS',
  'TARGETARCH',
  'TARGETVARIANT',
]);

interface Segment {
  /** Offset of this physical line's text in the joined instruction. */
  offset: number;
  line: number; // 1-based
  column: number; // 1-based column of the segment's first character
}

interface Instruction {
  text: string;
  segments: Segment[];
}

/** Is this file name a Dockerfile? `Dockerfile`, `Containerfile`, `*.Dockerfile`, `Dockerfile.*` (any case). */
export function isDockerfileName(basename: string): boolean {
  const name = basename.toLowerCase();
  if (name.endsWith('.dockerignore') || name.endsWith('.containerignore')) return false;
  return (
    name === 'dockerfile' ||
    name === 'containerfile' ||
    name.endsWith('.dockerfile') ||
    name.endsWith('.containerfile') ||
    name.startsWith('dockerfile.') ||
    name.startsWith('containerfile.')
  );
}

export function parseDockerfile(text: string, file: string): FileFindings {
  const findings: FileFindings = { found: [], unresolved: [] };
  const { instructions, escape } = splitInstructions(text);
  const globalArgs = new Map<string, string | undefined>();
  const stageArgs = new Set<string>();
  const stages = new Set<string>();
  let seenFrom = false;

  for (const ins of instructions) {
    const m = /^\s*([A-Za-z]+)(\s+|$)/.exec(ins.text);
    if (!m) continue;
    const keyword = m[1].toUpperCase();
    const argsOffset = m[0].length;
    if (keyword === 'ARG') {
      for (const { name, value } of parseArgDeclarations(ins.text.slice(argsOffset))) {
        if (seenFrom) {
          stageArgs.add(name);
          continue;
        }
        const resolved =
          value === undefined ? undefined : substituteVariables(value, lookupIn(globalArgs), { escape });
        globalArgs.set(name, resolved?.ok ? resolved.value : undefined);
      }
      continue;
    }
    if (keyword !== 'FROM') continue;
    seenFrom = true;

    const tokens = [...ins.text.slice(argsOffset).matchAll(/\S+/g)].map((t) => ({
      text: t[0],
      offset: argsOffset + t.index,
    }));
    let platform: string | undefined;
    while (tokens[0]?.text.startsWith('--')) {
      const flag = tokens.shift()!.text;
      const pm = /^--platform=(.+)$/i.exec(flag);
      if (pm) platform = fixedPlatform(pm[1], globalArgs, escape);
    }
    const imageToken = tokens[0];
    if (!imageToken) continue;
    const stageName = tokens[1]?.text.toLowerCase() === 'as' ? tokens[2]?.text.toLowerCase() : undefined;
    const origin = originAt(file, ins.segments, imageToken.offset);
    const written = imageToken.text;
    const substituted = substituteVariables(written, lookupIn(globalArgs), { escape });
    if (!substituted.ok) {
      findings.unresolved.push({
        text: written,
        reason: whyUnresolved(substituted.variable, substituted.reason, globalArgs, stageArgs),
        origin,
      });
    } else {
      const image = substituted.value;
      // Only EARLIER stages count: `FROM alpine AS alpine` still names the image.
      if (image.toLowerCase() !== 'scratch' && !stages.has(image.toLowerCase())) {
        findings.found.push({ image, origin, ...(platform ? { platform } : {}) });
      }
    }
    if (stageName) stages.add(stageName);
  }
  return findings;
}

/** Joins continuation lines, drops comments and blank lines, and reads the `escape` parser directive. */
function splitInstructions(text: string): { instructions: Instruction[]; escape: string } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let escape = '\\';
  let index = 0;
  // Parser directives: `# name=value` lines at the very top, before any comment, blank line or instruction.
  for (; index < lines.length; index++) {
    const d = /^\s*#\s*([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(\S*)\s*$/.exec(lines[index]);
    if (!d) break;
    if (d[1].toLowerCase() === 'escape' && (d[2] === '`' || d[2] === '\\')) escape = d[2];
  }
  const instructions: Instruction[] = [];
  let current: Instruction | undefined;
  for (; index < lines.length; index++) {
    const raw = lines[index];
    const trimmed = raw.trimStart();
    if (trimmed.startsWith('#')) continue; // comments, also between continued lines
    if (trimmed === '' && !current) continue;
    const column = raw.length - trimmed.length + 1;
    let body = trimmed.trimEnd();
    const continues = body.endsWith(escape);
    if (continues) body = body.slice(0, -1);
    current ??= { text: '', segments: [] };
    current.segments.push({ offset: current.text.length, line: index + 1, column });
    current.text += body;
    if (!continues) {
      instructions.push(current);
      current = undefined;
    }
  }
  if (current) instructions.push(current);
  return { instructions, escape };
}

/** `ARG A B=1 C="two words"` → declarations in order. */
function parseArgDeclarations(rest: string): { name: string; value?: string }[] {
  const out: { name: string; value?: string }[] = [];
  for (const m of rest.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?:=("[^"]*"|'[^']*'|\S*))?/g)) {
    const raw = m[2];
    const value = raw !== undefined && /^(["']).*\1$/.test(raw) ? raw.slice(1, -1) : raw;
    out.push({ name: m[1], ...(value !== undefined ? { value } : {}) });
  }
  return out;
}

function lookupIn(args: Map<string, string | undefined>): VariableLookup {
  return (name) => args.get(name);
}

/** A `--platform` value kept only when the file fixes it; `$BUILDPLATFORM` and friends depend on the build. */
function fixedPlatform(
  value: string,
  globalArgs: Map<string, string | undefined>,
  escape: string,
): string | undefined {
  if (referencedVariables(value).some((v) => PLATFORM_ARGS.has(v))) return undefined;
  const s = substituteVariables(value, lookupIn(globalArgs), { escape });
  if (!s.ok) return undefined;
  return /^[a-z0-9_-]+\/[a-z0-9_-]+(\/[a-z0-9_.-]+)?$/i.test(s.value) ? s.value.toLowerCase() : undefined;
}

function whyUnresolved(
  variable: string,
  reason: string,
  globalArgs: Map<string, string | undefined>,
  stageArgs: Set<string>,
): string {
  if (PLATFORM_ARGS.has(variable)) return `depends on the build platform ($${variable})`;
  if (globalArgs.has(variable)) return `ARG ${variable} has no default value`;
  if (stageArgs.has(variable)) {
    return `ARG ${variable} is declared inside a stage; FROM only sees ARGs declared before the first FROM`;
  }
  if (reason.startsWith(`$${variable} has no value`))
    return `$${variable} is not declared with ARG before the first FROM`;
  return reason;
}

function originAt(file: string, segments: Segment[], offset: number): Origin {
  let seg = segments[0];
  for (const s of segments) if (s.offset <= offset) seg = s;
  return { file, line: seg.line, column: seg.column + (offset - seg.offset) };
}
