import { afterEach, describe, expect, test } from 'vitest';
import { actionsLogger, inertLogText } from '../../src/infra/logger.js';
import { parseWorkflowCommands } from '../../test-support/run-action.js';

// The log sink: the runner reads every stdout line for workflow commands (`::cmd::` at the start of a line after
// whitespace, the legacy `##[cmd]` anywhere), and messages carry image names, tags and Trivy's errors.

describe('inertLogText', () => {
  test.each([
    ['tag\n::error::pwned', 'tag\n\\::error::pwned'],
    ['repo\r::stop-commands::x', 'repo\n\\::stop-commands::x'],
    ['a\r\n   ::warning file=x::y', 'a\n   \\::warning file=x::y'],
    ['::add-mask::secret', '\\::add-mask::secret'],
    ['see ##[error]legacy and ##[stop-commands]t', 'see ##\\[error]legacy and ##\\[stop-commands]t'],
    ['\u001b[8mhidden\u001b[0m', '\\u001b[8mhidden\\u001b[0m'],
    ['nul\u0000 nel\u0085 ls\u2028::x', 'nul\\u0000 nel\\u0085 ls\\u2028::x'],
    ['tab\tstays', 'tab\tstays'],
    [
      'Image Scan Gate: the policy failed.\n- a: 1 finding\n- b: 2 findings',
      'Image Scan Gate: the policy failed.\n- a: 1 finding\n- b: 2 findings',
    ],
  ])('%j', (message, expected) => {
    expect(inertLogText(message)).toBe(expected);
  });

  test('each line is capped, so one flood cannot fill the log', () => {
    const out = inertLogText(`x${'a'.repeat(1_000_000)}\nnext`);
    const [first, second] = out.split('\n');
    expect(first.length).toBeLessThan(4200);
    expect(first).toMatch(/…\(995905 more characters\)$/);
    expect(second).toBe('next');
  });
});

describe('actionsLogger writes no workflow command it did not mean to', () => {
  const write = process.stdout.write.bind(process.stdout);
  let captured = '';
  afterEach(() => {
    process.stdout.write = write;
  });
  function capture(fn: () => void): string {
    captured = '';
    process.stdout.write = (chunk: string | Uint8Array) => {
      captured += String(chunk);
      return true;
    };
    try {
      fn();
    } finally {
      process.stdout.write = write;
    }
    return captured;
  }

  test('every level, the annotation title included', () => {
    const hostile = 'evil:1\n::error::pwned\r::stop-commands::x ##[error]legacy';
    const out = capture(() => {
      actionsLogger.info(`Read ${hostile}`);
      actionsLogger.debug(`debug ${hostile}`);
      actionsLogger.notice(`notice ${hostile}`, { title: hostile });
      actionsLogger.warning(`warning ${hostile}`, { title: hostile, file: 'Dockerfile', startLine: 1 });
      actionsLogger.error(`error ${hostile}`, { title: hostile });
    });
    const commands = parseWorkflowCommands(out).map((c) => c.command);
    // One command per annotation/debug call, none injected; info is plain text.
    expect(commands).toEqual(['debug', 'notice', 'warning', 'error']);
    for (const line of out.split(/\r\n|\r|\n/)) {
      if (/^::(debug|notice|warning|error)( [^:]*)?::/.test(line)) continue;
      expect(line.trimStart()).not.toMatch(/^::/);
    }
    expect(out).not.toContain('##[');
    const warning = parseWorkflowCommands(out).find((c) => c.command === 'warning')!;
    expect(warning.properties.title).not.toContain('\n');
    expect(warning.properties.file).toBe('Dockerfile');
  });
});
