import * as core from '@actions/core';

/** Where an annotation points (a workflow command's file/line properties). */
export interface AnnotationProperties {
  title?: string;
  file?: string;
  startLine?: number;
  endLine?: number;
  startColumn?: number;
  endColumn?: number;
}

/**
 * The one way stages report progress. Passed in so pure code and tests need no `@actions/core`.
 * `setSecret` masks a value in every later log line; call it the moment a secret is read or derived.
 */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  notice(message: string, properties?: AnnotationProperties): void;
  warning(message: string, properties?: AnnotationProperties): void;
  error(message: string, properties?: AnnotationProperties): void;
  setSecret(value: string): void;
}

/**
 * The log sink. Messages carry untrusted text (image names, tags, repository and file names, Trivy's errors), and
 * the runner reads every line of stdout for workflow commands: `::cmd::` at the start of a line (after
 * whitespace), and the legacy `##[cmd]` anywhere in it. `core.info` writes lines raw, so every message — every
 * level, annotation titles too — goes through inertLogText here, once, instead of trusting each call site.
 */
export const actionsLogger: Logger = {
  debug: (m) => core.debug(inertLogText(m)),
  info: (m) => core.info(inertLogText(m)),
  notice: (m, p) => core.notice(inertLogText(m), inertProperties(p)),
  warning: (m, p) => core.warning(inertLogText(m), inertProperties(p)),
  error: (m, p) => core.error(inertLogText(m), inertProperties(p)),
  setSecret: (v) => {
    if (v) core.setSecret(v);
  },
};

/** Characters per log line; one flood (a 1 MB package name) must not fill the log. */
const MAX_LOG_LINE_CHARS = 4096;
/** C0 and C1 controls but tab, DEL, and the Unicode line and paragraph separators. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028\u2029]/g;

/**
 * A message made inert for the runner's log: its own line breaks stay (multi-line messages remain readable), every
 * other control character is shown as `\uXXXX` (ANSI escapes cannot recolour or hide text), a line that would
 * begin with `::` gets a `\` in front, `##[` becomes `##\[`, and each line is capped.
 */
export function inertLogText(message: string): string {
  return message
    .split(/\r\n|\r|\n/)
    .map(inertLogLine)
    .join('\n');
}

function inertLogLine(line: string): string {
  let out = line.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (out.length > MAX_LOG_LINE_CHARS) {
    out = `${out.slice(0, MAX_LOG_LINE_CHARS)}…(${out.length - MAX_LOG_LINE_CHARS} more characters)`;
  }
  // The runner trims leading whitespace before it looks for `::` (TryParseV2) and finds `##[` anywhere (TryParse).
  return out.replace(/^(\s*)::/, '$1\\::').replaceAll('##[', '##\\[');
}

/** Annotation properties: core escapes `%`, CR, LF, `:` and `,`; the title also gets the message's treatment. */
function inertProperties(p: AnnotationProperties | undefined): AnnotationProperties {
  if (!p) return {};
  return p.title === undefined ? p : { ...p, title: inertLogText(p.title).replaceAll('\n', ' ') };
}

export interface LogEntry {
  level: 'debug' | 'info' | 'notice' | 'warning' | 'error';
  message: string;
  properties?: AnnotationProperties;
}

/** Records everything, for tests and for the summary ("what was said"). Masks secrets like the runner does. */
export class MemoryLogger implements Logger {
  readonly entries: LogEntry[] = [];
  readonly secrets: string[] = [];
  private mask(m: string): string {
    let out = m;
    for (const s of this.secrets) out = out.split(s).join('***');
    return out;
  }
  debug(message: string): void {
    this.entries.push({ level: 'debug', message: this.mask(message) });
  }
  info(message: string): void {
    this.entries.push({ level: 'info', message: this.mask(message) });
  }
  notice(message: string, properties?: AnnotationProperties): void {
    this.entries.push({ level: 'notice', message: this.mask(message), properties });
  }
  warning(message: string, properties?: AnnotationProperties): void {
    this.entries.push({ level: 'warning', message: this.mask(message), properties });
  }
  error(message: string, properties?: AnnotationProperties): void {
    this.entries.push({ level: 'error', message: this.mask(message), properties });
  }
  setSecret(value: string): void {
    if (value) this.secrets.push(value);
  }
  messages(level?: LogEntry['level']): string[] {
    return this.entries.filter((e) => !level || e.level === level).map((e) => e.message);
  }
}
