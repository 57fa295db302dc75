import { RE2JS } from 're2js';
import type { Origin } from '../../model.js';
import { expandBuildkitWord, splitBuildkitWords, type WordExpansion } from './buildkit-words.js';
import type { FileFindings } from './found-reference.js';

// Base images of a Dockerfile / Containerfile: every `FROM` that names an image (not an earlier stage, not
// `scratch`), with BuildKit's reading of the file: parser directives (`# escape=`), comments, line continuation
// (empty and comment lines inside it skipped; an escaped escape character does not continue), heredoc bodies
// (`RUN <<EOT`, several per instruction, `<<-`) that are text, not instructions, case-insensitive instructions,
// and FROM seeing only the ARGs declared before the first FROM plus BuildKit's automatic platform ARGs. Pure.
//
// Our own reader rather than `dockerfile-ast`: that parser continues a line ending in an escaped escape character
// (`RUN echo \\`), which BuildKit does not, and it gives no word expansion; what this file needs from a parser
// (lines, continuation, heredocs, directives) is small and tested against BuildKit's documented behaviour in
// __tests__/targets/dockerfile-buildkit-conformance.test.ts.

/** What the platform ARGs resolve to when the `platform` input is not set: GitHub's hosted runners. */
const DEFAULT_BUILD_PLATFORM = 'linux/amd64';

export interface DockerfileOptions {
  /** `os/arch[/variant]` the build targets (the `platform` input); TARGET* and BUILD* ARGs resolve from it. */
  platform?: string;
}

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

/** Extensions that make a `Dockerfile.*` name a document, a script or a template rather than a Dockerfile. */
const NOT_DOCKERFILE_EXTENSIONS = new Set([
  'md',
  'markdown',
  'txt',
  'rst',
  'adoc',
  'html',
  'htm',
  'pdf',
  'json',
  'yaml',
  'yml',
  'toml',
  'xml',
  'sh',
  'bash',
  'ps1',
  'py',
  'js',
  'ts',
  'go',
  'rb',
  'j2',
  'jinja',
  'jinja2',
  'tmpl',
  'tpl',
  'template',
  'mustache',
  'erb',
  'in',
  'orig',
  'bak',
  'rej',
  'swp',
  'patch',
  'diff',
  'lock',
  'log',
  'png',
  'svg',
]);

/**
 * Is this file name a Dockerfile? `Dockerfile`, `Containerfile`, `*.Dockerfile`, `Dockerfile.*` (any case), but not
 * `Dockerfile.5.md`, `Dockerfile.txt` or `Dockerfile.j2`: their last extension says they are something else.
 */
export function isDockerfileName(basename: string): boolean {
  const name = basename.toLowerCase();
  if (!looksLikeDockerfileName(name)) return false;
  const dot = name.lastIndexOf('.');
  if (dot < 0 || name.endsWith('.dockerfile') || name.endsWith('.containerfile')) return true;
  return !NOT_DOCKERFILE_EXTENSIONS.has(name.slice(dot + 1));
}

