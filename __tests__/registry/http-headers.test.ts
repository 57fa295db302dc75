import { describe, expect, test } from 'vitest';
import { scopeForPath } from '../../src/registry/client.js';
import { nextLink, parseWwwAuthenticate } from '../../src/registry/http-headers.js';

describe('parseWwwAuthenticate', () => {
  test.each([
    [
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://auth.docker.io/token',
            service: 'registry.docker.io',
            scope: 'repository:library/alpine:pull',
          },
        },
      ],
    ],
    // a comma inside a quoted value (several actions) is not a separator
    [
      'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:acme/api:pull,push"',
      [
        {
          scheme: 'bearer',
          params: {
            realm: 'https://ghcr.io/token',
            service: 'ghcr.io',
            scope: 'repository:acme/api:pull,push',
          },
        },
      ],
    ],
    ['Basic realm="Registry Realm"', [{ scheme: 'basic', params: { realm: 'Registry Realm' } }]],
    ['basic realm=unquoted', [{ scheme: 'basic', params: { realm: 'unquoted' } }]],
    [
      'Bearer realm="r", error="insufficient_scope", Basic realm="b"',
      [
        { scheme: 'bearer', params: { realm: 'r', error: 'insufficient_scope' } },
        { scheme: 'basic', params: { realm: 'b' } },
      ],
    ],
    ['Bearer realm="a \\"quoted\\" realm"', [{ scheme: 'bearer', params: { realm: 'a "quoted" realm' } }]],
    ['', []],
  ])('%s', (header, expected) => {
    expect(parseWwwAuthenticate(header)).toEqual(expected);
  });

  test('null header', () => expect(parseWwwAuthenticate(null)).toEqual([]));
});

describe('nextLink', () => {
  test.each([
    // distribution 2.8.2: relative
    [
      '</v2/_catalog?last=b&n=2>; rel="next"',
      'http://r:5000/v2/_catalog?n=2',
      'http://r:5000/v2/_catalog?last=b&n=2',
    ],
    // GitHub: absolute, several relations
    [
      '<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last"',
      'https://api.github.com/x',
      'https://api.github.com/x?page=2',
    ],
    [
      '<https://api.github.com/x?page=1>; rel="prev", <https://api.github.com/x?page=3>; rel="next"',
      'https://api.github.com/x',
      'https://api.github.com/x?page=3',
    ],
    ['<https://api.github.com/x?page=1>; rel="first"', 'https://api.github.com/x', undefined],
    [
      '</v2/a/tags/list?n=1&last=x>; rel=next',
      'https://r/v2/a/tags/list',
      'https://r/v2/a/tags/list?n=1&last=x',
    ],
  ])('%s', (header, base, expected) => {
    expect(nextLink(header, base)).toBe(expected);
  });
  test('no header', () => expect(nextLink(null, 'http://x/')).toBeUndefined());
});

describe('scopeForPath', () => {
  test.each([
    ['/v2/_catalog?n=100', 'registry:catalog:*'],
    ['/v2/library/alpine/manifests/3.19', 'repository:library/alpine:pull'],
    ['/v2/a/b/c/blobs/sha256:00', 'repository:a/b/c:pull'],
    ['/v2/app/tags/list', 'repository:app:pull'],
    ['/v2/', undefined],
  ])('%s', (p, scope) => expect(scopeForPath(p)).toBe(scope));
});
