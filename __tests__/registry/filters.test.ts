import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { compileRepositoryFilter, compileTagFilter } from '../../src/targets/filters.js';

describe('repository filters', () => {
  test.each<[string[], string[], string | undefined, string, boolean]>([
    [['**'], [], undefined, 'a/b/c', true],
    [['*'], [], undefined, 'a/b', false], // * stops at /
    [['*'], [], undefined, 'alpine', true],
    [['team/*'], [], undefined, 'team/api', true],
    [['team/*'], [], undefined, 'team/api/worker', false],
    [['team/**'], [], undefined, 'team/api/worker', true],
    [['**'], ['**/legacy-*'], undefined, 'team/legacy-app', false], // excludes win
    [['team/legacy-*'], ['team/legacy-*'], undefined, 'team/legacy-x', false],
    [[], [], undefined, 'anything/at/all', true], // no include = all
    // under a namespace: relative or full patterns both work
    [['api-*'], [], 'acme', 'acme/api-gateway', true],
    [['acme/api-*'], [], 'acme', 'acme/api-gateway', true],
    [['api-*'], [], 'acme', 'acme/web', false],
    [['**'], ['internal/**'], 'acme', 'acme/internal/tool', false],
  ])('include %j exclude %j ns %s: %s -> %s', (inc, exc, ns, repo, expected) => {
    expect(compileRepositoryFilter(inc, exc, ns)(repo)).toBe(expected);
  });
});

describe('tag filters', () => {
  test.each<[string[], string[], string, boolean]>([
    [['*'], [], '1.2.3', true],
    [['v*'], [], '1.2.3', false],
    [['/^v?\\d+\\.\\d+\\.\\d+$/'], [], 'v1.2.3', true],
    [['/^v?\\d+\\.\\d+\\.\\d+$/'], [], '1.2.3-rc1', false],
    [['*'], ['*-rc*', '/^sha-[0-9a-f]{7}$/'], '1.2.3-rc1', false],
    [['*'], ['*-rc*', '/^sha-[0-9a-f]{7}$/'], 'sha-abcdef0', false],
    [['*'], ['*-rc*', '/^sha-[0-9a-f]{7}$/'], 'sha-abcdefg', true],
    [['/^LATEST$/i'], [], 'latest', true], // flags after the closing slash
    [['latest', 'stable'], [], 'stable', true],
  ])('include %j exclude %j: %s -> %s', (inc, exc, tag, expected) => {
    expect(compileTagFilter(inc, exc)(tag)).toBe(expected);
  });

  test('a regex with the g flag still matches every time (no lastIndex carry-over)', () => {
    const f = compileTagFilter(['/^1/g'], []);
    expect([f('1.0'), f('1.1'), f('1.2')]).toEqual([true, true, true]);
  });

  test.each([
    [['/[unclosed/'], [], 'tags'],
    [['*'], ['/(?<x/'], 'exclude-tags'],
  ])('invalid regex %j %j -> ConfigurationError naming %s', (inc, exc, input) => {
    let err: unknown;
    try {
      compileTagFilter(inc, exc);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigurationError);
    expect((err as ConfigurationError).input).toBe(input);
    expect((err as Error).message).toContain(`\`${input}\``);
    expect((err as Error).message).toContain([...inc, ...exc].find((p) => p.startsWith('/')));
  });
});

describe('patterns run in linear time (RE2)', () => {
  const evil = `${'a'.repeat(40)}!`;

  test.each([
    ['/^(a+)+$/', evil],
    ['/^(a|aa)+$/', evil],
    ['/(a*)*b/', 'a'.repeat(5000)],
    ['*a*a*a*a*a*a*a*a*a*a*a*b', 'a'.repeat(128)], // picomatch's RegExp backtracks for hours on this one
    ['**a**a**a**a**a**a**a**b', 'a'.repeat(128)],
  ])('%s against a hostile name finishes (and does not match)', (pattern, name) => {
    const started = Date.now();
    expect(compileTagFilter([pattern], [])(name)).toBe(false);
    expect(Date.now() - started).toBeLessThan(10_000); // a bound against hanging, not a timing assertion
  });

  test('a comma inside {1,3} is part of the regex', () => {
    const f = compileTagFilter(['/^v\\d{1,3}$/'], []);
    expect(['v1', 'v22', 'v333', 'v4444', 'x1'].map(f)).toEqual([true, true, true, false, false]);
  });

  test.each<[string, string, boolean]>([
    ['/^v/m', 'v1', true],
    ['/^a.b$/s', 'a\nb', true],
    ['v{1,2}.*', 'v2.0', true],
    ['v{1,2}.*', 'v3.0', false],
    ['{a,b{c,d}}', 'bd', true],
    ['[!a]*', 'b1', true],
    ['[!a]*', 'a1', false],
    ['1.?', '1.x', true],
    ['1.?', '1/x', false],
    ['\\*', '*', true],
    ['\\*', 'a', false],
    ['[[:digit:]]*', '7up', true],
  ])('%s on %j -> %s', (pattern, name, expected) => {
    expect(compileTagFilter([pattern], [])(name)).toBe(expected);
  });

  test('globs on repositories: `**` parts, `*` within a part', () => {
    const f = compileRepositoryFilter(['a/**/z', 'team-?/*'], []);
    expect(['a/z', 'a/b/z', 'a/b/c/z', 'a/bz', 'team-1/api', 'team-1/api/x'].map(f)).toEqual([
      true,
      true,
      true,
      false,
      true,
      false,
    ]);
  });

  test('too many brace expansions are refused, not built', () => {
    expect(() => compileTagFilter(['{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}{a,b}'], [])).toThrow(
      /more than 256 globs/,
    );
  });
});
