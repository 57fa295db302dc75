import * as core from '@actions/core';
import { GITHUB_ANNOTATIONS_PER_LEVEL } from './github-limits.js';

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
  /** Folds the following lines under a title in the runner's log (`::group::`); see logGroup. */
  startGroup?(title: string): void;
  endGroup?(): void;
}

type AnnotationLevel = 'notice' | 'warning' | 'error';

/** The part of `@actions/core` the log sink writes through (a seam: tests record what would reach the runner). */
export interface LogSink {
  debug(message: string): void;
  info(message: string): void;
  notice(message: string, properties?: AnnotationProperties): void;
  warning(message: string, properties?: AnnotationProperties): void;
  error(message: string, properties?: AnnotationProperties): void;
  setSecret(value: string): void;
  startGroup(title: string): void;
  endGroup(): void;
}

/** The runner's logger, plus the one annotation that must never be the one GitHub drops: the gate's verdict. */
export interface ActionsLogger extends Logger {
  startGroup(title: string): void;
  endGroup(): void;
  /** The verdict's annotation: it always has a slot, however many annotations came before it. */
  verdict(level: AnnotationLevel, message: string): void;
}

/**
 * The log sink. Messages carry untrusted text (image names, tags, repository and file names, Trivy's errors), and
 * the runner reads every line of stdout for workflow commands: `::cmd::` at the start of a line (after
 * whitespace), and the legacy `##[cmd]` anywhere in it. `core.info` writes lines raw, so every message — every
 * level, annotation titles too — goes through inertLogText here, once, instead of trusting each call site.
 */
export function createActionsLogger(sink: LogSink = core): ActionsLogger {
  // GitHub keeps the first 10 annotations of a level and drops the rest, so the last slot of each level is kept
  // for the verdict; any other annotation past the ninth is still printed, as a plain line.
  const used: Record<AnnotationLevel, number> = { notice: 0, warning: 0, error: 0 };
  const annotate = (level: AnnotationLevel, message: string, p: AnnotationProperties | undefined) => {
    if (used[level] >= GITHUB_ANNOTATIONS_PER_LEVEL - 1) {
      const label = level[0].toUpperCase() + level.slice(1);
      const title = p?.title ? `${p.title}: ` : '';
      const where = p?.file ? ` (${p.file}${p.startLine ? `:${p.startLine}` : ''})` : '';
      sink.info(inertLogText(`${label}${where}: ${title}${message}`));
      return;
    }
    used[level]++;
    sink[level](inertLogText(message), inertProperties(p));
  };
  return {
    debug: (m) => sink.debug(inertLogText(m)),
    info: (m) => sink.info(inertLogText(m)),
    notice: (m, p) => annotate('notice', m, p),
    warning: (m, p) => annotate('warning', m, p),
    error: (m, p) => annotate('error', m, p),
    setSecret: (v) => {
      if (v) sink.setSecret(v);
    },
    startGroup: (title) => sink.startGroup(inertLogText(title).replaceAll('\n', ' ')),
    endGroup: () => sink.endGroup(),
    verdict: (level, m) => {
      used[level]++;
      sink[level](inertLogText(m));
    },
  };
}

export const actionsLogger: ActionsLogger = createActionsLogger();

/** Loggers with a group open: a group inside a group would fold the outer one's end into the inner one. */
const openGroups = new WeakSet<Logger>();

/**
 * Runs `work` with its log lines folded under `title`. Groups never nest (inside an open group, `work` simply runs)
 * and always close, also when `work` throws, so an error is printed outside any fold.
 */
export async function logGroup<T>(logger: Logger, title: string, work: () => Promise<T>): Promise<T> {
  if (!logger.startGroup || !logger.endGroup || openGroups.has(logger)) return work();
  logger.startGroup(title);
  openGroups.add(logger);
  try {
    return await work();
  } finally {
    openGroups.delete(logger);
    logger.endGroup();
  }
}

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
  /** `start:<title>` and `end`, in order, with the index of the first entry logged after each. */
  readonly groups: { event: string; at: number }[] = [];
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
  startGroup(title: string): void {
    this.groups.push({ event: `start:${title}`, at: this.entries.length });
  }
  endGroup(): void {
    this.groups.push({ event: 'end', at: this.entries.length });
  }
  messages(level?: LogEntry['level']): string[] {
    return this.entries.filter((e) => !level || e.level === level).map((e) => e.message);
  }
}
