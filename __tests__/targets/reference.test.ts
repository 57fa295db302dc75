import { describe, expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import {
  displayRef,
  normaliseRegistryHost,
  parseImageReference,
  sameImage,
  tryParseImageReference,
} from '../../src/targets/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

// Expected values follow Docker's documented normalisation (distribution/reference ParseNormalizedNamed):
// the first part is a host only with '.', ':' or 'localhost'; Docker Hub one-part names get library/.
describe('parseImageReference normalises like Docker', () => {
  test.each([
    ['alpine', 'docker.io/library/alpine:latest', 'docker.io', 'library/alpine', 'latest', undefined],
    ['alpine:3.19', 'docker.io/library/alpine:3.19', 'docker.io', 'library/alpine', '3.19', undefined],
    ['acme/api:1', 'docker.io/acme/api:1', 'docker.io', 'acme/api', '1', undefined],
    ['foo/bar/baz', 'docker.io/foo/bar/baz:latest', 'docker.io', 'foo/bar/baz', 'latest', undefined],
    [
      'docker.io/alpine',
      'docker.io/library/alpine:latest',
      'docker.io',
      'library/alpine',
      'latest',
      undefined,
    ],
    [
      'index.docker.io/library/alpine:3',
      'docker.io/library/alpine:3',
      'docker.io',
      'library/alpine',
      '3',
      undefined,
    ],
    [`ghcr.io/a/b@${D}`, `ghcr.io/a/b@${D}`, 'ghcr.io', 'a/b', undefined, D],
    [`localhost:5000/x:1@${D}`, `localhost:5000/x:1@${D}`, 'localhost:5000', 'x', '1', D],
    ['localhost/x', 'localhost/x:latest', 'localhost', 'x', 'latest', undefined],
    ['myhost:5000/team/app', 'myhost:5000/team/app:latest', 'myhost:5000', 'team/app', 'latest', undefined],
    ['example.com/a:v1.2_3-rc', 'example.com/a:v1.2_3-rc', 'example.com', 'a', 'v1.2_3-rc', undefined],
    ['GHCR.IO/acme/api:1', 'ghcr.io/acme/api:1', 'ghcr.io', 'acme/api', '1', undefined],
    ['  alpine:3  ', 'docker.io/library/alpine:3', 'docker.io', 'library/alpine', '3', undefined],
  ])('%s', (input, ref, registry, repository, tag, digest) => {
    expect(parseImageReference(input)).toEqual({ ref, registry, repository, tag, digest });
  });
});

describe('bad references are refused with the reason', () => {
  test('upper-case repository: the message names the input and why', () => {
    expect(() => parseImageReference('Alpine:3')).toThrow(
      new ConfigurationError(
        'images: "Alpine:3" is not a valid image reference (repository names must be lower-case)',
        'images',
      ),
    );
  });

  test('the error is a ConfigurationError for the images input', () => {
    try {
      parseImageReference('ghcr.io/Acme/api');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigurationError);
      expect((e as ConfigurationError).input).toBe('images');
    }
  });

  test('where the reference came from is named', () => {
    expect(() => parseImageReference('a b', 'Dockerfile:3')).toThrow(/^Dockerfile:3: "a b" is not a valid/);
  });

  test.each([
    ['', /empty/],
    ['https://ghcr.io/a/b', /URL scheme/],
    ['a b', /whitespace/],
    ['alpine:', /expected \[host/],
    ['alpine@sha256:abc', /malformed digest/],
    [`alpine@md5:${'a'.repeat(32)}`, /unsupported digest algorithm/],
    [`alpine:${'x'.repeat(129)}`, /at most 128/],
    [`alpine:${'x'.repeat(128)}`.replace('alpine', 'a'.repeat(1000)), /longer than 1024/],
    ['a'.repeat(64).replace(/a/g, 'f'), /bare image ID/],
    ['ghcr.io/', /expected|no repository/],
  ])('%j', (input, reason) => {
    const r = tryParseImageReference(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });
});

test('displayRef strips only Docker Hub prefixes', () => {
  expect(displayRef({ ref: 'docker.io/library/alpine:3.19' })).toBe('alpine:3.19');
  expect(displayRef({ ref: 'docker.io/acme/api:1' })).toBe('acme/api:1');
  expect(displayRef({ ref: 'ghcr.io/library/x:1' })).toBe('ghcr.io/library/x:1');
});

test('sameImage compares normalised refs', () => {
  expect(sameImage('alpine', 'docker.io/library/alpine:latest')).toBe(true);
  expect(sameImage('alpine:3', 'alpine:3.19')).toBe(false);
  expect(sameImage('Alpine', 'alpine')).toBe(false);
});

test.each([
  ['https://index.docker.io/v1/', 'docker.io'],
  ['registry-1.docker.io', 'docker.io'],
  ['GHCR.io/acme', 'ghcr.io'],
  ['localhost:5000', 'localhost:5000'],
])('normaliseRegistryHost(%s)', (input, host) => {
  expect(normaliseRegistryHost(input)).toBe(host);
});

test('a 128-character tag is the longest allowed', () => {
  expect(tryParseImageReference(`alpine:${'x'.repeat(128)}`).ok).toBe(true);
});
