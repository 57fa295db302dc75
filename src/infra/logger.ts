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

export const actionsLogger: Logger = {
  debug: (m) => core.debug(m),
  info: (m) => core.info(m),
  notice: (m, p) => core.notice(m, p ?? {}),
  warning: (m, p) => core.warning(m, p ?? {}),
  error: (m, p) => core.error(m, p ?? {}),
  setSecret: (v) => {
    if (v) core.setSecret(v);
  },
};

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
