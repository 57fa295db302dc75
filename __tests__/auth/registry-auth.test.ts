import { describe, expect, test } from 'vitest';
import { parseRegistryAuth } from '../../src/auth/registry-auth.js';
import { ConfigurationError } from '../../src/errors.js';

describe('parseRegistryAuth accepts', () => {
  test('username + password, token and provider entries, hosts normalised', () => {
    const text = [
      '- registry: https://GHCR.io/',
      '  provider: ghcr',
      '- registry: registry.example.com:5000',
      '  username: ci',
      '  password: "p@ss: word"',
      '- registry: index.docker.io',
      '  token: dckr_pat_abc',
      '- registry: 123456789012.dkr.ecr.eu-west-1.amazonaws.com',
      '  provider: ecr',
    ].join('\n');
    expect(parseRegistryAuth(text)).toEqual([
      { registry: 'ghcr.io', provider: 'ghcr' },
      { registry: 'registry.example.com:5000', username: 'ci', password: 'p@ss: word' },
      { registry: 'docker.io', token: 'dckr_pat_abc' },
      { registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com', provider: 'ecr' },
    ]);
  });

  test('flow style, and empty text', () => {
    expect(parseRegistryAuth('[{registry: a.io, token: t}]')).toEqual([{ registry: 'a.io', token: 't' }]);
    expect(parseRegistryAuth('  \n')).toEqual([]);
  });
});

describe('parseRegistryAuth refuses, naming the entry, line and key, never a value', () => {
  test.each<[string, string, RegExp]>([
    [
      'unknown key',
      '- registry: a.io\n  token: t\n- registry: b.io\n  passwd: hunter2secret',
      /entry 2 \(line 4\): unknown key "passwd"; allowed: registry, username, password, token, provider/,
    ],
    [
      'bad provider',
      '- registry: a.io\n  provider: quay',
      /entry 1 \(line 2\): "provider" must be one of ecr, gar, acr, ghcr/,
    ],
    ['missing registry', '- token: hunter2secret', /entry 1 \(line 1\): "registry" is missing/],
    [
      'password without username',
      '- registry: a.io\n  password: hunter2secret',
      /entry 1 \(line 1\) \(a\.io\): "password" needs "username" too/,
    ],
    ['username without password', '- registry: a.io\n  username: u', /"username" needs "password" too/],
    [
      'two kinds of credentials',
      '- registry: a.io\n  token: hunter2secret\n  provider: ghcr',
      /exactly one of: username \+ password, or token, or provider/,
    ],
    ['no credentials', '- registry: a.io', /give username \+ password, or token, or provider/],
    [
      'number password',
      '- registry: a.io\n  username: u\n  password: 123456',
      /entry 1 \(line 3\): "password" must be a string \(quote the value\)/,
    ],
    ['empty token', '- registry: a.io\n  token: ""', /"token" must not be empty/],
    [
      'a path in registry',
      '- registry: ghcr.io/acme\n  token: hunter2secret',
      /credentials apply to a whole host: write ghcr\.io/,
    ],
    ['not a host', '- registry: "a b"\n  token: hunter2secret', /must be a host\[:port\]/],
    [
      'duplicate host',
      '- registry: docker.io\n  token: a\n- registry: index.docker.io\n  token: hunter2secret',
      /entry 2 \(line 3\): docker\.io already has credentials in entry 1/,
    ],
    ['not a list', 'registry: a.io\ntoken: hunter2secret', /expected a YAML list/],
    ['list of strings', '- a.io', /entry 1 \(line 1\): expected a mapping/],
    ['bad YAML', '- registry: a.io\n  token: [hunter2secret', /not valid YAML \(line \d+/],
    ['duplicate key', '- registry: a.io\n  token: x\n  token: hunter2secret', /not valid YAML/],
  ])('%s', (_name, text, message) => {
    let error: unknown;
    try {
      parseRegistryAuth(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).input).toBe('registry-auth');
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toMatch(/^registry-auth/);
    expect((error as Error).message).not.toContain('hunter2secret');
  });
});
