import { describe, expect, test } from 'vitest';
import { GITHUB_ANNOTATIONS_PER_LEVEL } from '../../src/infra/github-limits.js';
import {
  MemoryLogger,
  createActionsLogger,
  logGroup,
  type AnnotationProperties,
  type LogSink,
  type Logger,
} from '../../src/infra/logger.js';

// What reaches the runner through the log sink: groups that fold each stage, and the annotation budget that keeps
// the verdict's slot (GitHub drops every annotation past the 10th of a level).

function recordingSink() {
  const calls: { kind: string; message: string; properties?: AnnotationProperties }[] = [];
  const sink: LogSink = {
    debug: (message) => calls.push({ kind: 'debug', message }),
    info: (message) => calls.push({ kind: 'info', message }),
    notice: (message, properties) => calls.push({ kind: 'notice', message, properties }),
    warning: (message, properties) => calls.push({ kind: 'warning', message, properties }),
    error: (message, properties) => calls.push({ kind: 'error', message, properties }),
    setSecret: () => undefined,
    startGroup: (message) => calls.push({ kind: 'group', message }),
    endGroup: () => calls.push({ kind: 'endgroup', message: '' }),
  };
  return { sink, calls };
}

describe('annotation budget', () => {
  test.each(['error', 'warning'] as const)(
    'after 30 %s annotations the verdict is still the 10th, and the rest are still printed',
    (level) => {
      const { sink, calls } = recordingSink();
      const logger = createActionsLogger(sink);
      for (let i = 0; i < 30; i++)
        logger[level](`image ${i} has findings`, {
          title: `image ${i}`,
          file: 'Dockerfile',
          startLine: i + 1,
        });
      logger.verdict(level, 'Image Scan Gate: the policy failed.');
      const annotations = calls.filter((c) => c.kind === level);
      expect(annotations).toHaveLength(GITHUB_ANNOTATIONS_PER_LEVEL);
      expect(annotations.at(-1)?.message).toBe('Image Scan Gate: the policy failed.');
      // The 21 that would have been dropped are plain lines naming their place and title.
      const lines = calls.filter((c) => c.kind === 'info').map((c) => c.message);
      expect(lines).toHaveLength(21);
      expect(lines[0]).toBe(
        `${level[0].toUpperCase()}${level.slice(1)} (Dockerfile:10): image 9: image 9 has findings`,
      );
    },
  );

  test('levels have separate budgets, and a plain line carrying hostile text stays inert', () => {
    const { sink, calls } = recordingSink();
    const logger = createActionsLogger(sink);
    for (let i = 0; i < 9; i++) logger.notice(`n${i}`);
    logger.notice('x\n::error::pwned', { title: '##[error]t' });
    logger.warning('w');
    expect(calls.filter((c) => c.kind === 'notice')).toHaveLength(9);
    expect(calls.filter((c) => c.kind === 'warning')).toHaveLength(1);
    expect(calls.find((c) => c.kind === 'info')?.message).toBe('Notice: ##\\[error]t: x\n\\::error::pwned');
  });
});

describe('logGroup', () => {
  test('folds a stage, never nests, and closes when the stage throws', async () => {
    const { sink, calls } = recordingSink();
    const logger = createActionsLogger(sink);
    await expect(
      logGroup(logger, 'Scanning', async () => {
        logger.info('outer');
        await logGroup(logger, 'Inner', () => Promise.resolve(logger.info('inner')));
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    logger.info('after');
    expect(calls.map((c) => `${c.kind}:${c.message}`)).toEqual([
      'group:Scanning',
      'info:outer',
      'info:inner',
      'endgroup:',
      'info:after',
    ]);
    // The next group opens normally after a failed one.
    await logGroup(logger, 'Publishing', () => Promise.resolve());
    expect(calls.slice(-2).map((c) => c.kind)).toEqual(['group', 'endgroup']);
  });

  test('a title cannot break out of the group command', async () => {
    const { sink, calls } = recordingSink();
    await logGroup(createActionsLogger(sink), 'a\n::error::x', () => Promise.resolve());
    expect(calls[0]).toEqual({ kind: 'group', message: 'a \\::error::x' });
  });

  test('a logger without groups just runs the work', async () => {
    const memory = new MemoryLogger();
    const plain: Logger = {
      debug: (m) => memory.debug(m),
      info: (m) => memory.info(m),
      notice: (m) => memory.notice(m),
      warning: (m) => memory.warning(m),
      error: (m) => memory.error(m),
      setSecret: () => undefined,
    };
    expect(await logGroup(plain, 'x', () => Promise.resolve(7))).toBe(7);
  });
});
