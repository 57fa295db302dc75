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
