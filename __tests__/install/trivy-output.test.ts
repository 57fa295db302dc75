import { describe, expect, test } from 'vitest';
import { boundedErrorText, parseVersionJson, trivyFatalText } from '../../src/install/trivy-output.js';
import { dbCacheKey } from '../../src/install/trivy-db.js';

describe('parseVersionJson', () => {
  test.each([
    ['{"Version":"0.74.0"}', { version: '0.74.0' }],
    [
      '{"Version":"0.74.0","VulnerabilityDB":{"Version":2,"UpdatedAt":"2026-08-01T06:00:00Z","NextUpdate":"2026-08-01T12:00:00Z"}}',
      { version: '0.74.0', dbUpdatedAt: '2026-08-01T06:00:00Z' },
    ],
    ['Version: 0.74.0', undefined],
    ['{"Version":""}', undefined],
    ['[]', undefined],
  ])('%s', (stdout, expected) => {
    expect(parseVersionJson(stdout)).toEqual(expected);
  });
});

describe('trivyFatalText', () => {
  test('keeps the FATAL line and its continuation lines, without the timestamp', () => {
    const stderr =
      '2026-08-01T10:00:00Z\tINFO\t[vuln] Vulnerability scanning is enabled\n' +
      '2026-08-01T10:00:01Z\tFATAL\tFatal error\trun error: image scan error: unable to find the specified image "x" in ["remote"]: 1 error occurred:\n' +
      '\t* remote error: GET http://h/v2/x/manifests/latest: UNAUTHORIZED: authentication required\n\n';
    expect(trivyFatalText(stderr)).toBe(
      'run error: image scan error: unable to find the specified image "x" in ["remote"]: 1 error occurred:\n' +
        '\t* remote error: GET http://h/v2/x/manifests/latest: UNAUTHORIZED: authentication required',
    );
  });
  test('without FATAL: the ERROR lines, else the last lines', () => {
    expect(trivyFatalText('t\tINFO\tok\nt\tERROR\tbad thing\n')).toBe('bad thing');
    expect(trivyFatalText('panic: boom\n\ngoroutine 1\n')).toBe('panic: boom\ngoroutine 1');
  });
});

describe('boundedErrorText: one image’s error stays a dozen lines and a thousand characters', () => {
  test('short text is unchanged', () => {
    expect(boundedErrorText('remote error: DENIED\n\t* detail')).toBe('remote error: DENIED\n\t* detail');
  });
  test('a huge line keeps its head and tail, and says it was cut', () => {
    const out = boundedErrorText(`boom ${'x'.repeat(100_000)} the registry said DENIED`);
    expect(Array.from(out).length).toBeLessThanOrEqual(1000);
    expect(out.startsWith('boom xxx')).toBe(true);
    expect(out).toContain('…(truncated)…');
    expect(out.endsWith('the registry said DENIED')).toBe(true);
  });
  test('many lines keep the first and the last few', () => {
    const out = boundedErrorText(Array.from({ length: 50 }, (_, i) => `line ${i}`).join('\n'));
    const lines = out.split('\n');
    expect(lines).toHaveLength(12);
    expect(lines[0]).toBe('line 0');
    expect(lines).toContain('…(truncated)…');
    expect(lines.at(-1)).toBe('line 49');
  });
  test('trivyFatalText is bounded too (a flood of stderr with no FATAL line)', () => {
    const flood = Array.from({ length: 5000 }, () => 'y'.repeat(1000)).join('\n');
    expect(trivyFatalText(flood).length).toBeLessThanOrEqual(1000);
  });
});

describe('dbCacheKey', () => {
  test('one key per 6-hour window; java DB gets its own keys', () => {
    const a = dbCacheKey(new Date('2026-08-01T06:00:00Z'), false, 'linux');
    const b = dbCacheKey(new Date('2026-08-01T11:59:59Z'), false, 'linux');
    const c = dbCacheKey(new Date('2026-08-01T12:00:00Z'), false, 'linux');
    expect(a.key).toBe(b.key);
    expect(c.key).not.toBe(b.key);
    expect(a.key.startsWith(a.restoreKeys[0])).toBe(true);
    const java = dbCacheKey(new Date('2026-08-01T06:00:00Z'), true, 'linux');
    expect(java.key).not.toBe(a.key);
    expect(a.key.startsWith(java.restoreKeys[0])).toBe(false); // a restore prefix never crosses the two
  });
});
