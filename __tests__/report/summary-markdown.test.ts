import { describe, expect, test } from 'vitest';
import {
  codeBlock,
  codeSpan,
  describeCounts,
  escapeHtml,
  escapeText,
  formatAge,
  link,
  safeUrl,
  shortDigest,
  truncate,
  utf8Bytes,
} from '../../src/report/markdown.js';
import { splitRow } from './fixtures/render/markdown-tables.js';

// The helpers behind the summary and the comment; the renderers' own tests check them in context.

describe('escapeText', () => {
  test.each([
    ['a|b', 'a\\|b'],
    ['line one\nline two\r\n  three', 'line one line two three'],
    ['<script>', '\\<script\\>'],
    ['**bold** _it_ `code` [x](y)', '\\*\\*bold\\*\\* \\_it\\_ \\`code\\` \\[x\\](y)'],
    ['back\\slash', 'back\\\\slash'],
    ['docker.io/library/nginx:1.25', 'docker.io/library/nginx:1.25'],
  ])('%j', (input, expected) => {
    expect(escapeText(input)).toBe(expected);
  });

  test('an escaped value is one table cell whatever it contains', () => {
    const nasty = 'a | b \\| c\n| d';
    expect(splitRow(`| ${escapeText(nasty)} | next |`)).toHaveLength(2);
  });
});

test('escapeHtml', () => {
  expect(escapeHtml('<b a="1">&\n</b>')).toBe('&lt;b a=&quot;1&quot;&gt;&amp; &lt;/b&gt;');
});

describe('codeSpan', () => {
  test.each([
    ['plain', {}, '`plain`'],
    ['has `tick`', {}, '`` has `tick` ``'], // padded: it ends with a backtick
    ['a `b` c', {}, '``a `b` c``'],
    ['`edge', {}, '`` `edge ``'],
    ['a|b', { inTable: true }, '`a\\|b`'],
    ['a|b', {}, '`a|b`'],
  ])('%j %j', (input, opts, expected) => {
    expect(codeSpan(input, opts)).toBe(expected);
  });
});

test('codeBlock fences longer than any fence inside', () => {
  expect(codeBlock('plain')).toBe('```text\nplain\n```');
  expect(codeBlock('a\n```\nb')).toBe('````text\na\n```\nb\n````');
});

describe('links', () => {
  test.each([
    ['https://avd.aquasec.com/nvd/cve-2024-1', 'https://avd.aquasec.com/nvd/cve-2024-1'],
    ['http://example.com/a b(c)|d', 'http://example.com/a%20b%28c%29%7Cd'],
    ['javascript:alert(1)', undefined],
    ['data:text/html,x', undefined],
    ['/relative', undefined],
    ['', undefined],
  ])('safeUrl(%j)', (input, expected) => {
    expect(safeUrl(input)).toBe(expected);
  });

  test('a link only when the URL is a web URL', () => {
    expect(link('CVE-1', 'https://x.test/1')).toBe('[CVE-1](https://x.test/1)');
    expect(link('CVE_1', 'javascript:x')).toBe('CVE\\_1');
  });
});

test('truncate counts code points and never splits an emoji', () => {
  expect(truncate('abcdef', 6)).toBe('abcdef');
  expect(truncate('abcdef', 4)).toBe('abc…');
  expect(truncate('🔴🔴🔴🔴', 3)).toBe('🔴🔴…');
});

test('utf8Bytes counts bytes, not characters', () => {
  expect(utf8Bytes('é🔴')).toBe(2 + 4);
});

test.each([
  [0, 'just now'],
  [12 * 60_000, '12 min ago'],
  [5 * 3600_000, '5 h ago'],
  [47 * 3600_000, '47 h ago'],
  [3 * 86400_000, '3 days ago'],
])('formatAge %i ms', (ago, expected) => {
  const now = new Date('2026-03-10T12:00:00Z');
  expect(formatAge(new Date(now.getTime() - ago), now)).toBe(expected);
});

test('shortDigest and describeCounts', () => {
  expect(shortDigest('sha256:0123456789abcdef0123')).toBe('sha256:0123456789ab');
  expect(shortDigest(undefined)).toBe('');
  expect(describeCounts({ CRITICAL: 1, HIGH: 0, MEDIUM: 2, LOW: 0, UNKNOWN: 3 })).toBe(
    '1 critical, 2 medium, 3 unknown',
  );
  expect(describeCounts({ CRITICAL: 0, HIGH: 0, MEDIUM: 0, LOW: 0, UNKNOWN: 0 })).toBe('no findings');
});
