import { describe, expect, test } from 'vitest';
import type { BaseImageAdvice } from '../../src/model.js';
import {
  renderSuggestion,
  rightSideLines,
  suggestedFromLine,
  SUGGESTION_MARKER,
} from '../../src/report/base-image-suggestion.js';

const advice: BaseImageAdvice = {
  ref: 'docker.io/library/node:20.11',
  tag: '20.11',
  origins: [{ file: 'Dockerfile', line: 2 }],
  tally: { critical: 4, high: 9, total: 30 },
  candidates: [
    {
      tag: '20.14',
      ref: 'docker.io/library/node:20.14',
      status: 'scanned',
      tally: { critical: 1, high: 4, total: 20 },
    },
  ],
  recommended: {
    tag: '20.14',
    ref: 'docker.io/library/node:20.14',
    tally: { critical: 1, high: 4, total: 20 },
    removed: { critical: 3, high: 5, total: 10 },
  },
};

describe('rightSideLines', () => {
  test('added and context lines of the new side, numbered from each hunk; removed lines skipped', () => {
    const patch = [
      '@@ -1,3 +1,3 @@',
      ' # app',
      '-FROM node:20.9',
      '+FROM node:20.11',
      ' RUN npm ci',
      '@@ -20,2 +20,3 @@ stage',
      ' COPY . .',
      '+USER node',
      '\\ No newline at end of file',
    ].join('\n');
    expect([...rightSideLines(patch)]).toEqual([
      [1, '# app'],
      [2, 'FROM node:20.11'],
      [3, 'RUN npm ci'],
      [20, 'COPY . .'],
      [21, 'USER node'],
    ]);
  });
});

describe('suggestedFromLine replaces exactly the tag', () => {
  test.each<[string, string, string | undefined]>([
    ['plain', 'FROM node:20.11', 'FROM node:20.14'],
    [
      'with a stage name and flags',
      'from --platform=$BUILDPLATFORM node:20.11 AS build',
      'from --platform=$BUILDPLATFORM node:20.14 AS build',
    ],
    ['indented, trailing comment kept', '  FROM node:20.11   # base', '  FROM node:20.14   # base'],
    ['another tag written: no suggestion', 'FROM node:20.12', undefined],
    ['a variable: no suggestion', 'FROM node:${NODE}', undefined],
    ['pinned by digest: no suggestion', 'FROM node:20.11@sha256:abc', undefined],
    ['not a FROM line', 'RUN echo node:20.11', undefined],
  ])('%s', (_, line, expected) => {
    expect(suggestedFromLine(line, advice)).toBe(expected);
  });

  test('no recommendation, no suggestion', () => {
    expect(suggestedFromLine('FROM node:20.11', { ...advice, recommended: undefined })).toBeUndefined();
  });
});

describe('renderSuggestion', () => {
  test('marker, one sentence with the counts, the suggestion block with the new line', () => {
    expect(renderSuggestion(advice, 'FROM node:20.14')).toBe(
      [
        SUGGESTION_MARKER,
        '**Base image advice:** `node:20.14` has 3 fewer critical and 5 fewer high findings than `node:20.11` (scanned 1 newer tag on its track).',
        '',
        '```suggestion',
        'FROM node:20.14',
        '```',
      ].join('\n'),
    );
  });

  test('a line with backticks cannot close the fence', () => {
    const body = renderSuggestion(advice, 'FROM node:20.14 # ```` end');
    expect(body).toContain('`````suggestion\nFROM node:20.14 # ```` end\n`````');
  });
});