/** The name pattern alone (`Dockerfile.5.md` included): read as a Dockerfile when the user names the file exactly. */
export function looksLikeDockerfileName(basename: string): boolean {
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

/**
 * `linux/arm64/v8` → BuildKit's automatic platform ARGs (TARGETPLATFORM, TARGETOS, TARGETARCH, TARGETVARIANT and
 * the BUILD* four, build and target alike), which FROM sees without a declaration.
 */
function platformArgs(platform = DEFAULT_BUILD_PLATFORM): Map<string, string> {
  const [os = '', arch = '', variant = ''] = platform.split('/');
  const args = new Map<string, string>();
  for (const prefix of ['BUILD', 'TARGET']) {
    args.set(`${prefix}PLATFORM`, platform);
    args.set(`${prefix}OS`, os);
    args.set(`${prefix}ARCH`, arch);
    args.set(`${prefix}VARIANT`, variant);
  }
  return args;
}

/** A global ARG: its default when it has one, or why it has none. */
type GlobalArg = { value: string } | { problem: string };

export function parseDockerfile(text: string, file: string, options: DockerfileOptions = {}): FileFindings {
  const findings: FileFindings = { found: [], unresolved: [] };
  const { instructions, escape, unterminatedHeredoc } = splitInstructions(text);
  const globalArgs = new Map<string, GlobalArg>();
  const automatic = platformArgs(options.platform);
  const lookup = (name: string) => {
    const declared = globalArgs.get(name);
    if (declared && 'value' in declared) return declared.value;
    // `ARG TARGETARCH` without a value in the global scope keeps BuildKit's automatic value.
    return automatic.get(name);
  };
  const stageArgs = new Set<string>();
  const stages: string[] = [];
  let seenFrom = false;

  for (const ins of instructions) {
    const m = /^\s*([A-Za-z]+)(\s+|$)/.exec(ins.text);
    if (!m) continue;
    const keyword = m[1].toUpperCase();
    const argsOffset = m[0].length;
    if (keyword === 'ARG') {
      for (const { name, value } of parseArgDeclarations(ins.text.slice(argsOffset), escape)) {
        if (seenFrom) {
          stageArgs.add(name);
          continue;
        }
        // `ARG X` after `ARG X=1` keeps the default, as in BuildKit.
        if (value === undefined) {
          if (!globalArgs.has(name)) globalArgs.set(name, { problem: `ARG ${name} has no default value` });
          continue;
        }
        const expanded = expandBuildkitWord(value, lookup, escape);
        globalArgs.set(
          name,
          expanded.ok
            ? { value: expanded.value }
            : {
                problem: `the default of ARG ${name} cannot be resolved: ${reasonFor(expanded, globalArgs, stageArgs)}`,
              },
        );
      }
      continue;
    }
    if (keyword !== 'FROM') continue;
    seenFrom = true;

    // BuildKit splits FROM's arguments at whitespace, quotes or not (ARG's respect quotes).
    const tokens = [...ins.text.slice(argsOffset).matchAll(/\S+/g)].map((t) => ({
      text: t[0],
      offset: argsOffset + t.index,
    }));
    let platform: string | undefined;
    while (tokens[0]?.text.startsWith('--')) {
      const flag = tokens.shift()!.text;
      const pm = /^--platform=(.+)$/i.exec(flag);
      if (pm) platform = platformValue(pm[1], lookup, escape);
    }
    const imageToken = tokens[0];
    if (!imageToken) continue;
    const stageName = tokens[1]?.text.toLowerCase() === 'as' ? tokens[2]?.text.toLowerCase() : undefined;
    const origin = originAt(file, ins.segments, imageToken.offset);
    const written = imageToken.text;
    const expanded = expandBuildkitWord(written, lookup, escape);
    if (!expanded.ok) {
      // `FROM build-${VARIANT}` where every stage it could name is an earlier stage: a stage, not an image.
      if (!namesOnlyEarlierStages(written, stages)) {
        findings.unresolved.push({
          text: written,
          reason: reasonFor(expanded, globalArgs, stageArgs),
          origin,
        });
      }
    } else {
      const image = expanded.value;
      // Only EARLIER stages count: `FROM alpine AS alpine` still names the image.
      if (image.toLowerCase() !== 'scratch' && !stages.includes(image.toLowerCase())) {
        findings.found.push({ image, origin, ...(platform ? { platform } : {}) });
      }
    }
    if (stageName) stages.push(stageName);
  }
  if (unterminatedHeredoc) {
    findings.skipped = {
      reason: `the heredoc opened on line ${unterminatedHeredoc.line} (<<${unterminatedHeredoc.name}) is never closed; BuildKit refuses the file, the lines after it were not read`,
      level: 'warning',
      line: unterminatedHeredoc.line,
    };
  }
  return findings;
}

const HEREDOC_INSTRUCTIONS = new Set(['RUN', 'COPY', 'ADD']);

/**
 * Lines → instructions, as BuildKit's parser reads them: parser directives at the top, comments, continuation,
 * and heredoc bodies consumed after the instruction that opens them.
 */
function splitInstructions(text: string): {
  instructions: Instruction[];
  escape: string;
  unterminatedHeredoc?: { line: number; name: string };
} {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let escape = '\\';
  let index = 0;
  // Parser directives: `# name=value` lines at the very top; any other line (a blank one too) ends them. Only
  // `syntax`, `escape` and `check` are directives: `# foo=bar` is a comment and ends them too.
  for (; index < lines.length; index++) {
    const d = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/.exec(lines[index].trimStart());
    if (!d || !['syntax', 'escape', 'check'].includes(d[1].toLowerCase())) break;
    if (d[1].toLowerCase() === 'escape' && (d[2] === '`' || d[2] === '\\')) escape = d[2];
  }
  const e = escape === '\\' ? '\\\\' : escape;
  // BuildKit: the escape character continues the line when it ends it (trailing blanks allowed), unless it is
  // itself escaped (`\\`); alone on a line it continues too.
  const continuation = new RegExp(`(?:(?<=[^${e}])|^)${e}[ \\t]*$`);
  const instructions: Instruction[] = [];
  while (index < lines.length) {
    const raw = lines[index];
    const first = raw.trimStart();
    index++;
    if (first.startsWith('#') || first === '') continue;
    const current: Instruction = { text: '', segments: [] };
    const add = (body: string, line: number, column: number) => {
      current.segments.push({ offset: current.text.length, line, column });
      current.text += body;
    };
    let body = first;
    let continues = continuation.test(body);
    if (continues) body = body.replace(continuation, '');
    add(body, index, raw.length - first.length + 1);
    while (continues && index < lines.length) {
      const next = lines[index];
      index++;
      // Comment lines and empty lines inside a continuation are skipped; continued lines keep their indentation.
      if (next.trimStart().startsWith('#') || next.trim() === '') continue;
      continues = continuation.test(next);
      add(continues ? next.replace(continuation, '') : next, index, 1);
    }
    instructions.push(current);

    for (const heredoc of heredocsOf(current.text)) {
      const opened = current.segments[0].line;
      let closed = false;
      while (index < lines.length) {
        const line = lines[index];
        index++;
        const candidate = heredoc.chomp ? line.replace(/^\t+/, '') : line;
        if (candidate === heredoc.name) {
          closed = true;
          break;
        }
      }
      if (!closed) return { instructions, escape, unterminatedHeredoc: { line: opened, name: heredoc.name } };
    }
  }
  return { instructions, escape };
}

/** The heredocs an instruction opens (`<<EOT`, `<<-EOT`, `<<"EOT"`, `3<<EOT`), in order. */
function heredocsOf(instruction: string): { name: string; chomp: boolean }[] {
  const keyword = /^\s*([A-Za-z]+)(?:\s+([A-Za-z]+))?/.exec(instruction);
  if (!keyword || !instruction.includes('<<')) return [];
  const word = keyword[1].toUpperCase();
  const opens =
    HEREDOC_INSTRUCTIONS.has(word) ||
    (word === 'ONBUILD' && HEREDOC_INSTRUCTIONS.has((keyword[2] ?? '').toUpperCase()));
  if (!opens) return [];
  const out: { name: string; chomp: boolean }[] = [];
  // BuildKit's lexer keeps blanks after `<<` in the same word (`<< EOT`); heredoc words are read with the default
  // escape character, whatever the directive says.
  for (const w of splitBuildkitWords(instruction.replace(/<<[ \t]+/g, '<<'), '\\')) {
    const m = /^(\d*)<<(-?)([^<]*)$/.exec(w.text);
    if (!m || m[3] === '') continue;
    const name = expandBuildkitWord(m[3], () => undefined, '\\');
    if (name.ok && name.value !== '') out.push({ name: name.value, chomp: m[2] === '-' });
  }
  return out;
}

/** `ARG A B=1 C="two words"` → declarations in order; values still to be expanded. */
function parseArgDeclarations(rest: string, escape: string): { name: string; value?: string }[] {
  return splitBuildkitWords(rest, escape).map((w) => {
    const eq = w.text.indexOf('=');
    return eq < 0 ? { name: w.text } : { name: w.text.slice(0, eq), value: w.text.slice(eq + 1) };
  });
}

/** A `--platform` value, expanded (the platform ARGs resolve from the `platform` input); kept when it is one. */
function platformValue(
  value: string,
  lookup: (name: string) => string | undefined,
  escape: string,
): string | undefined {
  const s = expandBuildkitWord(value, lookup, escape);
  if (!s.ok) return undefined;
  return /^[a-z0-9_-]+\/[a-z0-9_-]+(\/[a-z0-9_.-]+)?$/i.test(s.value) ? s.value.toLowerCase() : undefined;
}

/**
 * Is a word with unresolved variables a stage reference? When its literal parts match an earlier stage's name
 * (the variables taken as wildcards) and hold nothing a stage name cannot (`/`, `:`, `@`), every value that
 * builds is one of those stages: `FROM build-${VARIANT}` after `FROM … AS build-a` and `… AS build-b`.
 */
function namesOnlyEarlierStages(written: string, stages: readonly string[]): boolean {
  if (stages.length === 0 || /["'`\\]/.test(written)) return false;
  const parts = written.split(/\$\{[^}]*\}|\$[A-Za-z_][A-Za-z0-9_]*/);
  if (parts.length < 2) return false;
  const pattern = RE2JS.compile(`^${parts.map((p) => RE2JS.quote(p.toLowerCase())).join('.*')}$`);
  // A literal part that is an image name's (`/`, `:`, `@`) rules out a stage; a stage name has none of those.
  return !/[/:@]/.test(parts.join('')) && stages.some((s) => pattern.matches(s));
}

function reasonFor(
  failure: Extract<WordExpansion, { ok: false }>,
  globalArgs: Map<string, GlobalArg>,
  stageArgs: Set<string>,
): string {
  // Only "has no value" needs telling why: a required variable (`${V:?…}`) or a syntax error says it already.
  if (failure.reason !== `$${failure.variable} has no value`) return failure.reason;
  const declared = globalArgs.get(failure.variable);
  if (declared && 'problem' in declared) return declared.problem;
  if (stageArgs.has(failure.variable)) {
    return `ARG ${failure.variable} is declared inside a stage; FROM only sees ARGs declared before the first FROM`;
  }
  return `$${failure.variable} is not declared with ARG before the first FROM`;
}

function originAt(file: string, segments: Segment[], offset: number): Origin {
  let seg = segments[0];
  for (const s of segments) if (s.offset <= offset) seg = s;
  return { file, line: seg.line, column: seg.column + (offset - seg.offset) };
}
