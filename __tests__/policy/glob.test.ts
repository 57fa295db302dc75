import { expect, test } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { globMatcher, globProblem } from '../../src/policy/glob.js';
import { parsePolicyFile } from '../../src/policy/policy-file.js';

// Policy globs come from a file a pull request controls: they are compiled to RE2 (linear time), with the meaning
// picomatch gave them before.

test.each([
  ['ghcr.io/acme/api*', 'ghcr.io/acme/api:1.2', true],
  ['ghcr.io/acme/*', 'ghcr.io/acme/team/api:1', false], // `*` stays within one segment
  ['ghcr.io/acme/**', 'ghcr.io/acme/team/api:1', true],
  ['**/nginx:*', 'docker.io/library/nginx:1.25', true],
  ['nginx:1.2?', 'nginx:1.25', true],
  ['{nginx,redis}:*', 'redis:7', true],
  ['golang.org/x/net', 'golang.org/x/net', true],
  ['usr/local/lib/**', 'usr/local/lib/node_modules/x/package.json', true],
  ['.cache/*', '.cache/x', true], // dot names are not special
  ['lib[+]', 'lib+', true],
  ['libstdc++', 'libstdc++', true], // literal, as written
  ['(weird', '(weird', true], // not a glob at all: matches itself
])('%s ~ %s: %s', (pattern, name, expected) => {
  expect(globMatcher(pattern)(name)).toBe(expected);
});

test('a catastrophic pattern on a long name finishes (RE2 does not backtrack)', () => {
  const name = `${'a'.repeat(60)}c`;
  const started = Date.now();
  expect(globMatcher('*a*a*a*a*a*a*a*a*a*a*a*a*b')(name)).toBe(false);
  expect(Date.now() - started).toBeLessThan(5_000); // finished, not hung
});

test.each(['!ghcr.io/acme/*', '@(a|b)', 'api[1'])('%s is no supported glob', (pattern) => {
  expect(globProblem(pattern)).toMatch(/is not a (supported|valid) glob/);
  expect(globMatcher(pattern)('something else')).toBe(false);
});

test('the policy file refuses an image glob it cannot compile, naming the line, before any work', () => {
  const text = ['images:', '  - match: "!ghcr.io/acme/legacy/*"', '    fail-on: critical', ''].join('\n');
  expect(() => parsePolicyFile(text, 'policy.yml')).toThrow(ConfigurationError);
  expect(() => parsePolicyFile(text, 'policy.yml')).toThrow(/policy\.yml.*2/);
  const ignore = ['ignore:', '  - id: CVE-1', '    images: ["ok/*", "@(a|b)"]', ''].join('\n');
  expect(() => parsePolicyFile(ignore, 'policy.yml')).toThrow(/policy\.yml.*3/);
});
