import { describe, expect, test } from 'vitest';
import { substituteVariables } from '../../src/targets/file-formats/variables.js';

const vars: Record<string, string | undefined> = { TAG: '3.19', EMPTY: '', REG: 'ghcr.io/acme' };
const lookup = (name: string) => vars[name];

describe('substituteVariables (Dockerfile style, escape \\)', () => {
  test.each([
    ['alpine:${TAG}', 'alpine:3.19'],
    ['alpine:$TAG', 'alpine:3.19'],
    ['${REG}/api:${TAG}', 'ghcr.io/acme/api:3.19'],
    ['alpine:${NOPE:-3.18}', 'alpine:3.18'],
    ['alpine:${EMPTY:-3.18}', 'alpine:3.18'], // :- treats empty as unset
    ['alpine:x${EMPTY-3.18}', 'alpine:x'], // - only replaces unset
    ['alpine:${NOPE-3.18}', 'alpine:3.18'],
    ['alpine:${TAG:+set}', 'alpine:set'],
    ['alpine:${NOPE:+set}x', 'alpine:x'],
    ['${NOPE:-${REG}}/x', 'ghcr.io/acme/x'], // nested default
    ['price\\$TAG', 'price$TAG'], // escaped dollar
    ['a$', 'a$'],
    ['no variables', 'no variables'],
  ])('%s', (text, expected) => {
    expect(substituteVariables(text, lookup, { escape: '\\' })).toEqual({ ok: true, value: expected });
  });

  test.each([
    ['alpine:${NOPE}', 'NOPE'],
    ['alpine:$NOPE', 'NOPE'],
    ['alpine:${NOPE:?set NOPE}', 'NOPE'],
    ['alpine:${TAG', '${TAG'],
  ])('%s is unresolved', (text, variable) => {
    const r = substituteVariables(text, lookup, { escape: '\\' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.variable).toBe(variable);
  });
});

test('Compose style: $$ is a literal dollar', () => {
  expect(substituteVariables('a$$b:${TAG}', lookup, { dollarDollar: true })).toEqual({
    ok: true,
    value: 'a$b:3.19',
  });
});
